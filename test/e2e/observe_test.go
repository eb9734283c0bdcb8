package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver built on the official OTLP
// protobuf types.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// find returns a received span with this name in this trace, or nil.
func (rc *otlpReceiver) find(name, traceID string) *tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, s := range rc.spans {
		if s.Name == name && fmt.Sprintf("%x", s.TraceId) == traceID {
			return s
		}
	}
	return nil
}

// TestTracesMetricsAndAccessLog drives a static app through the real
// server with tracing and the access log on.
func TestTracesMetricsAndAccessLog(t *testing.T) {
	rc := newOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")

	upstream := make(chan string, 100)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			upstream <- r.Header.Get("traceparent")
		}
		fmt.Fprintln(w, "ok")
	}))
	defer backend.Close()

	s := startServer(t, "", "--access-log")
	listen := freePort(t)
	s.must(fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata: {name: web}
spec:
  listen: %s
  runtime: {static: {addresses: ["%s"]}}
  healthCheck: {path: /health, interval: 200ms}
`, listen, strings.TrimPrefix(backend.URL, "http://")), "apply", "-f", "-")

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	client := &http.Client{Timeout: 5 * time.Second}
	answered := 0 // every 200 the proxy gave this test, polls included
	eventually(t, 20*time.Second, "the app serves", func() bool {
		resp, err := client.Get("http://" + listen + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			answered++
		}
		return resp.StatusCode == 200
	})
	for len(upstream) > 0 {
		<-upstream
	}
	const sent = 7
	for i := 0; i < sent; i++ {
		req, _ := http.NewRequest("GET", "http://"+listen+"/hello?token=secret-in-query", nil)
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		req.Header.Set("Cookie", "session=cookie-value")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		answered++
	}
	var got string
	for i := 0; i < sent; i++ {
		got = <-upstream
	}

	// The proxy's span is the caller's child and the instance's parent.
	var proxySpan *tracepb.Span
	eventually(t, 10*time.Second, "the proxy's span arrives over OTLP", func() bool {
		proxySpan = rc.find("proxy web", traceID)
		return proxySpan != nil
	})
	if fmt.Sprintf("%x", proxySpan.ParentSpanId) != "00f067aa0ba902b7" {
		t.Fatalf("proxy span's parent is %x, want the caller's span", proxySpan.ParentSpanId)
	}
	if !strings.HasPrefix(got, "00-"+traceID+"-") || strings.Contains(got, "00f067aa0ba902b7") {
		t.Fatalf("the instance got traceparent %q, want the proxy's span as parent", got)
	}

	// Metrics count exactly what was sent, under the revision's labels.
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `sluice_http_requests_total{app="web",code="200",method="GET",revision="1"}`
	var count string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, want) {
			count = strings.TrimSpace(strings.TrimPrefix(line, want))
		}
	}
	// The counter counts exactly the 200s this test received, and the
	// access log, written out in batches, soon has a line for each.
	var accessLines int
	eventually(t, 5*time.Second, "the access log has a line for each answer", func() bool {
		accessLines = 0
		sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != "access" {
				continue
			}
			if m["status"] == float64(200) {
				accessLines++
			}
			if m["app"] != "web" || m["revision"] != "1" || m["request_id"] == "" {
				t.Fatalf("access line %s", sc.Text())
			}
		}
		return accessLines >= answered
	})
	if count != fmt.Sprint(answered) || accessLines != answered {
		t.Fatalf("counter %q, access log lines %d, answers received %d", count, accessLines, answered)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `"trace_id":"`+traceID+`"`) {
		t.Fatal("no access line carries the trace ID")
	}
	for _, secret := range []string{"secret-in-query", "cookie-value", s.token} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains %q", secret)
		}
	}
}
