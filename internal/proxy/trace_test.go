package proxy

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"

	"sluice.dev/sluice/internal/telemetry"
	"sluice.dev/sluice/internal/telemetry/otlptest"
)

// newSpans returns proxy spans exported to a real OTLP/HTTP receiver,
// sampled as with no OTEL_TRACES_SAMPLER set, and shut down when the test
// ends.
func newSpans(t *testing.T) (*telemetry.ProxySpans, *otlptest.Receiver) {
	t.Helper()
	rc := otlptest.NewReceiver(t)
	spans, err := telemetry.NewProxySpans(context.Background(), rc.Client(), nil,
		telemetry.SamplerFromEnv(func(string) string { return "" }), telemetry.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = spans.Shutdown(context.Background()) })
	return spans, rc
}

// valueString returns an OTLP attribute value as the SDK's
// attribute.Value.String would.
func valueString(v *commonpb.AnyValue) string {
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	}
	return v.String()
}

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
	spans, rc := newSpans(t)
	var access []AccessRecord
	var accessMu sync.Mutex
	p := startProxy(t, Options{
		Spans: spans,
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
	if err := spans.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ended := rc.Spans()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	sp := ended[0]
	if sp.Name != "proxy web" || hex.EncodeToString(sp.TraceId) != traceID || hex.EncodeToString(sp.ParentSpanId) != callerSpan {
		t.Fatalf("span %q trace %x parent %x", sp.Name, sp.TraceId, sp.ParentSpanId)
	}
	attrs := map[string]string{}
	for _, kv := range sp.Attributes {
		attrs[kv.Key] = valueString(kv.Value)
	}
	for k, want := range map[string]string{"sluice.app": "web", "sluice.revision": "1", "sluice.instance": "i1", "http.response.status_code": "200", "sluice.retries": "0"} {
		if attrs[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	mu.Lock()
	want := "00-" + traceID + "-" + hex.EncodeToString(sp.SpanId) + "-01"
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

// TestUnsampledCallerIsPassedOnNotRecorded checks the parent-based
// default: a caller that did not sample gets no proxy span, but the
// instance still continues the trace (a new span ID, not sampled), with
// the caller's tracestate.
func TestUnsampledCallerIsPassedOnNotRecorded(t *testing.T) {
	got := make(chan http.Header, 1)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() })
	spans, rc := newSpans(t)
	p := startProxy(t, Options{Spans: spans}, mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1", Instances: []Instance{{ID: "i1", Addr: b.addr()}}}}))
	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	status, _, _ := do(t, newClient(t), p.url("web"), map[string]string{
		"traceparent": "00-" + traceID + "-" + callerSpan + "-00", "tracestate": "vendor=abc",
	})
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	h := <-got
	tp := h.Get("traceparent")
	if len(tp) != 55 || tp[:36] != "00-"+traceID+"-" || tp[36:52] == callerSpan || tp[52:] != "-00" {
		t.Errorf("instance got traceparent %q", tp)
	}
	if ts := h.Get("tracestate"); ts != "vendor=abc" {
		t.Errorf("instance got tracestate %q", ts)
	}
	if err := spans.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.Spans()); n != 0 {
		t.Fatalf("%d spans exported for an unsampled caller", n)
	}
}
