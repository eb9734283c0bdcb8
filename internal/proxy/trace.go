package proxy

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracing makes one span per proxied request. It is nil when
// Options.TracerProvider is, so that a proxy without tracing does no
// tracing work at all.
type tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	names  sync.Map // app name → span name, "proxy APP"
}

func newTracing(opts Options) *tracing {
	if opts.TracerProvider == nil {
		return nil
	}
	prop := opts.Propagator
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	return &tracing{tracer: opts.TracerProvider.Tracer("sluice.dev/sluice/internal/proxy"), prop: prop}
}

// serverSpan holds the options of every proxy span, built once so that
// starting a span allocates no option slice.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// start continues the caller's trace context, or starts a trace, and
// writes the new span's context into the request's headers so that the
// instance continues the trace. Attributes are set once, when the span
// ends. The span is kept in the request's state, not in its context:
// nothing on the proxy's path reads it from there, and the trace context
// is read and written on a context of its own, two levels deep, rather
// than on the request's, which net/http makes five levels deep and every
// lookup that misses walks to the end.
func (t *tracing) start(r *http.Request, app string) trace.Span {
	h := traceHeaders(r.Header)
	ctx := t.prop.Extract(context.Background(), h)
	ctx, span := t.tracer.Start(ctx, t.spanName(app), serverSpan...)
	t.prop.Inject(ctx, h)
	return span
}

// spanName returns "proxy APP", made once per app.
func (t *tracing) spanName(app string) string {
	if n, ok := t.names.Load(app); ok {
		return n.(string)
	}
	n, _ := t.names.LoadOrStore(app, "proxy "+app)
	return n.(string)
}

// spanAttrs is the most attributes a proxy span gets.
const spanAttrs = 9

// attrBuffers recycles the attribute arrays handed to SetAttributes: the
// span copies them, and an array passed through the trace.Span interface
// would otherwise be allocated for every request.
var attrBuffers = sync.Pool{New: func() any { return new([spanAttrs]attribute.KeyValue) }}

// endSpan records the request, where it went and how it ended, and ends
// the span. A span the sampler did not record gets no attributes, so
// unsampled requests do not pay for building them.
func endSpan(span trace.Span, rs *requestState, r *http.Request, status int) {
	if !span.IsRecording() {
		span.End()
		return
	}
	buf := attrBuffers.Get().(*[spanAttrs]attribute.KeyValue)
	kv := append(buf[:0],
		attribute.String("sluice.app", rs.app.name),
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("sluice.revision", rs.rev.state.name),
		attribute.Int("http.response.status_code", status),
		attribute.Int("sluice.retries", rs.retries),
		attribute.String("sluice.request_id", rs.requestID),
	)
	if rs.inst != nil {
		kv = append(kv, attribute.String("sluice.instance", rs.inst.id), attribute.String("server.address", rs.inst.addr))
	}
	span.SetAttributes(kv...)
	clear(buf[:])
	attrBuffers.Put(buf)
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// traceIDOf returns the span's trace ID in hex, or "" without a span. It
// makes one allocation, the string, where TraceID.String makes two.
func traceIDOf(span trace.Span) string {
	if span == nil {
		return ""
	}
	sc := span.SpanContext()
	if !sc.IsValid() {
		return ""
	}
	id := sc.TraceID()
	var b [2 * len(id)]byte
	hex.Encode(b[:], id[:])
	return string(b[:])
}

// traceHeaders carries trace context in request headers, like
// propagation.HeaderCarrier, without its cost per request: the W3C keys
// are canonicalised by a switch rather than by building a new string on
// every Get and Set, and a value is replaced in place.
type traceHeaders http.Header

// Get returns the first value of key.
func (h traceHeaders) Get(key string) string {
	if v := h[canonicalTraceKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key with value.
func (h traceHeaders) Set(key, value string) {
	k := canonicalTraceKey(key)
	if v := h[k]; len(v) == 1 {
		v[0] = value
		return
	}
	h[k] = []string{value}
}

// Keys lists the header names.
func (h traceHeaders) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

// canonicalTraceKey is textproto.CanonicalMIMEHeaderKey(key), without an
// allocation for the keys the W3C propagators use.
func canonicalTraceKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}
