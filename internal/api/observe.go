package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// apiMetrics are the API's own Prometheus series. Routes are the mux's
// patterns, so the label set is bounded.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAPIMetrics(reg prometheus.Registerer) *apiMetrics {
	if reg == nil {
		return nil
	}
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_requests_total",
			Help: "API requests answered, by route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "sluice_api_request_duration_seconds",
			Help:                        "Time to answer API requests (event streams excluded).",
			Buckets:                     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// requestAttrs are the log attributes that tie a line to its request.
func requestAttrs(r *http.Request) []any {
	attrs := []any{"request_id", requestID(r)}
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
	}
	return attrs
}

// tracing returns the configured tracer and propagator; the tracer is nil
// when tracing is off, so that requests skip it entirely.
func (a *API) tracing() (trace.Tracer, propagation.TextMapPropagator) {
	tp, prop := a.opts.TracerProvider, a.opts.Propagator
	if tp == nil {
		return nil, nil
	}
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	return tp.Tracer("sluice.dev/sluice/internal/api"), prop
}

// observe traces, logs and counts every request. It continues a caller's
// W3C trace context.
func (a *API) observe(next http.Handler) http.Handler {
	tracer, prop := a.tracing()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var span trace.Span
		if tracer != nil {
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span = tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
					attribute.String("sluice.request_id", requestID(r))))
			defer span.End()
			r = r.WithContext(ctx)
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)

		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if span != nil {
			span.SetName(route)
			span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
		}
		elapsed := time.Since(start)
		if m := a.metrics; m != nil {
			m.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
			if r.Header.Get("Accept") != "text/event-stream" && r.URL.Query().Get("watch") != "true" {
				m.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
			}
		}
		if r.URL.Path == "/livez" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		// Flag evaluations are the hot path of SDKs polling; a line for each
		// at info level would cost more than the evaluation itself.
		level := slog.LevelInfo
		if strings.HasPrefix(r.URL.Path, "/ofrep/") && status < 400 {
			level = slog.LevelDebug
		}
		a.log.Log(r.Context(), level, "request", append(requestAttrs(r), "method", r.Method, "path", r.URL.Path,
			"route", route, "status", status, "duration_ms", float64(elapsed.Microseconds())/1000)...)
	})
}
