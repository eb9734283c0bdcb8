package rollout

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// Strategy names, as AppStatus.Strategy reports them.
const (
	StrategyBlueGreen = "blueGreen"
	StrategyCanary    = "canary"
)

// strategy is what differs between blue-green and canary: the steps a
// healthy candidate goes through before promotion, where it is previewed,
// and how long the old stable revision stays warm.
type strategy struct {
	name           string
	steps          []step
	preview        string // listen address of the preview; "" for none
	scaleDownDelay time.Duration
	// background runs for the whole canary rollout; nil for none.
	background *spec.RolloutAnalysis
	// post runs after a blue-green promotion; nil for none.
	post *spec.RolloutAnalysis
}

// stepKind says what a step does.
type stepKind int

const (
	// stepSetWeight gives the candidate a share of the traffic, once it
	// runs enough instances for it.
	stepSetWeight stepKind = iota + 1
	// stepPause waits for a duration, or for `rollout promote`.
	stepPause
	// stepAnalysis runs analysis templates and waits for their verdict.
	stepAnalysis
)

// step is one step of a rollout.
type step struct {
	kind stepKind
	// weight is the candidate's share for stepSetWeight, in basis points.
	weight int
	// duration bounds a pause; nil waits for `rollout promote`.
	duration *time.Duration
	// analysis is what an analysis step runs: templates (none: the
	// default analysis) and args.
	analysis spec.RolloutAnalysis
	// label describes the step in messages, e.g. "autoPromoteAfter 30s".
	label string
}

// strategyOf reads an app's strategy from its spec (defaults applied).
//
// Blue-green: [pre-promotion analysis], then a pause of autoPromoteAfter
// (none when it is zero), or until promoted when autoPromote is off.
//
// Canary: the spec's steps, or DefaultCanarySteps when it gives none, then
// a last setWeight 100 % (unless the steps end with one) that runs the
// candidate at full size before it is promoted.
func strategyOf(a spec.App) strategy {
	if a.Strategy != nil && a.Strategy.BlueGreen != nil {
		bg := a.Strategy.BlueGreen
		s := strategy{name: StrategyBlueGreen, preview: bg.PreviewListen, scaleDownDelay: durationOf(bg.ScaleDownDelay, spec.DefaultScaleDownDelay),
			post: bg.PostPromotionAnalysis}
		if bg.PrePromotionAnalysis != nil {
			s.steps = append(s.steps, analysisStep("pre-promotion analysis", *bg.PrePromotionAnalysis))
		}
		switch after := durationOf(bg.AutoPromoteAfter, 0); {
		case bg.AutoPromote != nil && !*bg.AutoPromote:
			s.steps = append(s.steps, step{kind: stepPause, label: "autoPromote off"})
		case after > 0:
			s.steps = append(s.steps, step{kind: stepPause, duration: &after, label: "autoPromoteAfter " + after.String()})
		}
		return s
	}
	s := strategy{name: StrategyCanary, scaleDownDelay: spec.DefaultScaleDownDelay}
	var steps []spec.CanaryStep
	if c := canaryOf(a); c != nil {
		s.scaleDownDelay = durationOf(c.ScaleDownDelay, spec.DefaultScaleDownDelay)
		s.background = c.Analysis
		steps = c.Steps
	}
	if len(steps) == 0 {
		steps = DefaultCanarySteps()
	}
	for _, cs := range steps {
		s.steps = append(s.steps, canaryStep(cs))
	}
	if last := s.steps[len(s.steps)-1]; last.kind != stepSetWeight || last.weight != maxWeight {
		s.steps = append(s.steps, weightStep(maxWeight))
	}
	return s
}

// StepLabels describes, one line each, the steps a rollout of the app
// takes under its strategy (defaults applied to sp): the list that
// AppStatus.Step indexes.
func StepLabels(sp spec.App) []string {
	steps := strategyOf(sp).steps
	out := make([]string, 0, len(steps))
	for _, st := range steps {
		out = append(out, st.label)
	}
	return out
}

// canaryOf returns the app's canary strategy, or nil.
func canaryOf(a spec.App) *spec.CanaryStrategy {
	if a.Strategy == nil {
		return nil
	}
	return a.Strategy.Canary
}

