package proxy

import (
	"math"
	"math/bits"
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

// The latency histogram of the measurement window is log-linear: each power
// of two of nanoseconds between 2^minExp (8.2 µs) and 2^maxExp (68.7 s) is
// split into 2^subBits equal buckets, so a bucket is at most 12.5 % wide.
// Bucket 0 holds everything faster than 2^minExp, the last bucket everything
// slower than 2^maxExp.
const (
	subBits    = 3
	minExp     = 13
	maxExp     = 36
	numBuckets = (maxExp-minExp)<<subBits + 2
)

// latencyBucket returns the histogram bucket of d.
func latencyBucket(d time.Duration) int {
	if d < 1<<minExp {
		return 0
	}
	ns := uint64(d)
	e := bits.Len64(ns) - 1
	if e >= maxExp {
		return numBuckets - 1
	}
	sub := int(ns>>(e-subBits)) & (1<<subBits - 1)
	return 1 + (e-minExp)<<subBits + sub
}

// bucketBounds returns the lower and upper bound of bucket i in seconds. The
// last bucket has no upper bound; its upper bound is reported equal to its
// lower one so that quantiles never leave the measured range.
func bucketBounds(i int) (lo, hi float64) {
	switch {
	case i <= 0:
		return 0, float64(int64(1)<<minExp) / 1e9
	case i >= numBuckets-1:
		v := float64(int64(1)<<maxExp) / 1e9
		return v, v
	}
	e := minExp + (i-1)>>subBits
	sub := (i - 1) & (1<<subBits - 1)
	width := int64(1) << (e - subBits)
	low := int64(1)<<e + int64(sub)*width
	return float64(low) / 1e9, float64(low+width) / 1e9
}

// quantile returns the q-quantile (0 ≤ q ≤ 1) in seconds of a histogram
// with the bucket layout above, interpolating linearly inside the bucket
// that holds the rank, as Prometheus' histogram_quantile does. It returns 0
// for an empty histogram.
func quantile(counts []uint64, q float64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 || math.IsNaN(q) {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	var below float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		n := float64(c)
		if below+n >= rank {
			lo, hi := bucketBounds(i)
			return lo + (hi-lo)*max(rank-below, 0)/n
		}
		below += n
	}
	lo, _ := bucketBounds(len(counts) - 1)
	return lo
}

// Summary is what the proxy measured for one revision of one app: the
// requests it served in a recent window and since it first served.
//
// A request is an error when the revision answered 5xx, when the proxy could
// not reach an instance (502), when no instance was ready (503), or when the
// instance broke its response off mid-stream. A 4xx, and a client that hangs
// up before its response is done, are the client's doing and not errors. Rates and quantiles are 0 when Requests is 0: check Requests
// against a minimum sample size before judging the rest.
type Summary struct {
	// Window is the span the windowed fields cover.
	Window time.Duration
	// Requests is the number of requests completed in the window.
	Requests uint64
	// Errors is the number of those requests that were errors.
	Errors uint64
	// SuccessRate is (Requests-Errors)/Requests, from 0 to 1.
	SuccessRate float64
	// ErrorRate is Errors/Requests, from 0 to 1.
	ErrorRate float64
	// P50, P90, P95 and P99 are latency quantiles in seconds, measured from
	// the request's arrival at the proxy to the end of its response.
	P50, P90, P95, P99 float64
	// TotalRequests counts every request the revision served since the
	// proxy first routed to it: the rollout's blast radius.
	TotalRequests uint64
	// TotalErrors counts the errors among TotalRequests.
	TotalErrors uint64
}

// summarize fills the windowed fields of a Summary from raw counts.
func summarize(window time.Duration, requests, errs uint64, latency []uint64) Summary {
	s := Summary{Window: window, Requests: requests, Errors: errs}
	if requests == 0 {
		return s
	}
	s.ErrorRate = float64(errs) / float64(requests)
	s.SuccessRate = 1 - s.ErrorRate
	s.P50 = quantile(latency, 0.50)
	s.P90 = quantile(latency, 0.90)
	s.P95 = quantile(latency, 0.95)
	s.P99 = quantile(latency, 0.99)
	return s
}
