package proxy

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// streamGrace is how long Drain waits, after closing an instance's streams
// at the deadline, for their handlers to unwind.
const streamGrace = time.Second

// instance is the proxy's runtime state of one instance. It outlives route
// tables: a table swap keeps the state of instances that stay, and an
// instance that leaves a table keeps its state until it has drained.
type instance struct {
	id, addr, revision string

	inFlight atomic.Int64
	failures atomic.Int64
	ejected  atomic.Int64 // Unix nanoseconds until which it is ejected
	draining atomic.Bool

	mu      sync.Mutex
	drain   *drainState // set while draining
	streams map[streamCloser]struct{}
}

// streamCloser ends a long-lived response (an event stream, an upgraded
// connection) when its instance's drain deadline passes.
type streamCloser interface {
	closeStream()
}

// drainState is one episode of draining: from leaving a table until idle.
type drainState struct {
	deadline time.Time
	idle     chan struct{} // closed when no request is in flight
	expired  chan struct{} // closed at the deadline, after streams closed
	back     chan struct{} // closed if the instance returns to a table
	timer    *time.Timer
	idleOnce sync.Once
}

func newInstance(in Instance, revision string) *instance {
	return &instance{id: in.ID, addr: in.Addr, revision: revision}
}

func (in *instance) load() int64         { return in.inFlight.Load() }
func (in *instance) ejectedUntil() int64 { return in.ejected.Load() }

// acquire counts a request in flight. It fails when the instance started
// draining after the request chose it; the caller then chooses again.
// Increment first, check second: drain sets the flag first and reads the
// count second, so one of the two always sees the other.
func (in *instance) acquire() bool {
	in.inFlight.Add(1)
	if in.draining.Load() {
		in.release()
		return false
	}
	return true
}

// release ends a request counted by acquire.
func (in *instance) release() {
	if in.inFlight.Add(-1) == 0 && in.draining.Load() {
		in.mu.Lock()
		d := in.drain
		in.mu.Unlock()
		if d != nil && in.inFlight.Load() == 0 {
			d.idleOnce.Do(func() { close(d.idle) })
		}
	}
}

// succeeded resets the consecutive failure count.
func (in *instance) succeeded() {
	if in.failures.Load() != 0 {
		in.failures.Store(0)
	}
}

// failed counts a failure at now and reports whether it ejected the
// instance, with the failure count that did.
func (in *instance) failed(now time.Time, threshold int, cooldown time.Duration) (bool, int) {
	n := in.failures.Add(1)
	old := in.ejected.Load()
	if !shouldEject(int(n), threshold, old, now.UnixNano()) {
		return false, int(n)
	}
	if !in.ejected.CompareAndSwap(old, now.Add(cooldown).UnixNano()) {
		return false, int(n) // another request ejected it just now
	}
	in.failures.Store(0)
	return true, int(n)
}

// startDrain takes the instance out of service: requests already in flight
// go on, streams are closed after timeout. It is a no-op if it is draining.
func (in *instance) startDrain(now time.Time, timeout time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.drain != nil {
		return
	}
	d := &drainState{
		deadline: now.Add(timeout),
		idle:     make(chan struct{}),
		expired:  make(chan struct{}),
		back:     make(chan struct{}),
	}
	in.drain = d
	in.draining.Store(true)
	if in.inFlight.Load() == 0 {
		d.idleOnce.Do(func() { close(d.idle) })
	}
	d.timer = time.AfterFunc(timeout, func() { in.expire(d) })
}

// expire closes the streams still open at the deadline of drain d.
func (in *instance) expire(d *drainState) {
	in.mu.Lock()
	if in.drain != d {
		in.mu.Unlock()
		return
	}
	streams := make([]streamCloser, 0, len(in.streams))
	for s := range in.streams {
		streams = append(streams, s)
	}
	close(d.expired) // under mu: addStream closes later streams itself
	in.mu.Unlock()
	for _, s := range streams {
		s.closeStream()
	}
}

// undrain puts a draining instance back in service, ending its drain.
func (in *instance) undrain() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.drain == nil {
		return
	}
	in.drain.timer.Stop()
	close(in.drain.back)
	in.drain = nil
	in.draining.Store(false)
}

// stop ends a drain at once, as at server shutdown: streams are closed now.
func (in *instance) stop() {
	in.mu.Lock()
	d := in.drain
	in.mu.Unlock()
	if d != nil && d.timer.Stop() {
		in.expire(d)
	}
}

// drained reports whether the instance drained and may be forgotten.
func (in *instance) drained(now time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.drain != nil && in.inFlight.Load() == 0 && !now.Before(in.drain.deadline)
}

// wait blocks until the draining instance has no request in flight. At the
// drain deadline its streams are closed and it waits streamGrace more for
// them to unwind; requests still in flight then give ErrDrainTimeout.
func (in *instance) wait(ctx context.Context) error {
	in.mu.Lock()
	d := in.drain
	in.mu.Unlock()
	if d == nil {
		return ErrStillRouted
	}
	select {
	case <-d.idle:
		return nil
	case <-d.back:
		return ErrStillRouted
	case <-ctx.Done():
		return ctx.Err()
	case <-d.expired:
	}
	grace := time.NewTimer(streamGrace)
	defer grace.Stop()
	select {
	case <-d.idle:
		return nil
	case <-d.back:
		return ErrStillRouted
	case <-ctx.Done():
		return ctx.Err()
	case <-grace.C:
		return fmt.Errorf("%w: %d requests still in flight", ErrDrainTimeout, in.inFlight.Load())
	}
}

// addStream registers a long-lived response to close at the drain
// deadline. If the deadline already passed, it is closed at once.
func (in *instance) addStream(s streamCloser) {
	in.mu.Lock()
	expired := false
	if d := in.drain; d != nil {
		select {
		case <-d.expired:
			expired = true
		default:
		}
	}
	if !expired {
		if in.streams == nil {
			in.streams = make(map[streamCloser]struct{})
		}
		in.streams[s] = struct{}{}
	}
	in.mu.Unlock()
	if expired {
		s.closeStream()
	}
}

// removeStream forgets a stream that ended.
func (in *instance) removeStream(s streamCloser) {
	in.mu.Lock()
	delete(in.streams, s)
	in.mu.Unlock()
}
