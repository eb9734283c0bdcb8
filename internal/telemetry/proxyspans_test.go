package telemetry

import (
	"context"
	"encoding/hex"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"sluice.dev/sluice/internal/telemetry/otlptest"
)

var testStart = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// testSpan is a proxy span of a request with a caller's trace context.
func testSpan(i int) ProxySpan {
	s := ProxySpan{
		TraceID: [16]byte{0x4b, 0xf9, byte(i)}, SpanID: [8]byte{0x11, byte(i)}, ParentSpanID: [8]byte{0x22, byte(i)},
		Flags: 1, TraceState: "vendor=x", Name: "proxy web",
		Start: testStart, End: testStart.Add(1500 * time.Microsecond),
		App: "web", Method: "GET", Path: "/hello", Revision: "2", Status: 503, Retries: 1,
		RequestID: "req-1", Instance: "web-2-0", Address: "127.0.0.1:8081",
	}
	return s
}

func newTestSpans(t *testing.T, client otlptrace.Client, res *resource.Resource, o BatchOptions) *ProxySpans {
	t.Helper()
	p, err := NewProxySpans(context.Background(), client, res, RatioSampler(1, true), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// withoutIDs returns s with the IDs the SDK chose itself cleared, and the
// attributes in key order.
func withoutIDs(s *tracepb.Span) *tracepb.Span {
	s = proto.Clone(s).(*tracepb.Span)
	s.SpanId = nil
	sort.Slice(s.Attributes, func(i, j int) bool { return s.Attributes[i].Key < s.Attributes[j].Key })
	return s
}

// TestProxySpansExportAsTheSDK exports the same request's span through
// ProxySpans and through the SDK with its OTLP exporter, each to a real
// OTLP/HTTP receiver, and compares what arrived: resource, scope, and the
// span but for the span ID the SDK chose.
func TestProxySpansExportAsTheSDK(t *testing.T) {
	res := resource.NewSchemaless(attribute.String("service.name", "sluice"), attribute.String("service.version", "1.2.3"))
	lean, viaSDK := otlptest.NewReceiver(t), otlptest.NewReceiver(t)

	p := newTestSpans(t, lean.Client(), res, BatchOptions{})
	root := testSpan(2)
	root.ParentSpanID, root.TraceState, root.Status, root.Instance, root.Address = [8]byte{}, "", 200, "", ""
	for _, s := range []ProxySpan{testSpan(1), root} {
		p.End(&s)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	exp, err := otlptrace.New(context.Background(), viaSDK.Client())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer(ProxyScope)
	for _, s := range []ProxySpan{testSpan(1), root} {
		ctx := context.Background()
		if s.ParentSpanID != ([8]byte{}) {
			ts, _ := trace.ParseTraceState(s.TraceState)
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: s.TraceID, SpanID: s.ParentSpanID, TraceFlags: trace.TraceFlags(s.Flags), TraceState: ts, Remote: true,
			}))
		} else {
			// A root span: the SDK makes its own trace ID, compared apart.
			ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
		}
		_, span := tracer.Start(ctx, s.Name, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(s.Start))
		kv := []attribute.KeyValue{
			attribute.String("sluice.app", s.App), attribute.String("http.request.method", s.Method),
			attribute.String("url.path", s.Path), attribute.String("sluice.revision", s.Revision),
			attribute.Int("http.response.status_code", s.Status), attribute.Int("sluice.retries", s.Retries),
			attribute.String("sluice.request_id", s.RequestID),
		}
		if s.Instance != "" {
			kv = append(kv, attribute.String("sluice.instance", s.Instance), attribute.String("server.address", s.Address))
		}
		span.SetAttributes(kv...)
		if s.Status >= 500 {
			span.SetStatus(codes.Error, "503")
		}
		span.End(trace.WithTimestamp(s.End))
	}

	got, want := lean.Requests(), viaSDK.Requests()
	if len(got) != 1 || len(want) != 2 {
		t.Fatalf("%d export requests through ProxySpans (want 1), %d through the SDK (want 2)", len(got), len(want))
	}
	g := got[0].ResourceSpans[0]
	for i, w := range []*tracepb.ResourceSpans{want[0].ResourceSpans[0], want[1].ResourceSpans[0]} {
		if !proto.Equal(g.Resource, w.Resource) || g.SchemaUrl != w.SchemaUrl {
			t.Errorf("resource %v %q, the SDK's %v %q", g.Resource, g.SchemaUrl, w.Resource, w.SchemaUrl)
		}
		gs, ws := g.ScopeSpans[0], w.ScopeSpans[0]
		if !proto.Equal(gs.Scope, ws.Scope) || gs.SchemaUrl != ws.SchemaUrl {
			t.Errorf("scope %v, the SDK's %v", gs.Scope, ws.Scope)
		}
		gotSpan, wantSpan := withoutIDs(gs.Spans[i]), withoutIDs(ws.Spans[0])
		if i == 1 { // root: each made its own trace ID
			if len(wantSpan.TraceId) != 16 || len(wantSpan.ParentSpanId) != 0 {
				t.Errorf("the SDK's root span: trace %x parent %x", wantSpan.TraceId, wantSpan.ParentSpanId)
			}
			wantSpan.TraceId = gotSpan.TraceId
		}
		if !proto.Equal(gotSpan, wantSpan) {
			t.Errorf("span %d:\n got  %v\n want %v", i, gotSpan, wantSpan)
		}
	}
	if s := g.ScopeSpans[0].Spans[0]; hex.EncodeToString(s.SpanId) != "1101000000000000" {
		t.Errorf("span ID %x", s.SpanId)
	}
}

