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
// instance continues the trace. It returns the request to forward.
func (t *tracing) start(r *http.Request, app string) (*http.Request, trace.Span) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, "proxy "+app, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("server.address", r.Host),
			attribute.String("sluice.app", app),
		))
	t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	return r.WithContext(ctx), span
}

// end records where the request went and how it ended, and ends the span.
func endSpan(span trace.Span, rs *requestState, status int) {
	attrs := []attribute.KeyValue{
		attribute.String("sluice.revision", rs.rev.state.name),
		attribute.Int("http.response.status_code", status),
		attribute.Int("sluice.retries", rs.retries),
		attribute.String("sluice.request_id", rs.requestID),
	}
	if rs.inst != nil {
		attrs = append(attrs, attribute.String("sluice.instance", rs.inst.id), attribute.String("server.address", rs.inst.addr))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// traceIDOf returns the trace ID of the span in ctx, or "".
func traceIDOf(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}
