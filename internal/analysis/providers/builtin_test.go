package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/spec"
)

// fakeCounters answers from a table of revisions and records the windows
// asked for.
type fakeCounters struct {
	stats   map[int]analysis.RevisionStats
	err     error
	windows []time.Duration
}

func (f *fakeCounters) Summary(_ context.Context, app string, revision int, window time.Duration) (analysis.RevisionStats, error) {
	f.windows = append(f.windows, window)
	if f.err != nil {
		return analysis.RevisionStats{}, f.err
	}
	return f.stats[revision], nil
}

func builtinRequest(stable int, window time.Duration) analysis.Request {
	return analysis.Request{
		Target:   analysis.Target{App: "hello", Candidate: 2, Stable: stable},
		Template: "t", Metric: "m",
		Provider: spec.MetricProvider{Builtin: &spec.BuiltinProvider{Window: spec.Dur(window)}},
	}
}

func TestBuiltin(t *testing.T) {
	c := &fakeCounters{stats: map[int]analysis.RevisionStats{1: {Requests: 900}, 2: {Requests: 40, Errors: 4}}}
	b := NewBuiltin(c)
	cases := []struct {
		name       string
		req        analysis.Request
		err        error
		wantCand   int
		wantStable int
		wantErr    string
	}{
		{"both revisions", builtinRequest(1, 30*time.Second), nil, 40, 900, ""},
		{"no stable", builtinRequest(0, 30*time.Second), nil, 40, 0, ""},
		{"counters fail", builtinRequest(1, 30*time.Second), errors.New("unknown app"), 0, 0, "candidate revision 2: unknown app"},
		{"not builtin", analysis.Request{Provider: spec.MetricProvider{Webhook: &spec.WebhookProvider{}}}, nil, 0, 0, ErrWrongProvider.Error()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.err = tc.err
			res, err := b.Measure(context.Background(), tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Revisions.Candidate.Requests != tc.wantCand || res.Revisions.Stable.Requests != tc.wantStable || res.SampleSize != int64(tc.wantCand) {
				t.Errorf("result %+v", res.Revisions)
			}
		})
	}
	if c.windows[0] != 30*time.Second {
		t.Errorf("window %s, want the metric's 30s", c.windows[0])
	}
}

// TestProxyCounters measures revisions through a real proxy: stable
// answers 200, the candidate (reached with an override header) 500 for
// every third request; then the golden-signals error metric judges them.
func TestProxyCounters(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	var n atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer flaky.Close()

	srv, err := proxy.New(proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	table, err := proxy.NewTable(proxy.TableSpec{
		App: "hello", Listen: "127.0.0.1:0",
		Stable:    proxy.Revision{Name: "1", Instances: []proxy.Instance{{ID: "hello-1", Addr: strings.TrimPrefix(ok.URL, "http://")}}},
		Candidate: &proxy.Revision{Name: "2", Instances: []proxy.Instance{{ID: "hello-2", Addr: strings.TrimPrefix(flaky.URL, "http://")}}},
		Weight:    0,
		Overrides: []proxy.Override{{Header: "X-Canary", Value: "yes", Target: proxy.TargetCandidate}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Apply(table); err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Addr("hello")
	if err != nil {
		t.Fatal(err)
	}
	send := func(canary bool, count int) {
		for range count {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/", addr), nil)
			if canary {
				req.Header.Set("X-Canary", "yes")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	send(false, 100)
	send(true, 60)

	counters := NewProxyCounters(srv)
	cand, err := counters.Summary(ctx, "hello", 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if cand.Requests != 60 || cand.Errors != 20 || cand.TotalRequests != 60 || cand.P99 <= 0 {
		t.Errorf("candidate %+v, want 60 requests and 20 errors", cand)
	}
	if got := cand.ErrorRate; got < 0.333 || got > 0.334 {
		t.Errorf("error rate %v", got)
	}
	if unseen, err := counters.Summary(ctx, "hello", 3, time.Minute); err != nil || unseen != (analysis.RevisionStats{}) {
		t.Errorf("a revision never routed: %+v, %v; want empty", unseen, err)
	}
	if _, err := counters.Summary(ctx, "nope", 1, time.Minute); !errors.Is(err, proxy.ErrUnknownApp) {
		t.Errorf("unknown app: %v", err)
	}

	docs, err := spec.Decode([]byte(`
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata: {name: golden-signals}
spec:
  metrics:
    - name: errors
      provider: {builtin: {window: 30s, minRequests: 50}}
      successCondition: candidate.successRate >= stable.successRate - 0.01
`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := analysis.Compile(analysis.Target{App: "hello", Candidate: 2, Stable: 1},
		[]analysis.Template{{Name: "golden-signals", Spec: docs[0].AnalysisTemplate}}, nil, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := analysis.Take(ctx, New(counters, nil), a.Metrics[0], time.Now())
	want := "failed: candidate.successRate >= stable.successRate - 0.01 is false (60 requests, candidate.successRate = 0.6667, stable.successRate = 1)"
	if m.Verdict != analysis.Failed || m.Message != want {
		t.Errorf("got %s %q\nwant %q", m.Verdict, m.Message, want)
	}
}

func TestSetDispatch(t *testing.T) {
	c := &fakeCounters{stats: map[int]analysis.RevisionStats{2: {Requests: 7}}}
	s := Set{Builtin: NewBuiltin(c)}
	res, err := s.Measure(context.Background(), builtinRequest(0, time.Minute))
	if err != nil || res.Revisions.Candidate.Requests != 7 {
		t.Errorf("builtin through the set: %+v, %v", res, err)
	}
	_, err = s.Measure(context.Background(), analysis.Request{Provider: spec.MetricProvider{Prometheus: &spec.PrometheusProvider{}}})
	if !errors.Is(err, ErrNotConfigured) {
		t.Errorf("no prometheus provider: %v", err)
	}
	_, err = s.Measure(context.Background(), analysis.Request{})
	if !errors.Is(err, ErrWrongProvider) {
		t.Errorf("no provider in the spec: %v", err)
	}
}