// DefaultCanarySteps are the steps of a canary whose spec gives none:
// 1 % → 5 % → 25 % → 100 %, with the default analysis (see
// DefaultAnalysis) after each weight below 100 %.
func DefaultCanarySteps() []spec.CanaryStep {
	var out []spec.CanaryStep
	for _, pct := range []spec.Percent{1, 5, 25} {
		out = append(out, spec.CanaryStep{SetWeight: ptrTo(pct)}, spec.CanaryStep{Analysis: &spec.RolloutAnalysis{}})
	}
	return append(out, spec.CanaryStep{SetWeight: ptrTo(spec.Percent(100))})
}

func ptrTo[T any](v T) *T { return &v }

// canaryStep turns a spec step into a planner step.
func canaryStep(cs spec.CanaryStep) step {
	switch {
	case cs.SetWeight != nil:
		return weightStep(cs.SetWeight.BasisPoints())
	case cs.Pause != nil && cs.Pause.Duration != nil:
		d := cs.Pause.Duration.Duration
		return step{kind: stepPause, duration: &d, label: "pause " + d.String()}
	case cs.Pause != nil:
		return step{kind: stepPause, label: "pause until promoted"}
	case cs.Analysis != nil:
		return analysisStep("analysis", *cs.Analysis)
	}
	return step{kind: stepPause, label: "pause until promoted"}
}

func weightStep(bp int) step {
	return step{kind: stepSetWeight, weight: bp, label: "setWeight " + percent(bp)}
}

// percent renders basis points as a percentage: 125 → "1.25%".
func percent(bp int) string {
	s := strconv.FormatFloat(float64(bp)/100, 'f', -1, 64)
	return s + "%"
}

// maxWeight is all of the traffic, in basis points.
const maxWeight = 10000

func analysisStep(label string, a spec.RolloutAnalysis) step {
	names := make([]string, 0, len(a.Templates))
	for _, t := range a.Templates {
		names = append(names, t.Name)
	}
	if len(names) == 0 {
		names = append(names, DefaultAnalysisName)
	}
	return step{kind: stepAnalysis, analysis: a, label: label + " (" + strings.Join(names, ", ") + ")"}
}

func durationOf(d *spec.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// stepOutcome is what running a step for one plan gives.
type stepOutcome struct {
	done bool
	// ended: the step ended the rollout (an analysis aborted it); the
	// status is already set.
	ended   bool
	phase   string
	reason  string
	message string
	wakeAt  time.Time
}

// runStep runs the current step of the rollout in p's status. The step
// started at started; entered is true on the plan that starts it.
func (p *planner) runStep(s step, started time.Time, entered bool) stepOutcome {
	st, ro := &p.st, p.st.Rollout
	cand := st.CandidateRevision
	switch s.kind {
	case stepSetWeight:
		return p.setWeight(s)
	case stepPause:
		if ro.PromoteRequested {
			ro.PromoteRequested = false
			return stepOutcome{done: true}
		}
		if s.duration == nil {
			if p.strat.name == StrategyCanary {
				return stepOutcome{phase: apiv1.PhasePaused, reason: apiv1.ReasonWaitingForPromote,
					message: fmt.Sprintf("revision %d gets %s of traffic; run 'sluice rollout promote %s' for the next step", cand, percent(st.Weight), p.in.App)}
			}
			return stepOutcome{phase: apiv1.PhasePaused, reason: apiv1.ReasonWaitingForPromote,
				message: fmt.Sprintf("revision %d is healthy%s; run 'sluice rollout promote %s' to switch traffic to it", cand, p.previewNote(), p.in.App)}
		}
		end := started.Add(*s.duration)
		if !p.in.Now.Before(end) {
			return stepOutcome{done: true}
		}
		msg := fmt.Sprintf("revision %d is healthy%s; promoting at %s (%s)", cand, p.previewNote(), stamp(end), s.label)
		if p.strat.name == StrategyCanary {
			msg = fmt.Sprintf("revision %d gets %s of traffic; next step at %s (%s)", cand, percent(st.Weight), stamp(end), s.label)
		}
		return stepOutcome{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateReady, wakeAt: end, message: msg}
	case stepAnalysis:
		return p.analysisStep(s)
	}
	return stepOutcome{done: true}
}

// previewNote says where the candidate is previewed, if anywhere.
func (p *planner) previewNote() string {
	if p.st.PreviewAddress == "" {
		return ""
	}
	return " and previewed at " + p.st.PreviewAddress
}

// stamp formats a time for messages, in UTC so that messages do not depend
// on where sluice runs.
func stamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// DefaultAnalysisName is the template an analysis step or background
// analysis runs when it names none: the AnalysisTemplate of this name when
// one is applied, else sluice's built-in default analysis
// (analysis.DefaultTemplate).
const DefaultAnalysisName = analysis.DefaultTemplateName
