package proxy

import (
	"net/http"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestProxiedRequestsAreTraced checks the parent/child structure: the
// proxy's span is a child of the caller's, and the instance receives the
// proxy's span as its parent.
func TestProxiedRequestsAreTraced(t *testing.T) {
	var mu sync.Mutex
	var upstreamParent string
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamParent = r.Header.Get("traceparent")
		mu.Unlock()
	})
	spans := tracetest.NewSpanRecorder()
	var access []AccessRecord
	var accessMu sync.Mutex
	p := startProxy(t, Options{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		AccessLog: func(r AccessRecord) {
			accessMu.Lock()
			access = append(access, r)
			accessMu.Unlock()
		},
	}, mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1", Instances: []Instance{{ID: "i1", Addr: b.addr()}}}}))

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "00f067aa0ba902b7"
	status, _, _ := do(t, newClient(t), p.url("web"), map[string]string{"traceparent": "00-" + traceID + "-" + callerSpan + "-01"})
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	sp := ended[0]
	if sp.Name() != "proxy web" || sp.SpanContext().TraceID().String() != traceID || sp.Parent().SpanID().String() != callerSpan {
		t.Fatalf("span %q trace %s parent %s", sp.Name(), sp.SpanContext().TraceID(), sp.Parent().SpanID())
	}
	attrs := map[string]string{}
	for _, kv := range sp.Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	for k, want := range map[string]string{"sluice.app": "web", "sluice.revision": "1", "sluice.instance": "i1", "http.response.status_code": "200", "sluice.retries": "0"} {
		if attrs[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	mu.Lock()
	want := "00-" + traceID + "-" + sp.SpanContext().SpanID().String() + "-01"
	if upstreamParent != want {
		t.Errorf("instance got traceparent %q, want %q", upstreamParent, want)
	}
	mu.Unlock()
	accessMu.Lock()
	defer accessMu.Unlock()
	if len(access) != 1 || access[0].TraceID != traceID || access[0].Instance != "i1" {
		t.Fatalf("access log %+v", access)
	}
}

func TestNoTracingWithoutAProvider(t *testing.T) {
	got := make(chan string, 1)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("traceparent") })
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1", Instances: []Instance{{ID: "i1", Addr: b.addr()}}}}))
	if status, _, _ := do(t, newClient(t), p.url("web"), nil); status != 200 {
		t.Fatalf("status %d", status)
	}
	if tp := <-got; tp != "" {
		t.Fatalf("a proxy without tracing sent traceparent %q", tp)
	}
}
