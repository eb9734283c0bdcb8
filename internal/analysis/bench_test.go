package analysis

import (
	"testing"
	"time"
)

// BenchmarkJudgeBuiltin judges one builtin measurement of the
// golden-signals error metric: the minimum sample check, the compiled
// condition, and the message with its numbers.
func BenchmarkJudgeBuiltin(b *testing.B) {
	cases := []struct {
		name string
		res  Result
	}{
		{"successful", Result{Revisions: &Comparison{Candidate: stats(400, 2, 0.01), Stable: stats(9000, 40, 0.01)}}},
		{"failed", Result{Revisions: &Comparison{Candidate: stats(400, 120, 0.01), Stable: stats(9000, 40, 0.01)}}},
		{"inconclusive", Result{Revisions: &Comparison{Candidate: stats(12, 0, 0.01), Stable: stats(9000, 40, 0.01)}}},
	}
	m := compile(b, goldenSignals, nil, Options{}).metric(b, "errors")
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.Judge(tc.res, nil, at)
			}
		})
	}
}

// BenchmarkEvaluate folds an hour of measurements at a 5 s interval (720
// per metric) of the two golden-signals metrics into the analysis verdict,
// and asks the scheduler what is due.
func BenchmarkEvaluate(b *testing.B) {
	a := compile(b, goldenSignals, nil, Options{})
	var ms []Measurement
	start := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	for i := range 720 {
		for _, name := range []string{"errors", "latency"} {
			ms = append(ms, Measurement{Template: "golden-signals", Metric: name, At: start.Add(time.Duration(i) * 5 * time.Second), Verdict: Successful})
		}
	}
	now := start.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = a.Due(start, ms, now)
	}
}
