package analysis

import (
	"context"
	"reflect"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
)

func TestRecordRoundTrip(t *testing.T) {
	a := compile(t, goldenSignals, nil, Options{})
	m := a.metric(t, "errors").Judge(Result{Revisions: &Comparison{Candidate: stats(100, 30, 0.01), Stable: stats(2000, 0, 0.01)}}, nil,
		time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC))
	r := NewRecord("2/step-3", a.Target, m)
	if r.App != "hello" || r.Run != "2/step-3" || r.Candidate != 2 || r.Stable != 1 || r.Verdict != "Failed" || r.SampleSize != 100 {
		t.Fatalf("record %+v", r)
	}
	back := FromRecords([]store.Measurement{r})
	if !reflect.DeepEqual(back[0], m) {
		t.Errorf("round trip\n got %+v\nwant %+v", back[0], m)
	}
}

// fakeProvider answers every request with the same result and records
// what it was asked.
type fakeProvider struct {
	res  Result
	err  error
	reqs []Request
}

func (f *fakeProvider) Measure(_ context.Context, req Request) (Result, error) {
	f.reqs = append(f.reqs, req)
	return f.res, f.err
}

func TestTake(t *testing.T) {
	a := compile(t, goldenSignals, nil, Options{})
	p := &fakeProvider{res: Result{Revisions: &Comparison{Candidate: stats(100, 0, 0.01), Stable: stats(100, 0, 0.01)}}}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m := a.metric(t, "latency")
	got := Take(context.Background(), p, m, now)
	if got.Verdict != Successful || !got.At.Equal(now) {
		t.Errorf("got %+v", got)
	}
	if len(p.reqs) != 1 || p.reqs[0].Metric != "latency" || p.reqs[0].Provider.Builtin.Window.Duration != 30*time.Second || p.reqs[0].Target != a.Target {
		t.Errorf("requests %+v", p.reqs)
	}
}
