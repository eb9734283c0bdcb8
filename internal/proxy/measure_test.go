package proxy

import (
	"math"
	"testing"
	"time"
)

func TestLatencyBucketBounds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{8 * time.Microsecond, 0},
		{1 << minExp, 1},
		{1<<minExp + 1<<(minExp-subBits), 2},
		{time.Hour, numBuckets - 1},
		{1 << maxExp, numBuckets - 1},
		{1<<maxExp - 1, numBuckets - 2},
	}
	for _, tt := range tests {
		if got := latencyBucket(tt.d); got != tt.want {
			t.Errorf("latencyBucket(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
	// Every duration falls inside its bucket's bounds, and buckets are at
	// most 12.5 % wide.
	for d := time.Duration(1 << minExp); d < 1<<maxExp; d = d*21/20 + 1 {
		i := latencyBucket(d)
		lo, hi := bucketBounds(i)
		s := d.Seconds()
		if s < lo-1e-12 || s >= hi+1e-12 {
			t.Fatalf("%v in bucket %d [%g, %g)", d, i, lo, hi)
		}
		if (hi-lo)/lo > 0.125+1e-9 {
			t.Fatalf("bucket %d is %.1f%% wide", i, 100*(hi-lo)/lo)
		}
	}
	// Bounds are contiguous.
	for i := 1; i < numBuckets-1; i++ {
		_, hi := bucketBounds(i - 1)
		lo, _ := bucketBounds(i)
		if math.Abs(hi-lo) > 1e-15 {
			t.Fatalf("gap between buckets %d and %d: %g vs %g", i-1, i, hi, lo)
		}
	}
}

func TestQuantile(t *testing.T) {
	at := func(d time.Duration) int { return latencyBucket(d) }
	hist := func(pairs ...any) []uint64 {
		c := make([]uint64, numBuckets)
		for i := 0; i < len(pairs); i += 2 {
			c[at(pairs[i].(time.Duration))] += uint64(pairs[i+1].(int))
		}
		return c
	}
	lo10, hi10 := bucketBounds(at(10 * time.Millisecond))
	lo100, hi100 := bucketBounds(at(100 * time.Millisecond))
	tests := []struct {
		name   string
		counts []uint64
		q      float64
		want   float64
	}{
		{"empty", make([]uint64, numBuckets), 0.5, 0},
		{"one bucket median interpolates", hist(10*time.Millisecond, 100), 0.5, lo10 + (hi10-lo10)*0.5},
		{"one bucket p100 is its top", hist(10*time.Millisecond, 100), 1, hi10},
		{"p0 is the lowest bound", hist(10*time.Millisecond, 100), 0, lo10},
		{"p90 of 90/10 split", hist(10*time.Millisecond, 90, 100*time.Millisecond, 10), 0.9, hi10},
		{"p95 of 90/10 split", hist(10*time.Millisecond, 90, 100*time.Millisecond, 10), 0.95, lo100 + (hi100-lo100)*0.5},
		{"p99 of 99/1 split", hist(10*time.Millisecond, 99, 100*time.Millisecond, 1), 0.99, hi10},
		{"overflow bucket", hist(2*time.Minute, 5), 0.5, float64(int64(1)<<maxExp) / 1e9},
		{"q above 1 is clamped", hist(10*time.Millisecond, 4), 7, hi10},
		{"NaN", hist(10*time.Millisecond, 4), math.NaN(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.counts, tt.q); math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("got %g, want %g", got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	counts := make([]uint64, numBuckets)
	counts[latencyBucket(20*time.Millisecond)] = 8
	s := summarize(time.Minute, 8, 2, counts)
	if s.Requests != 8 || s.Errors != 2 || s.ErrorRate != 0.25 || s.SuccessRate != 0.75 {
		t.Fatalf("summary = %+v", s)
	}
	if s.P50 > s.P90 || s.P90 > s.P95 || s.P95 > s.P99 || s.P50 < 0.0175 || s.P99 > 0.0225 {
		t.Fatalf("quantiles out of order or range: %+v", s)
	}
	if z := summarize(time.Minute, 0, 0, counts); z.SuccessRate != 0 || z.P99 != 0 {
		t.Fatalf("empty summary = %+v", z)
	}
}

func TestWindowSlides(t *testing.T) {
	w := newWindow(10 * time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	// One request per second for 20 seconds, every fourth an error.
	for i := range 20 {
		w.record(t0.Add(time.Duration(i)*time.Second), 5*time.Millisecond, i%4 == 0)
	}
	now := t0.Add(19 * time.Second)
	tests := []struct {
		span             time.Duration
		requests, errors uint64
	}{
		{time.Second, 1, 0},             // second 19
		{4 * time.Second, 4, 1},         // 16..19: an error at 16
		{10 * time.Second, 10, 2},       // 10..19: errors at 12 and 16
		{time.Hour, 10, 2},              // capped at the window's length
		{1500 * time.Millisecond, 2, 0}, // rounded up to 2 s
	}
	for _, tt := range tests {
		s := w.summary(now, tt.span)
		if s.Requests != tt.requests || s.Errors != tt.errors {
			t.Errorf("span %v: %d requests, %d errors; want %d, %d", tt.span, s.Requests, s.Errors, tt.requests, tt.errors)
		}
		if s.TotalRequests != 20 || s.TotalErrors != 5 {
			t.Errorf("totals = %d, %d; want 20, 5", s.TotalRequests, s.TotalErrors)
		}
	}
	// Much later, the window is empty but the totals remain.
	if s := w.summary(now.Add(time.Minute), time.Minute); s.Requests != 0 || s.TotalRequests != 20 {
		t.Errorf("stale window: %+v", s)
	}
}
