package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue finds the series of family name with exactly labels and
// returns its counter or gauge value, or its histogram's sample count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !labelsEqual(m.GetLabel(), labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func TestMetricsAfterKnownTraffic(t *testing.T) {
	b1 := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		default:
			_, _ = io.WriteString(w, "hello") // 5 bytes
		}
	})
	b2 := newBackend(t, "2", nil)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	var logged []AccessRecord
	opts := Options{Registerer: reg, AccessLog: func(r AccessRecord) {
		mu.Lock()
		logged = append(logged, r)
		mu.Unlock()
	}}
	cand := Revision{Name: "2", Instances: []Instance{{ID: "2-0", Addr: b2.addr()}}}
	stable := Revision{Name: "1", Instances: []Instance{
		{ID: "1-dead", Addr: deadAddr(t)},
		{ID: "1-0", Addr: b1.addr()},
	}}
	tb := mustTable(t, TableSpec{App: "m", Stable: stable, Candidate: &cand, Weight: 0,
		Overrides: []Override{{Header: "X-Canary", Value: "1", Target: TargetCandidate}}})
	p := startProxy(t, opts, tb)
	c := newClient(t)

	for range 4 {
		do(t, c, p.url("m")+"/ok", nil)
	}
	do(t, c, p.url("m")+"/fail", nil)
	do(t, c, p.url("m")+"/missing", nil)
	resp, err := c.Post(p.url("m")+"/ok", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	do(t, c, p.url("m"), map[string]string{"X-Canary": "1"})

	rev1 := map[string]string{"app": "m", "revision": "1"}
	series := func(code, method string) map[string]string {
		return map[string]string{"app": "m", "revision": "1", "code": code, "method": method}
	}
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"GET 200", "sluice_http_requests_total", series("200", "GET"), 4},
		{"GET 500", "sluice_http_requests_total", series("500", "GET"), 1},
		{"GET 404", "sluice_http_requests_total", series("404", "GET"), 1},
		{"POST 200", "sluice_http_requests_total", series("200", "POST"), 1},
		{"candidate", "sluice_http_requests_total", map[string]string{"app": "m", "revision": "2", "code": "200", "method": "GET"}, 1},
		{"duration samples", "sluice_http_request_duration_seconds", rev1, 7},
		{"in flight", "sluice_http_requests_in_flight", rev1, 0},
		{"bytes", "sluice_http_response_bytes_total", rev1, 25},
		// Round robin starts each revision at its first instance, which is
		// dead: every other request of revision 1 retried once.
		{"connect errors", "sluice_upstream_connect_errors_total", rev1, 4},
		{"retries", "sluice_proxy_retries_total", rev1, 4},
	}
	for _, tt := range tests {
		if got := metricValue(t, reg, tt.metric, tt.labels); got != tt.want {
			t.Errorf("%s: %s%v = %v, want %v", tt.name, tt.metric, tt.labels, got, tt.want)
		}
	}

	s, err := p.Stats("m", "1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 7 || s.Errors != 1 || s.TotalRequests != 7 || s.P50 <= 0 || s.P99 < s.P50 {
		t.Errorf("stats of revision 1: %+v (a 404 is not an error)", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 8 {
		t.Fatalf("%d access records, want 8", len(logged))
	}
	last := logged[len(logged)-1]
	if last.App != "m" || last.Revision != "2" || last.Instance != "2-0" || last.Status != 200 ||
		last.Method != "GET" || last.Path != "/" || len(last.RequestID) != 32 || last.Bytes != 1 || last.Duration <= 0 {
		t.Errorf("access record %+v", last)
	}
}

func TestMetricsOffAndDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Registerer: reg}); err == nil {
		t.Fatal("registering the metrics twice succeeded")
	}
	if _, err := New(Options{}); err != nil {
		t.Fatalf("metrics off: %v", err)
	}
}
