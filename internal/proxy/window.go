package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStatsWindow is how far back per-revision measurements reach when
// Options.StatsWindow is zero.
const DefaultStatsWindow = 5 * time.Minute

// window is a sliding window of one revision's requests: a ring of
// one-second slots, each holding counters and a latency histogram. Recording
// is a handful of atomic adds; a slot is reset under a mutex only when the
// ring comes round to it, once per second at most.
type window struct {
	slots    []slot
	rotate   sync.Mutex
	requests atomic.Uint64 // since the window was created
	errors   atomic.Uint64
}

// slot holds the requests that completed during one second.
type slot struct {
	sec      atomic.Int64 // Unix second the slot holds
	requests atomic.Uint64
	errors   atomic.Uint64
	latency  [numBuckets]atomic.Uint64
}

// newWindow returns a window that remembers span, rounded up to whole
// seconds (at least one).
func newWindow(span time.Duration) *window {
	n := int((span + time.Second - 1) / time.Second)
	w := &window{slots: make([]slot, max(n, 1))}
	for i := range w.slots {
		w.slots[i].sec.Store(-1)
	}
	return w
}

// span is how far back the window reaches.
func (w *window) span() time.Duration { return time.Duration(len(w.slots)) * time.Second }

// record counts one request that completed at now after d.
func (w *window) record(now time.Time, d time.Duration, failed bool) {
	sec := now.Unix()
	s := &w.slots[uint64(sec)%uint64(len(w.slots))]
	if s.sec.Load() != sec {
		w.reset(s, sec)
	}
	s.requests.Add(1)
	s.latency[latencyBucket(d)].Add(1)
	w.requests.Add(1)
	if failed {
		s.errors.Add(1)
		w.errors.Add(1)
	}
}

// reset clears s for second sec, unless a newer second already took it.
func (w *window) reset(s *slot, sec int64) {
	w.rotate.Lock()
	defer w.rotate.Unlock()
	if s.sec.Load() >= sec {
		return
	}
	s.requests.Store(0)
	s.errors.Store(0)
	for i := range s.latency {
		s.latency[i].Store(0)
	}
	s.sec.Store(sec)
}

// summary sums the slots of the last span (capped at the window's length)
// ending at now, including the current second.
func (w *window) summary(now time.Time, span time.Duration) Summary {
	n := int64((span + time.Second - 1) / time.Second)
	n = min(max(n, 1), int64(len(w.slots)))
	last := now.Unix()
	var requests, errs uint64
	latency := make([]uint64, numBuckets)
	for sec := last - n + 1; sec <= last; sec++ {
		s := &w.slots[uint64(sec)%uint64(len(w.slots))]
		if s.sec.Load() != sec {
			continue
		}
		requests += s.requests.Load()
		errs += s.errors.Load()
		for i := range s.latency {
			latency[i] += s.latency[i].Load()
		}
	}
	sum := summarize(time.Duration(n)*time.Second, requests, errs, latency)
	sum.TotalRequests = w.requests.Load()
	sum.TotalErrors = w.errors.Load()
	return sum
}
