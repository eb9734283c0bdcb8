package proxy

import (
	"context"
	"net/http"
	"strconv"

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

// start continues the caller's trace context, or starts a trace, and
// writes the new span's context into the request's headers so that the
// instance continues the trace. It returns the context to serve the
// request with; attributes are set once, when the span ends.
func (t *tracing) start(r *http.Request, app string) (context.Context, trace.Span) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, "proxy "+app, trace.WithSpanKind(trace.SpanKindServer))
	t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	return ctx, span
}

// end records the request, where it went and how it ended, and ends the
// span.
func endSpan(span trace.Span, rs *requestState, r *http.Request, status int) {
	var attrs [10]attribute.KeyValue
	kv := append(attrs[:0],
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
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// traceIDOf returns the span's trace ID, or "" without a span.
func traceIDOf(span trace.Span) string {
	if span == nil {
		return ""
	}
	if sc := span.SpanContext(); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}
