package rollout

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// drainSlack is how much longer than its drain timeout a drain may take
// before the controller stops waiting for it: the proxy closes streams at
// the deadline and gives them a moment to unwind.
const drainSlack = 5 * time.Second

// PreviewApp names the proxy app that serves an app's preview listener.
// App names are DNS labels, so it never clashes with an app.
func PreviewApp(app string) string { return app + "/preview" }

// route gives the proxy a decision's route tables. It runs before the
// decision's status is stored, so a status that says a revision serves (or
// that a rollout was aborted) is never ahead of the traffic: a client that
// sees "promoted" and calls the app gets the new revision. A plan whose
// status then fails to store is planned again at once from what is stored,
// and its tables replace these.
func (c *Controller) route(ctx context.Context, name string, a *appState, sp spec.App, d Decision) {
	for _, act := range d.Actions {
		x, ok := act.(SetRoutes)
		if !ok {
			continue
		}
		drain := drainTimeout(sp)
		main, err := c.withTLS(tableSpec(name, x.Main, drain), sp.TLS)
		if err != nil {
			c.routeFailed(name, a, main.Listen, err) // the last table stays
		} else {
			c.applyTable(ctx, name, a, &a.main, main)
		}
		c.applyTable(ctx, PreviewApp(name), a, &a.preview, tableSpec(PreviewApp(name), x.Preview, drain))
	}
}

