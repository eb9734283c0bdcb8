package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/codes"
	"strconv"
	"sync"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// This file is the controller's side of analysis: it compiles the runs the
// planner started, takes their measurements on schedule through the
// providers, stores each one, and hands the planner the verdicts.

// Measurements keeps analysis measurements: store.Store, whose
// transactions append and list them.
type Measurements = store.Store

// Counters reads what the proxy counted for a revision: *proxy.Server
// satisfies it. The controller reads the candidate's totals from it, the
// rollout's blast radius.
type Counters interface {
	Stats(app, revision string, window time.Duration) (proxy.Summary, error)
}

// runState is what the controller keeps in memory about one analysis run:
// the run and where it stands. It is rebuilt from the store after a
// restart.
type runState struct {
	run *analysis.Run
	err string // why the run cannot be compiled; "" when it can

	mu   sync.Mutex
	st   analysis.State
	busy bool // measurements are being taken
}

// state returns where the run stands.
func (rs *runState) state() analysis.State {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.st
}

// analyses returns the state of every running run in st, as the planner
// takes it: loaded from the store on first sight, then kept in memory.
func (c *Controller) analyses(ctx context.Context, app string, a *appState, st apiv1.AppStatus) map[string]apiv1.AnalysisRun {
	out := map[string]apiv1.AnalysisRun{}
	live := map[string]bool{}
	for _, run := range st.Analyses {
		if !Measured(st, run) {
			continue
		}
		live[run.Name] = true
		rs, err := c.runState(ctx, app, a, run)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Error("rollout: load analysis", "app", app, "run", run.Name, "error", err)
			}
			continue
		}
		out[run.Name] = rs.describe(run)
	}
	for name := range a.runs {
		if !live[name] {
			delete(a.runs, name)
		}
	}
	return out
}

// runState returns the in-memory state of run, compiling it and reading
// its measurements on first sight.
func (c *Controller) runState(ctx context.Context, app string, a *appState, run apiv1.AnalysisRun) (*runState, error) {
	if rs := a.runs[run.Name]; rs != nil {
		return rs, nil
	}
	rs := &runState{}
	an, err := c.compile(ctx, app, run)
	var readErr *templatesError
	if errors.As(err, &readErr) {
		return nil, err // try again on the next pass
	}
	if err != nil {
		rs.err = err.Error()
		a.runs[run.Name] = rs
		return rs, nil
	}
	rs.run = &analysis.Run{Name: run.Name, Analysis: an, Started: run.StartedAt}
	rs.st = an.Start()
	if c.opts.Measurements != nil {
		ms, err := rs.run.Load(ctx, c.opts.Measurements)
		if err != nil {
			return nil, err
		}
		rs.st = an.Observe(rs.st, ms...)
	}
	a.runs[run.Name] = rs
	return rs, nil
}

// compile resolves a run's templates from the store and compiles them.
// A run that names none runs the AnalysisTemplate named "default" when one
// is applied, else sluice's default analysis (analysis.DefaultTemplate).
func (c *Controller) compile(ctx context.Context, app string, run apiv1.AnalysisRun) (*analysis.Analysis, error) {
	objs, err := c.opts.Store.List(ctx, spec.KindAnalysisTemplate)
	if err != nil {
		return nil, &templatesError{err}
	}
	stored := map[string]*spec.AnalysisTemplate{}
	for _, o := range objs {
		var t spec.AnalysisTemplate
		if err := json.Unmarshal(o.Spec, &t); err != nil {
			return nil, fmt.Errorf("decode analysis template %q: %w", o.Name, err)
		}
		stored[o.Name] = &t
	}
	names := run.Templates
	if len(names) == 0 {
		names = []string{DefaultAnalysisName}
	}
	var ts []analysis.Template
	for _, n := range names {
		t := analysis.Template{Name: n, Spec: stored[n]}
		if t.Spec == nil && n == DefaultAnalysisName {
			t = analysis.DefaultTemplate()
		}
		if t.Spec == nil {
			return nil, fmt.Errorf("no AnalysisTemplate %q is applied", n)
		}
		ts = append(ts, t)
	}
	var args []spec.AnalysisArg
	for _, arg := range run.Args {
		args = append(args, spec.AnalysisArg{Name: arg.Name, Value: arg.Value})
	}
	target := analysis.Target{App: app, Candidate: run.Candidate, Stable: run.Stable}
	return analysis.Compile(target, ts, args, analysis.Options{DefaultCount: run.Count})
}

