package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/store"
)

// maxQueuedEvents bounds the instance events waiting to be recorded; more
// are dropped (and counted in the log) rather than slowing the drivers.
const maxQueuedEvents = 1000

// eventQueue holds instance events between the drivers' and checker's
// callbacks, which must return at once, and the store.
type eventQueue struct {
	mu      sync.Mutex
	items   []store.Event
	dropped int
	signal  chan struct{} // capacity 1
}

func newEventQueue() *eventQueue {
	return &eventQueue{signal: make(chan struct{}, 1)}
}

// push queues one event without blocking.
func (q *eventQueue) push(e store.Event) {
	q.mu.Lock()
	if len(q.items) >= maxQueuedEvents {
		q.dropped++
	} else {
		q.items = append(q.items, e)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// run records queued events until ctx ends.
func (q *eventQueue) run(ctx context.Context, record func(context.Context, store.Event) error, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.signal:
		}
		q.mu.Lock()
		items, dropped := q.items, q.dropped
		q.items, q.dropped = nil, 0
		q.mu.Unlock()
		if dropped > 0 {
			log.Warn("rollout: instance events dropped", "count", dropped)
		}
		for _, e := range items {
			if err := record(ctx, e); err != nil {
				if ctx.Err() == nil {
					log.Error("rollout: record event", "reason", e.Reason, "error", err)
				}
				break
			}
		}
	}
}

// runtimeEvent describes a driver's event for the event log.
func runtimeEvent(ev runtime.Event) store.Event {
	in := ev.Instance
	e := store.Event{App: in.App, Revision: in.Revision, Type: store.EventNormal}
	switch ev.Kind {
	case runtime.EventStarted:
		e.Reason, e.Message = "InstanceStarted", fmt.Sprintf("instance %s of revision %d started at %s", in.ID, in.Revision, in.Address)
	case runtime.EventCrashed:
		e.Type, e.Reason = store.EventWarning, "InstanceCrashed"
		e.Message = fmt.Sprintf("instance %s of revision %d crashed (%s); it restarts in %s", in.ID, in.Revision, ev.Exit, ev.RestartIn)
	case runtime.EventRestarted:
		e.Reason, e.Message = "InstanceRestarted", fmt.Sprintf("instance %s of revision %d restarted (%d restarts)", in.ID, in.Revision, in.Restarts)
	case runtime.EventStopped:
		e.Reason, e.Message = "InstanceStopped", fmt.Sprintf("instance %s of revision %d stopped (%s)", in.ID, in.Revision, ev.Exit)
	default:
		e.Reason, e.Message = "Instance"+string(ev.Kind), fmt.Sprintf("instance %s of revision %d: %s", in.ID, in.Revision, ev.Kind)
	}
	return e
}

// healthEvent describes a change of an instance's health.
func healthEvent(owner revKey, tr health.Transition) store.Event {
	e := store.Event{App: owner.app, Revision: owner.revision, Type: store.EventNormal, Reason: "InstanceHealthy",
		Message: fmt.Sprintf("instance %s of revision %d is healthy (%s)", tr.Target.ID, owner.revision, tr.Reason)}
	if tr.To != health.StatusHealthy {
		e.Type, e.Reason = store.EventWarning, "InstanceUnhealthy"
		e.Message = fmt.Sprintf("instance %s of revision %d is %s: %s", tr.Target.ID, owner.revision, lower(string(tr.To)), tr.Reason)
	}
	return e
}

func lower(s string) string {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// Ejected records that passive health took an instance out of rotation
// and wakes the controller. Pass it as the proxy's OnEject; it returns at
// once.
func (c *Controller) Ejected(ej proxy.Ejection) {
	app := strings.TrimSuffix(ej.App, "/preview")
	rev, _ := strconv.Atoi(ej.Revision)
	c.events.push(store.Event{App: app, Revision: rev, Type: store.EventWarning, Reason: "InstanceEjected",
		Message: fmt.Sprintf("instance %s of revision %s failed %d requests in a row (%s) and gets no traffic until %s",
			ej.Instance, ej.Revision, ej.Failures, ej.Reason, stamp(ej.Until))})
	c.wake()
}
