package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"sluice.dev/sluice/pkg/apiv1"
)

// Tracing is sluice's tracer provider and propagator, passed to every part
// that makes spans.
type Tracing struct {
	// Provider makes tracers; a no-op provider when tracing is off.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C trace context and baggage.
	Propagator propagation.TextMapPropagator
	// Enabled is true when spans are exported.
	Enabled bool
	// Proxy records the spans of proxied requests without the SDK; nil
	// when tracing is off.
	Proxy *ProxySpans

	shutdown func(context.Context) error
}

// Active returns the provider when tracing is on and nil when it is off,
// for parts that skip tracing entirely without one.
func (t *Tracing) Active() trace.TracerProvider {
	if !t.Enabled {
		return nil
	}
	return t.Provider
}

// Shutdown flushes and stops the exporters.
func (t *Tracing) Shutdown(ctx context.Context) error {
	var err error
	if t.Proxy != nil {
		err = t.Proxy.Shutdown(ctx)
	}
	if t.shutdown != nil {
		err = errors.Join(err, t.shutdown(ctx))
	}
	return err
}

// NewTracing configures tracing from the standard OTEL_* variables read
// through getenv. With neither OTEL_EXPORTER_OTLP_ENDPOINT nor
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set (or OTEL_SDK_DISABLED=true),
// tracing is off and nearly free. OTEL_EXPORTER_OTLP_PROTOCOL (or its
// _TRACES_ form) chooses `http/protobuf` (the default) or `grpc`;
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are honoured by the SDK
// itself, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG are read through
// getenv (SamplerFromEnv) for the SDK's spans and the proxy's alike, and
// the OTEL_BSP_* variables by the Batcher that exports the SDK's spans and
// by ProxySpans. Proxied requests' spans go through ProxySpans, with an
// OTLP client of their own configured from the same OTEL_EXPORTER_OTLP_*
// variables as the SDK's exporter.
func NewTracing(ctx context.Context, getenv func(string) string, build apiv1.VersionInfo) (*Tracing, error) {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	off := &Tracing{Provider: noop.NewTracerProvider(), Propagator: prop}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return off, nil
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return off, nil
	}
	protocol := first(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	var exp sdktrace.SpanExporter
	var proxyClient otlptrace.Client
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
		proxyClient = otlptracehttp.NewClient()
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
		proxyClient = otlptracegrpc.NewClient()
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: use http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceVersion(build.Version)))
	if err != nil && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	if getenv("OTEL_SERVICE_NAME") == "" && !strings.Contains(getenv("OTEL_RESOURCE_ATTRIBUTES"), "service.name=") {
		res, _ = resource.Merge(res, resource.NewSchemaless(semconv.ServiceName("sluice")))
	}
	sampler := SamplerFromEnv(getenv)
	batch := batchOptionsFromEnv(getenv)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(NewBatcher(exp, batch)), sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler.SDK()))
	proxySpans, err := NewProxySpans(ctx, proxyClient, res, sampler, batch)
	if err != nil {
		_ = tp.Shutdown(ctx)
		return nil, fmt.Errorf("OTLP trace client: %w", err)
	}
	return &Tracing{Provider: tp, Propagator: prop, Enabled: true, Proxy: proxySpans, shutdown: tp.Shutdown}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
