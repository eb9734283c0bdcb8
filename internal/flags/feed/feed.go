package feed

import (
	"context"
	"sync"
	"sync/atomic"

	"sluice.dev/sluice/internal/flags"
)

// Snapshot is one environment's flag set as published, with its version.
// A Snapshot is immutable: a new Publish makes a new one.
type Snapshot struct {
	// Set is the environment's evaluated flag set; never nil in a Snapshot
	// returned by Current.
	Set *flags.Set
	// Version identifies the set's content, such as the store's resource
	// version. It is opaque to the feed.
	Version string
}

// Change tells a subscriber that an environment's flags changed.
//
// A Change is a hint to re-read: a slow subscriber sees only the latest of
// several changes. Call [Feed.Current] for the state itself.
type Change struct {
	// Env is the environment that changed.
	Env string
	// Version is the version now current; empty when Removed.
	Version string
	// Removed is true when the environment's flag set was removed.
	Removed bool
}

// Feed is the live state of flags for every environment and the fan-out of
// their changes. The zero value is not usable; call New. A Feed is safe for
// concurrent use.
type Feed struct {
	// snapshots maps environment to its current Snapshot. The map is never
	// modified once stored: writers copy it, so readers load it without a lock.
	snapshots atomic.Pointer[map[string]Snapshot]

	// mu serialises writers and guards subs.
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{}

	// subscribers counts open subscriptions, for metrics.
	subscribers atomic.Int64
}

// subscription is one Subscribe call's channel.
type subscription struct {
	ch chan Change
}

// New returns an empty Feed.
func New() *Feed {
	f := &Feed{subs: make(map[string]map[*subscription]struct{})}
	empty := make(map[string]Snapshot)
	f.snapshots.Store(&empty)
	return f
}

// Current returns the environment's current snapshot, and false when
// nothing is published for it. It never blocks and never allocates.
func (f *Feed) Current(env string) (Snapshot, bool) {
	s, ok := (*f.snapshots.Load())[env]
	return s, ok
}

// Publish makes set, under version, the environment's current flag set and
// notifies the environment's subscribers. It reports whether anything
// changed.
//
// The version identifies the content: publishing the same non-empty version
// again does nothing and notifies no one, so a caller may republish what it
// reloads without waking every client. An empty version always replaces.
// A nil set removes the environment, as Remove does.
func (f *Feed) Publish(env string, set *flags.Set, version string) bool {
	if set == nil {
		return f.Remove(env)
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	old := *f.snapshots.Load()
	if cur, ok := old[env]; ok && version != "" && cur.Version == version {
		return false
	}
	next := make(map[string]Snapshot, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[env] = Snapshot{Set: set, Version: version}
	f.snapshots.Store(&next)
	f.notifyLocked(Change{Env: env, Version: version})
	return true
}

// Remove drops the environment's flag set and notifies its subscribers. It
// reports whether the environment was published. Subscriptions stay open:
// a later Publish for the environment reaches them.
func (f *Feed) Remove(env string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()

	old := *f.snapshots.Load()
	if _, ok := old[env]; !ok {
		return false
	}
	next := make(map[string]Snapshot, len(old))
	for k, v := range old {
		if k != env {
			next[k] = v
		}
	}
	f.snapshots.Store(&next)
	f.notifyLocked(Change{Env: env, Removed: true})
	return true
}

// Subscribe returns a channel that receives a Change each time the
// environment's flags change, until ctx ends; then the channel is closed.
//
// The channel buffers one Change. When a newer change arrives before the
// subscriber took the pending one, the newer replaces it: the subscriber
// never blocks the publisher and always ends up with the latest version.
// Subscribing does not deliver the current state; call Current after
// subscribing to read it without missing a change.
func (f *Feed) Subscribe(ctx context.Context, env string) <-chan Change {
	sub := &subscription{ch: make(chan Change, 1)}

	f.mu.Lock()
	if ctx.Err() != nil {
		f.mu.Unlock()
		close(sub.ch)
		return sub.ch
	}
	set := f.subs[env]
	if set == nil {
		set = make(map[*subscription]struct{})
		f.subs[env] = set
	}
	set[sub] = struct{}{}
	f.subscribers.Add(1)
	f.mu.Unlock()

	context.AfterFunc(ctx, func() { f.unsubscribe(env, sub) })
	return sub.ch
}

// Subscribers returns the number of open subscriptions over all
// environments.
func (f *Feed) Subscribers() int {
	return int(f.subscribers.Load())
}

// unsubscribe removes sub and closes its channel. Holding mu while closing
// keeps the close from racing a send in notifyLocked.
func (f *Feed) unsubscribe(env string, sub *subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()

	set := f.subs[env]
	if _, ok := set[sub]; !ok {
		return
	}
	delete(set, sub)
	if len(set) == 0 {
		delete(f.subs, env)
	}
	close(sub.ch)
	f.subscribers.Add(-1)
}

// notifyLocked offers c to every subscriber of c.Env. The caller holds mu.
func (f *Feed) notifyLocked(c Change) {
	for sub := range f.subs[c.Env] {
		offer(sub.ch, c)
	}
}

// offer puts c in ch without blocking, replacing a pending Change if ch is
// full. Only the holder of Feed.mu sends on ch, so once the pending value
// is taken out the send has room.
func offer(ch chan Change, c Change) {
	select {
	case ch <- c:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- c:
	default:
	}
}