// TestProxySpansDropWhenTheQueueIsFull holds the receiver while a batch is
// being exported, fills the queue behind it, and counts what overflows.
func TestProxySpansDropWhenTheQueueIsFull(t *testing.T) {
	rc := otlptest.NewReceiver(t)
	release := rc.Hold()
	defer release()
	p := newTestSpans(t, rc.Client(), nil, BatchOptions{MaxQueue: 4, MaxBatch: 4, Delay: time.Hour})
	s := testSpan(1)
	for range 4 { // a full batch: the goroutine takes it, and waits on the receiver
		p.End(&s)
	}
	eventually(t, 10*time.Second, "the first batch reached the receiver", func() bool { return rc.Arrived() == 1 })
	for range 4 + 3 {
		p.End(&s)
	}
	if n := p.Dropped(); n != 3 {
		t.Fatalf("dropped %d spans, want 3", n)
	}
	release()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.Spans()); n != 8 {
		t.Fatalf("%d spans exported, want 8", n)
	}
}

// TestProxySpansShutdownFlushes ends spans that would wait an hour and
// shuts down: they are exported, and a span ended after is not.
func TestProxySpansShutdownFlushes(t *testing.T) {
	rc := otlptest.NewReceiver(t)
	p, err := NewProxySpans(context.Background(), rc.Client(), nil, RatioSampler(1, true), BatchOptions{Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s := testSpan(i)
		p.End(&s)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := testSpan(9)
	p.End(&s)
	spans := rc.Spans()
	if len(spans) != 3 {
		t.Fatalf("%d spans exported at shutdown, want 3", len(spans))
	}
	for i, sp := range spans {
		if sp.SpanId[1] != byte(i) || sp.Name != "proxy web" {
			t.Errorf("span %d: %v", i, sp)
		}
	}
	if p.Dropped() != 0 {
		t.Errorf("a span ended after shutdown was counted as dropped")
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Errorf("flush after shutdown: %v", err)
	}
}

// BenchmarkProxySpansEnd measures queueing one span, with the export of
// every full batch to a client that drops it.
func BenchmarkProxySpansEnd(b *testing.B) {
	p, err := NewProxySpans(context.Background(), otlptest.Discard{}, nil, RatioSampler(1, true), BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	s := testSpan(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.End(&s)
		}
	})
}