// templatesError means the templates could not be read from the store: a
// passing trouble, unlike a template that does not compile, which ends the
// run with the verdict Error.
type templatesError struct{ err error }

func (e *templatesError) Error() string { return "list analysis templates: " + e.err.Error() }
func (e *templatesError) Unwrap() error { return e.err }

// measure starts taking the due measurements of a run, in the background
// so that a slow provider (a webhook, a Prometheus query) holds up no
// other app, and returns when the next one is due (zero: when the
// measurements being taken end, which wakes the loop, so that the planner
// sees the new verdict at once).
func (c *Controller) measure(ctx context.Context, app string, a *appState, run apiv1.AnalysisRun) time.Time {
	rs, err := c.runState(ctx, app, a, run)
	if err != nil || rs.run == nil || c.opts.Provider == nil || c.opts.Measurements == nil {
		return time.Time{}
	}
	now := c.now()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.busy {
		return time.Time{}
	}
	due, next := rs.run.Analysis.Schedule(rs.run.Started, rs.st, now)
	if len(due) == 0 {
		return next
	}
	rs.busy = true
	st := rs.st
	c.work.Go(func() {
		ctx, span := c.traceMeasure(ctx, app, run.Name, len(due))
		st, _, _, err := rs.run.Advance(ctx, c.opts.Measurements, c.opts.Provider, st, now)
		if span != nil {
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
		rs.mu.Lock()
		rs.busy = false
		if err == nil {
			rs.st = st
		}
		rs.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			c.log.Error("rollout: measure", "app", app, "run", run.Name, "error", err)
		}
		c.wake()
	})
	return time.Time{}
}

// describe renders the run's state for the status.
func (rs *runState) describe(run apiv1.AnalysisRun) apiv1.AnalysisRun {
	out := apiv1.AnalysisRun{Name: run.Name, Verdict: apiv1.VerdictRunning}
	if rs.run == nil {
		out.Verdict, out.Message = apiv1.VerdictError, "cannot run: "+rs.err
		return out
	}
	st := rs.state()
	out.Verdict, out.Message = string(st.Verdict), st.Message
	for _, m := range st.Metrics {
		am := apiv1.AnalysisMetric{Template: m.Template, Metric: m.Metric, Verdict: string(m.Verdict),
			Measurements: m.Measurements, Successful: m.Successful, Failed: m.Failed, Inconclusive: m.Inconclusive, Errors: m.Errors}
		if l := m.Last; l != nil {
			am.Last = &apiv1.Measurement{At: l.At, Value: l.Value, SampleSize: l.SampleSize, Condition: l.Condition,
				Verdict: string(l.Verdict), Message: l.Message, Error: l.Error}
		}
		out.Metrics = append(out.Metrics, am)
	}
	if st.Verdict == analysis.Running {
		out.Message = ""
	}
	return out
}

// blast reads what the candidate served so far. The proxy counts from its
// own start, so after a restart the counts persisted before it are added.
func (c *Controller) blast(app string, a *appState, st apiv1.AppStatus) *apiv1.BlastRadius {
	cand := st.CandidateRevision
	if cand == 0 || c.opts.Counters == nil {
		return nil
	}
	if a.blastFor != cand {
		a.blastFor, a.blastBase = cand, apiv1.BlastRadius{Revision: cand}
		if b := st.BlastRadius; b != nil && b.Revision == cand {
			a.blastBase = *b
		}
	}
	s, err := c.opts.Counters.Stats(app, strconv.Itoa(cand), time.Second)
	if err != nil {
		s = proxy.Summary{}
	}
	return &apiv1.BlastRadius{Revision: cand, Requests: a.blastBase.Requests + int64(s.TotalRequests), Errors: a.blastBase.Errors + int64(s.TotalErrors)}
}