// act carries out the rest of a decision for one app once its status is
// stored: it runs the wanted revisions, stops the rest, points the health
// checks at the instances that matter, and takes the analysis measurements
// that are due. It returns when the next measurement is due (zero: none).
func (c *Controller) act(ctx context.Context, name string, a *appState, sp spec.App, d Decision, insts []runtime.Instance) time.Time {
	wanted := map[int]bool{}
	var next time.Time
	for _, act := range d.Actions {
		switch x := act.(type) {
		case Ensure:
			wanted[x.Revision] = true
			c.ensure(ctx, name, a, x)
		case Stop:
			c.stopRevision(ctx, name, x.Revision, insts, drainTimeout(sp))
		case Analyze:
			if at := c.measure(ctx, name, a, x.Run); !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	for r := range a.unrunnable {
		if !wanted[r] {
			delete(a.unrunnable, r) // try afresh if it is ever wanted again
		}
	}
	c.setTargets(name, sp, insts, wanted)
	return next
}

// ensure makes one revision run at its size. A revision that cannot run is
// remembered, and the planner hears of it on the next pass.
func (c *Controller) ensure(ctx context.Context, app string, a *appState, e Ensure) {
	if c.isStopping(app, e.Revision) {
		return // start afresh once the stop is over; its end wakes the loop
	}
	why := ""
	if rev, ok := a.revisions[e.Revision]; !ok {
		why = fmt.Sprintf("revision %d is not in the store", e.Revision)
	} else if w, r, err := c.workload(ctx, app, e.Revision, rev.workload, e.Replicas); err != nil {
		why = describeErr(err)
	} else if err := r.Ensure(ctx, w); err != nil {
		if !errors.Is(err, runtime.ErrInvalidWorkload) {
			if ctx.Err() == nil {
				c.log.Error("rollout: ensure", "app", app, "revision", e.Revision, "error", err)
			}
			return
		}
		why = describeErr(err)
	}
	if a.unrunnable[e.Revision] == why {
		return
	}
	if why == "" {
		delete(a.unrunnable, e.Revision)
	} else {
		a.unrunnable[e.Revision] = why
	}
	c.wake()
}

// tableSpec turns a planned table into the proxy's.
func tableSpec(app string, t *Table, drain time.Duration) *proxy.TableSpec {
	if t == nil {
		return nil
	}
	ts := &proxy.TableSpec{App: app, Listen: t.Listen, Stable: proxyRevision(t.Stable), DrainTimeout: drain}
	if t.Candidate != nil {
		cand := proxyRevision(*t.Candidate)
		ts.Candidate, ts.Weight = &cand, t.Weight
	}
	ts.Stickiness = proxy.Stickiness{Header: t.Stickiness.Header, Cookie: t.Stickiness.Cookie}
	if o := t.Override; o != nil {
		for _, target := range []proxy.Target{proxy.TargetCandidate, proxy.TargetStable} {
			ts.Overrides = append(ts.Overrides, proxy.Override{Header: o.Header, Cookie: o.Cookie, Value: target.String(), Target: target})
		}
	}
	return ts
}

func proxyRevision(b Backend) proxy.Revision {
	r := proxy.Revision{Name: strconv.Itoa(b.Revision)}
	for _, e := range b.Endpoints {
		r.Instances = append(r.Instances, proxy.Instance{ID: e.ID, Addr: e.Address})
	}
	return r
}

// applyTable gives one proxy app its table when it changed; a nil table
// removes the app's listener.
func (c *Controller) applyTable(ctx context.Context, app string, a *appState, last **proxy.TableSpec, want *proxy.TableSpec) {
	switch {
	case want == nil && *last == nil:
		return
	case want == nil:
		*last = nil
		c.remove(ctx, app)
		return
	case *last != nil && reflect.DeepEqual(**last, *want):
		return
	case c.isRemoving(app):
		return // the removal's end wakes the loop
	}
	t, err := proxy.NewTable(*want)
	if err == nil {
		err = c.opts.Router.Apply(t)
	}
	c.mu.Lock()
	if err != nil {
		c.listenErr[app] = err.Error()
	} else {
		delete(c.listenErr, app)
	}
	c.mu.Unlock()
	if err != nil {
		c.routeFailed(app, a, want.Listen, err)
		return
	}
	a.listenMsg = ""
	*last = want
}

// routeFailed records, once per cause, that the proxy cannot serve an
// app's listener.
func (c *Controller) routeFailed(app string, a *appState, listen string, err error) {
	if a.listenMsg != err.Error() {
		a.listenMsg = err.Error()
		c.events.push(store.Event{App: strings.TrimSuffix(app, "/preview"), Type: store.EventWarning, Reason: "RouteFailed",
			Message: fmt.Sprintf("the proxy cannot serve %s: %v", listen, err)})
	}
	c.log.Error("rollout: apply route table", "app", app, "error", err)
}

// errNoTLS means an app asks for TLS but sluice was started without a
// way to load certificates.
var errNoTLS = errors.New("spec.tls is set but this sluice serves no app over TLS")

// withTLS serves a table over TLS when the app's spec.tls asks for it,
// with the plain HTTP redirect listener of spec.tls.redirectHTTP.
func (c *Controller) withTLS(ts *proxy.TableSpec, t *spec.AppTLS) (*proxy.TableSpec, error) {
	if ts == nil || t == nil {
		return ts, nil
	}
	if c.opts.TLS == nil {
		return ts, errNoTLS
	}
	conf, err := c.opts.TLS(t.CertFile, t.KeyFile)
	if err != nil {
		return ts, fmt.Errorf("spec.tls: %w", err)
	}
	ts.TLS, ts.RedirectHTTP = conf, t.RedirectHTTP
	return ts, nil
}

// remove stops serving a proxy app, in the background: its open requests
// get their drain timeout.
func (c *Controller) remove(ctx context.Context, app string) {
	c.mu.Lock()
	c.removing[app] = true
	delete(c.listenErr, app)
	c.mu.Unlock()
	c.work.Go(func() {
		defer func() {
			c.mu.Lock()
			delete(c.removing, app)
			c.mu.Unlock()
			c.wake()
		}()
		if err := c.opts.Router.Remove(ctx, app); err != nil && !errors.Is(err, proxy.ErrUnknownApp) && ctx.Err() == nil {
			c.log.Error("rollout: remove listener", "app", app, "error", err)
		}
	})
}

// stopRevision drains the instances of a revision, which are out of every
// route table, then stops them, in the background. Asking again while it
// runs changes nothing.
func (c *Controller) stopRevision(ctx context.Context, app string, rev int, insts []runtime.Instance, drain time.Duration) {
	key := revKey{app, rev}
	c.mu.Lock()
	if c.stopping[key] {
		c.mu.Unlock()
		return
	}
	c.stopping[key] = true
	c.mu.Unlock()
	var ids []string
	for _, in := range insts {
		if in.Revision == rev {
			ids = append(ids, in.ID)
		}
	}
	c.work.Go(func() { c.drainAndStop(ctx, key, ids, drain) })
}

func (c *Controller) drainAndStop(ctx context.Context, key revKey, ids []string, drain time.Duration) {
	defer func() {
		c.mu.Lock()
		delete(c.stopping, key)
		c.mu.Unlock()
		c.wake()
	}()
	dctx, cancel := context.WithTimeout(ctx, drain+drainSlack)
	defer cancel()
	for _, id := range ids {
		for _, app := range []string{key.app, PreviewApp(key.app)} {
			err := c.opts.Router.Drain(dctx, app, id)
			switch {
			case err == nil, errors.Is(err, proxy.ErrUnknownApp):
			case ctx.Err() != nil:
				return
			case errors.Is(err, proxy.ErrStillRouted):
				c.log.Warn("rollout: instance routed again; not stopping its revision", "app", key.app, "revision", key.revision, "instance", id)
				return
			default: // the drain deadline passed: streams were closed
				c.log.Warn("rollout: drain", "app", key.app, "instance", id, "error", err)
			}
		}
	}
	for _, r := range c.runners() {
		if err := r.Stop(ctx, key.app, key.revision); err != nil && ctx.Err() == nil {
			c.log.Error("rollout: stop revision", "app", key.app, "revision", key.revision, "error", err)
		}
	}
}

func (c *Controller) isStopping(app string, rev int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping[revKey{app, rev}]
}

func (c *Controller) isRemoving(app string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removing[app]
}

// forget stops everything of an app that was deleted, in the background:
// its listeners stop (their open requests get the drain timeout), then its
// instances.
func (c *Controller) forget(ctx context.Context, name string) {
	a := c.apps[name]
	delete(c.apps, name)
	revs := map[int]bool{}
	for _, in := range c.instances(name) {
		revs[in.Revision] = true
	}
	proxyApps := []string{name, PreviewApp(name)}
	c.mu.Lock()
	delete(c.targets, name)
	delete(c.drains, name)
	for _, app := range proxyApps {
		c.removing[app] = true
		delete(c.listenErr, app)
	}
	for r := range revs {
		c.stopping[revKey{name, r}] = true
	}
	c.mu.Unlock()
	had := []bool{a.main != nil, a.preview != nil}
	c.work.Go(func() {
		defer func() {
			c.mu.Lock()
			for _, app := range proxyApps {
				delete(c.removing, app)
			}
			for r := range revs {
				delete(c.stopping, revKey{name, r})
			}
			c.mu.Unlock()
			c.wake()
		}()
		for i, app := range proxyApps {
			if err := c.opts.Router.Remove(ctx, app); had[i] && err != nil && !errors.Is(err, proxy.ErrUnknownApp) && ctx.Err() == nil {
				c.log.Error("rollout: remove listener", "app", app, "error", err)
			}
		}
		for r := range revs {
			for _, run := range c.runners() {
				if err := run.Stop(ctx, name, r); err != nil && ctx.Err() == nil {
					c.log.Error("rollout: stop revision", "app", name, "revision", r, "error", err)
				}
			}
		}
	})
}

// setTargets points the health checks of an app at the instances of the
// revisions it wants, except those being stopped or drained.
func (c *Controller) setTargets(app string, sp spec.App, insts []runtime.Instance, wanted map[int]bool) {
	var ts []target
	codes, err := health.ParseStatusRanges(sp.HealthCheck.StatusCodes)
	if err != nil {
		c.log.Error("rollout: health check status codes", "app", app, "error", err)
	}
	for _, in := range insts {
		if !wanted[in.Revision] || in.State == runtime.StateStopping || c.isStopping(app, in.Revision) {
			continue
		}
		ts = append(ts, target{Target: targetOf(in, sp.HealthCheck, codes), revision: in.Revision})
	}
	c.mu.Lock()
	c.targets[app] = ts
	c.mu.Unlock()
}

func targetOf(in runtime.Instance, hc *spec.HealthCheck, codes []health.StatusRange) health.Target {
	t := health.Target{ID: in.ID, Address: in.Address, Path: hc.Path, StatusCodes: codes,
		Interval: durationOf(hc.Interval, 0), Timeout: durationOf(hc.Timeout, 0)}
	if hc.HealthyThreshold != nil {
		t.HealthyThreshold = *hc.HealthyThreshold
	}
	if hc.UnhealthyThreshold != nil {
		t.UnhealthyThreshold = *hc.UnhealthyThreshold
	}
	return t
}

// syncTargets hands the checker the targets of every app, and remembers
// which app and revision each instance belongs to.
func (c *Controller) syncTargets() {
	c.mu.Lock()
	var all []health.Target
	owners := map[string]revKey{}
	for _, app := range slicesSortedKeys(c.targets) {
		for _, t := range c.targets[app] {
			all = append(all, t.Target)
			owners[t.ID] = revKey{app, t.revision}
		}
	}
	c.owners = owners
	c.mu.Unlock()
	if reflect.DeepEqual(all, c.lastTargets) {
		return
	}
	if err := c.opts.Health.SetTargets(all); err != nil {
		c.log.Error("rollout: set health targets", "error", err)
		return
	}
	c.lastTargets = all
}

// target is a health check target and the revision of its instance.
type target struct {
	health.Target
	revision int
}

func slicesSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// drainTimeout is how long instances that leave a route table may finish
// their requests: the app's stop grace period, at least a second.
func drainTimeout(sp spec.App) time.Duration {
	d := spec.DefaultStopGracePeriod
	if p := sp.Runtime.Process; p != nil && p.StopGracePeriod != nil {
		d = p.StopGracePeriod.Duration
	}
	return max(d, time.Second)
}
