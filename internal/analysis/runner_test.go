package analysis

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
)

// TestRunAdvance drives a run of the golden-signals template against a
// real store: a quiet start is inconclusive (tolerated), then a candidate
// whose success rate drops fails the errors metric, and the run stops.
func TestRunAdvance(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	yaml := strings.ReplaceAll(goldenSignals, "interval: 5s", "interval: 5s\n      inconclusiveLimit: 1")
	a := compile(t, yaml, nil, Options{})
	start := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	run := &Run{Name: "2/step-1", Analysis: a, Started: start}
	p := &fakeProvider{}
	st := a.Start()
	steps := []struct {
		at        time.Duration
		cand      RevisionStats
		wantTaken int
		want      Verdict
		wantNext  time.Duration
	}{
		{0, stats(5, 0, 0.01), 2, Running, 5 * time.Second},                    // both inconclusive, tolerated once
		{3 * time.Second, stats(60, 0, 0.01), 0, Running, 5 * time.Second},     // nothing due yet
		{5 * time.Second, stats(100, 0, 0.01), 2, Running, 10 * time.Second},   // both successful
		{10 * time.Second, stats(100, 20, 0.01), 2, Running, 15 * time.Second}, // errors fails once (limit 1)
		{15 * time.Second, stats(100, 30, 0.01), 2, Failed, -1},
		{20 * time.Second, stats(100, 30, 0.01), 0, Failed, -1},
	}
	for i, step := range steps {
		p.res = Result{Revisions: &Comparison{Candidate: step.cand, Stable: stats(5000, 0, 0.01)}}
		var next time.Time
		var taken []Measurement
		st, next, taken, err = run.Advance(ctx, s, p, st, start.Add(step.at))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(taken) != step.wantTaken || st.Verdict != step.want {
			t.Fatalf("step %d: took %d, verdict %s (%s); want %d, %s", i, len(taken), st.Verdict, st.Message, step.wantTaken, step.want)
		}
		if step.wantNext < 0 {
			if !next.IsZero() {
				t.Errorf("step %d: next %v after the verdict", i, next)
			}
		} else if !next.Equal(start.Add(step.wantNext)) {
			t.Errorf("step %d: next start+%v, want +%v", i, next.Sub(start), step.wantNext)
		}
	}
	wantMessage := "golden-signals/errors: 2 failed measurements, failureLimit 1: failed: candidate.successRate >= stable.successRate - 0.01 is false (100 requests, candidate.successRate = 0.7, stable.successRate = 1)"
	if st.Message != wantMessage {
		t.Errorf("message\n got %q\nwant %q", st.Message, wantMessage)
	}
	loaded, err := run.Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 8 {
		t.Fatalf("loaded %d measurements, want 8", len(loaded))
	}
	if again := a.Evaluate(loaded); !reflect.DeepEqual(again, st) {
		t.Errorf("state rebuilt from the store\n got %+v\nwant %+v", again, st)
	}
}

func TestRunAdvanceCancelled(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := compile(t, goldenSignals, nil, Options{})
	run := &Run{Name: "r", Analysis: a, Started: time.Unix(0, 0)}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	st, _, taken, err := run.Advance(cancelled, s, &fakeProvider{err: context.Canceled}, a.Start(), time.Unix(0, 0))
	if !errors.Is(err, context.Canceled) || len(taken) != 0 || st.Metrics[0].Measurements != 0 {
		t.Fatalf("cancelled advance: %v, took %d", err, len(taken))
	}
	if ms, err := run.Load(ctx, s); err != nil || len(ms) != 0 {
		t.Errorf("stored %d measurements of a cancelled advance (%v)", len(ms), err)
	}
}

func TestRunLoadPages(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := compile(t, goldenSignals, nil, Options{})
	run := &Run{Name: "r", Analysis: a, Started: time.Unix(0, 0), page: 7}
	const n = 7*3 + 4
	err = s.Write(ctx, func(tx store.Tx) error {
		for i := range n {
			m := Measurement{Template: "golden-signals", Metric: "errors", At: time.Unix(int64(i), 0), Verdict: Successful}
			if _, err := tx.AppendMeasurement(ctx, NewRecord(run.Name, a.Target, m)); err != nil {
				return err
			}
			// Another run's measurements in between are not loaded.
			if _, err := tx.AppendMeasurement(ctx, NewRecord("other", a.Target, m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := run.Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != n {
		t.Fatalf("loaded %d, want %d", len(ms), n)
	}
	for i, m := range ms {
		if m.At.Unix() != int64(i) {
			t.Fatalf("measurement %d is from %v: not oldest first", i, m.At)
		}
	}
}
