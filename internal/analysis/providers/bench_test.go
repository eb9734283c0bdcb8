package providers

import (
	"context"
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

// BenchmarkBuiltinTake takes one measurement of the golden-signals error
// metric end to end through a real proxy: two windowed summaries (30
// one-second slots of counters and latency histograms, candidate and
// stable) and the verdict.
func BenchmarkBuiltinTake(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	var clock atomic.Int64
	clock.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	srv, err := proxy.New(proxy.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	addr := strings.TrimPrefix(backend.URL, "http://")
	table, err := proxy.NewTable(proxy.TableSpec{
		App: "hello", Listen: "127.0.0.1:0",
		Stable:    proxy.Revision{Name: "1", Instances: []proxy.Instance{{ID: "s", Addr: addr}}},
		Candidate: &proxy.Revision{Name: "2", Instances: []proxy.Instance{{ID: "c", Addr: addr}}},
		Weight:    5000,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Apply(table); err != nil {
		b.Fatal(err)
	}
	proxyAddr, err := srv.Addr("hello")
	if err != nil {
		b.Fatal(err)
	}
	// Fill every second of the window with requests to both revisions.
	for range 30 {
		for range 20 {
			resp, err := http.Get("http://" + proxyAddr.String() + "/")
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
		clock.Add(int64(time.Second))
	}
	tmpl := &spec.AnalysisTemplate{Metrics: []spec.Metric{{
		Name:             "errors",
		Provider:         spec.MetricProvider{Builtin: &spec.BuiltinProvider{Window: spec.Dur(30 * time.Second), MinRequests: intPtr(50)}},
		SuccessCondition: "candidate.successRate >= stable.successRate - 0.01",
	}}}
	a, err := analysis.Compile(analysis.Target{App: "hello", Candidate: 2, Stable: 1}, []analysis.Template{{Name: "golden-signals", Spec: tmpl}}, nil, analysis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := New(NewProxyCounters(srv), nil)
	now := time.Unix(0, clock.Load())
	if m := analysis.Take(ctx, p, a.Metrics[0], now); m.Verdict != analysis.Successful {
		b.Fatalf("setup: %s %s", m.Verdict, m.Message)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = analysis.Take(ctx, p, a.Metrics[0], now)
	}
}

func intPtr(v int) *int { return &v }
