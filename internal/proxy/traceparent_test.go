package proxy

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceparentParsedAsTheSDK compares parseTraceparent with the SDK's
// W3C propagator on valid, odd and broken headers.
func TestTraceparentParsedAsTheSDK(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, h := range []string{
		"00-" + tid + "-" + sid + "-01",
		"00-" + tid + "-" + sid + "-00",
		"00-" + tid + "-" + sid + "-02",
		"00-" + tid + "-" + sid + "-03",
		"00-" + tid + "-" + sid + "-04",
		"00-" + tid + "-" + sid + "-01-",
		"00-" + tid + "-" + sid + "-01-extra",
		"01-" + tid + "-" + sid + "-01-extra",
		"01-" + tid + "-" + sid + "-ff",
		"fe-" + tid + "-" + sid + "-01",
		"ff-" + tid + "-" + sid + "-01",
		"00-" + "4BF92F3577B34DA6A3CE929D0E0E4736" + "-" + sid + "-01",
		"00-00000000000000000000000000000000-" + sid + "-01",
		"00-" + tid + "-0000000000000000-01",
		"00-" + tid[:31] + "-" + sid + "-01",
		"00-" + tid + "x-" + sid + "-01",
		"00-" + tid + "-" + sid + "-1",
		"00-" + tid + "-" + sid + "-001",
		"0-" + tid + "-" + sid + "-01",
		"00_" + tid + "-" + sid + "-01",
		"00-" + tid + "-" + sid,
		"00-" + tid + "--" + sid + "-01",
		"",
		"-",
		"00-" + tid + "-" + sid + "-0g",
	} {
		hdr := http.Header{"Traceparent": {h}}
		want := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(hdr)))
		traceID, spanID, flags, ok := parseTraceparent(h)
		if ok != want.IsValid() {
			t.Errorf("%q: valid %v, the SDK %v", h, ok, want.IsValid())
			continue
		}
		if ok && (traceID != want.TraceID() || spanID != want.SpanID() || flags != byte(want.TraceFlags())) {
			t.Errorf("%q: %x %x %02x, the SDK %s %s %s", h, traceID, spanID, flags, want.TraceID(), want.SpanID(), want.TraceFlags())
		}
	}
}

// TestTraceparentFormattedAsTheSDK writes a span's traceparent and reads
// it back with the SDK's propagator.
func TestTraceparentFormattedAsTheSDK(t *testing.T) {
	sc := spanContext{traceID: newTraceID(), spanID: newSpanID(), flags: 3}
	h := formatTraceparent(&sc)
	got := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(http.Header{"Traceparent": {h}})))
	if got.TraceID() != sc.traceID || got.SpanID() != sc.spanID || byte(got.TraceFlags()) != 3 {
		t.Fatalf("%q read back as %s %s %s", h, got.TraceID(), got.SpanID(), got.TraceFlags())
	}
	want := trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc.traceID, SpanID: sc.spanID, TraceFlags: 3})
	carrier := propagation.HeaderCarrier(http.Header{})
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), want), carrier)
	if carrier.Get("traceparent") != h {
		t.Fatalf("wrote %q, the SDK %q", h, carrier.Get("traceparent"))
	}
	if traceIDOf(&spanContext{traceparent: h}) != sc.traceIDHex() {
		t.Fatalf("trace ID of %q: %q", h, traceIDOf(&spanContext{traceparent: h}))
	}
}

func (sc *spanContext) traceIDHex() string { return trace.TraceID(sc.traceID).String() }
