package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// appState is what the controller keeps in memory about one app. None of
// it must survive a restart: it is a cache of immutable revisions, what
// was last handed to the proxy, and why revisions could not start.
type appState struct {
	since      time.Time
	revisions  map[int]revision
	unrunnable map[int]string
	main       *proxy.TableSpec // last applied to the proxy; nil: none
	preview    *proxy.TableSpec
	listenMsg  string               // the last listen failure recorded as an event
	runs       map[string]*runState // running analysis runs, by name
	blastFor   int                  // the candidate blastBase counts
	blastBase  apiv1.BlastRadius    // its counts from before this process
}

// revision is a stored revision, decoded.
type revision struct {
	version  string
	workload spec.Workload
}

// app returns the state of an app, creating it on first sight.
func (c *Controller) app(name string) *appState {
	a := c.apps[name]
	if a == nil {
		a = &appState{since: c.now(), revisions: map[int]revision{}, unrunnable: map[int]string{}, runs: map[string]*runState{}}
		c.apps[name] = a
	}
	return a
}

// reconcile observes one app, plans, routes traffic as planned, persists
// the plan's status (only if the app is still at the version read), and
// acts. It returns when the
// app's next timed transition is due.
func (c *Controller) reconcile(ctx context.Context, o store.Object) (time.Time, error) {
	a := c.app(o.Name)
	var sp spec.App
	if err := json.Unmarshal(o.Spec, &sp); err != nil {
		return time.Time{}, fmt.Errorf("decode spec: %w", err)
	}
	sp.SetDefaults()
	c.setDrain(o.Name, drainTimeout(sp))
	var st apiv1.AppStatus
	if len(o.Status) > 0 {
		if err := json.Unmarshal(o.Status, &st); err != nil {
			return time.Time{}, fmt.Errorf("decode status: %w", err)
		}
	}
	leaving := c.leavingOf(o.Name) // before observing: they are seen Stopping
	insts := c.instances(o.Name)
	if err := c.loadRevisions(ctx, o.Name, a, needed(st, insts)); err != nil {
		return time.Time{}, err
	}
	in := Input{App: o.Name, Spec: sp, Status: st, Revisions: map[int]RevisionInfo{}, Now: c.now(),
		Observed: Observed{Instances: c.observe(insts), Unrunnable: a.unrunnable, Since: a.since},
		Analyses: c.analyses(ctx, o.Name, a, st), Blast: c.blast(o.Name, a, st)}
	for n, r := range a.revisions {
		in.Revisions[n] = RevisionInfo{Version: r.version, Size: sizeOf(r.workload, sp)}
	}
	began := time.Now()
	d := Plan(in)
	ctx, span := c.traceStep(ctx, o.Name, began, d)
	if span != nil {
		defer span.End()
	}
	c.route(ctx, o.Name, a, sp, d)
	c.releaseLeft(a, leaving)
	if err := c.persist(ctx, o, st, d); err != nil {
		if errors.Is(err, store.ErrConflict) {
			c.wake() // changed meanwhile: plan again from what is stored
			return time.Time{}, nil
		}
		return time.Time{}, err
	}
	next := c.act(ctx, o.Name, a, sp, d, insts)
	if !d.WakeAt.IsZero() && (next.IsZero() || d.WakeAt.Before(next)) {
		next = d.WakeAt
	}
	return next, nil
}

// persist stores the plan's status and events, unless nothing changed,
// conditionally on the resource version that was read.
func (c *Controller) persist(ctx context.Context, o store.Object, before apiv1.AppStatus, d Decision) error {
	next, err := json.Marshal(d.Status)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	prev, err := json.Marshal(before)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	if bytes.Equal(prev, next) && len(d.Events) == 0 {
		return nil
	}
	events := make([]store.Event, 0, len(d.Events))
	for _, e := range d.Events {
		events = append(events, storeEvent(o.Name, e))
	}
	_, err = c.opts.Store.UpdateStatus(ctx, spec.KindApp, o.Name, func(cur store.Object) (json.RawMessage, []store.Event, error) {
		if cur.ResourceVersion != o.ResourceVersion {
			return nil, nil, fmt.Errorf("app %q is at version %d, planned at %d: %w", o.Name, cur.ResourceVersion, o.ResourceVersion, store.ErrConflict)
		}
		return next, events, nil
	})
	return err
}

// instances lists what the drivers run for an app.
func (c *Controller) instances(app string) []runtime.Instance {
	var out []runtime.Instance
	for _, r := range c.runners() {
		out = append(out, r.Instances(app)...)
	}
	return out
}

// observe adds health to the drivers' instances. Instances of a revision
// being stopped are reported as stopping, so that nothing routes to them.
func (c *Controller) observe(insts []runtime.Instance) []Instance {
	out := make([]Instance, 0, len(insts))
	c.mu.Lock()
	stopping := make(map[revKey]bool, len(c.stopping))
	for k := range c.stopping {
		stopping[k] = true
	}
	c.mu.Unlock()
	for _, ri := range insts {
		in := Instance{ID: ri.ID, Address: ri.Address, Revision: ri.Revision, State: ri.State,
			Health: health.StatusUnknown, Restarts: ri.Restarts}
		if rep, ok := c.opts.Health.Report(ri.ID); ok {
			in.Health, in.Reason = rep.State.Status, rep.Reason
			if in.Health == "" {
				in.Health = health.StatusUnknown
			}
		}
		if ri.State == runtime.StateExited && ri.LastExit != "" {
			in.Reason = "exited: " + ri.LastExit
		}
		if stopping[revKey{ri.App, ri.Revision}] {
			in.State = runtime.StateStopping
		}
		out = append(out, in)
	}
	return out
}

// needed lists the revisions an app's plan may look at.
func needed(st apiv1.AppStatus, insts []runtime.Instance) []int {
	out := []int{st.LatestRevision, st.StableRevision, st.CandidateRevision, st.PreviousRevision}
	for _, in := range insts {
		out = append(out, in.Revision)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// loadRevisions makes sure the app's cache has every revision in want.
// Revisions are immutable, so they are read once.
func (c *Controller) loadRevisions(ctx context.Context, app string, a *appState, want []int) error {
	missing := false
	for _, n := range want {
		if _, ok := a.revisions[n]; n != 0 && !ok {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	revs, err := c.opts.Store.Revisions(ctx, app)
	if err != nil {
		return fmt.Errorf("read revisions: %w", err)
	}
	for _, r := range revs {
		if _, ok := a.revisions[r.Number]; ok {
			continue
		}
		var w spec.Workload
		if err := json.Unmarshal(r.Workload, &w); err != nil {
			return fmt.Errorf("decode revision %d: %w", r.Number, err)
		}
		a.revisions[r.Number] = revision{version: r.Version, workload: w}
	}
	return nil
}

// sizeOf is how many instances make a revision whole: the spec's replicas
// for processes, the number of addresses for static revisions.
func sizeOf(w spec.Workload, sp spec.App) int {
	if s := w.Runtime.Static; s != nil {
		return len(s.Addresses)
	}
	if p := sp.Runtime.Process; p != nil && p.Replicas != nil {
		return *p.Replicas
	}
	return spec.DefaultReplicas
}

// storeEvent turns a planner event into a stored one.
func storeEvent(app string, e Event) store.Event {
	typ := store.EventNormal
	if e.Warning {
		typ = store.EventWarning
	}
	return store.Event{App: app, Revision: e.Revision, Type: typ, Reason: e.Reason, Message: e.Message, Data: e.Data}
}
