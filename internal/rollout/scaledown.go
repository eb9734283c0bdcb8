package rollout

import (
	"context"
	"errors"
	"slices"
	"time"

	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
)

// leaving is an instance that its driver scales away, waiting to be out
// of its app's route tables.
type leaving struct {
	app  string
	left chan struct{} // closed once tables without the instance are applied
	done bool          // left is closed
}

// BeforeStop drains an instance that its driver scales away (fewer
// replicas), before the driver signals it. Pass it as the process
// driver's BeforeStop.
//
// The driver already lists the instance as Stopping, so the planner no
// longer routes to it: BeforeStop wakes the loop, waits until a pass has
// applied route tables without the instance, then waits until the proxy
// has no request of it in flight, for the app's listener and its preview
// listener. The whole wait is bounded by the app's drain timeout plus
// drainSlack, as when a whole revision stops; at the drain deadline the
// proxy closes the instance's streams. BeforeStop returns at once when ctx
// ends (the instance must stop now). Once the controller stops, no table
// will come: it drains only what the proxy already drains.
func (c *Controller) BeforeStop(ctx context.Context, in runtime.Instance) {
	dctx, cancel := context.WithTimeout(ctx, c.drainOf(in.App)+drainSlack)
	defer cancel()
	left := c.leave(in)
	defer c.unleave(in.ID)
	c.wake()
	closing := false
	select {
	case <-left:
	case <-c.closing:
		closing = true
	case <-dctx.Done():
		if ctx.Err() == nil {
			c.log.Warn("rollout: instance still routed at its drain deadline; stopping it", "app", in.App, "instance", in.ID)
		}
		return
	}
	for _, app := range []string{in.App, PreviewApp(in.App)} {
		err := c.opts.Router.Drain(dctx, app, in.ID)
		switch {
		case err == nil, errors.Is(err, proxy.ErrUnknownApp):
		case ctx.Err() != nil:
			return
		case closing && errors.Is(err, proxy.ErrStillRouted):
			return // sluice stops: the driver stops it after the proxy
		default: // the drain deadline passed: streams were closed
			c.log.Warn("rollout: drain a scaled-down instance", "app", in.App, "instance", in.ID, "error", err)
		}
	}
}

// leave registers an instance waiting to be out of the route tables and
// returns what is closed once it is.
func (c *Controller) leave(in runtime.Instance) <-chan struct{} {
	l := &leaving{app: in.App, left: make(chan struct{})}
	c.mu.Lock()
	c.leaving[in.ID] = l
	c.mu.Unlock()
	return l.left
}

func (c *Controller) unleave(id string) {
	c.mu.Lock()
	delete(c.leaving, id)
	c.mu.Unlock()
}

// leavingOf lists the instances of app waiting to leave its route tables.
// Read before the app's instances are observed, each of them is observed
// as Stopping, since its driver marks it so before BeforeStop.
func (c *Controller) leavingOf(app string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id, l := range c.leaving {
		if l.app == app && !l.done {
			ids = append(ids, id)
		}
	}
	return ids
}

// releaseLeft tells the instances in ids that are in none of the app's
// applied tables that they have left them.
func (c *Controller) releaseLeft(a *appState, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		l := c.leaving[id]
		if l == nil || l.done || routes(a.main, id) || routes(a.preview, id) {
			continue
		}
		l.done = true
		close(l.left)
	}
}

// routes reports whether table t sends traffic to instance id.
func routes(t *proxy.TableSpec, id string) bool {
	if t == nil {
		return false
	}
	has := func(r proxy.Revision) bool {
		return slices.ContainsFunc(r.Instances, func(in proxy.Instance) bool { return in.ID == id })
	}
	return has(t.Stable) || (t.Candidate != nil && has(*t.Candidate))
}

// setDrain remembers an app's drain timeout for BeforeStop.
func (c *Controller) setDrain(app string, d time.Duration) {
	c.mu.Lock()
	c.drains[app] = d
	c.mu.Unlock()
}

// drainOf is an app's drain timeout, as its last pass read it.
func (c *Controller) drainOf(app string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.drains[app]; ok {
		return d
	}
	return drainTimeout(spec.App{})
}
