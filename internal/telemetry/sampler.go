package telemetry

import (
	"encoding/binary"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Sampler decides which traces are recorded, as the OpenTelemetry SDK's
// samplers named by OTEL_TRACES_SAMPLER decide: always_on, always_off,
// traceidratio, and their parentbased_ forms (the default is
// parentbased_always_on). It is a value with no interface call, for the
// proxy's request path; SDK returns the same sampler for the SDK's spans.
type Sampler struct {
	parentBased bool
	// bound is the trace ID ratio's upper bound as the SDK computes it:
	// a trace is sampled when the last 8 bytes of its ID, shifted right
	// by one, are below it. always samples, never drops.
	bound  uint64
	always bool
	never  bool
	ratio  float64 // for SDK
}

// SamplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// through getenv as the SDK reads them: an unknown sampler is the default,
// and a ratio that is missing, not a number, or outside [0, 1] is 1.
func SamplerFromEnv(getenv func(string) string) Sampler {
	arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
	switch strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))) {
	case "always_on":
		return Sampler{always: true}
	case "always_off":
		return Sampler{never: true}
	case "traceidratio":
		return RatioSampler(parseRatio(arg), false)
	case "parentbased_always_off":
		return Sampler{parentBased: true, never: true}
	case "parentbased_traceidratio":
		return RatioSampler(parseRatio(arg), true)
	}
	return Sampler{parentBased: true, always: true}
}

// parseRatio parses a sampler argument as the SDK does: 1 unless it is a
// number in [0, 1].
func parseRatio(arg string) float64 {
	v, err := strconv.ParseFloat(arg, 64)
	if err != nil || v < 0 || v > 1 {
		return 1
	}
	return v
}

// RatioSampler samples the fraction of trace IDs the SDK's
// TraceIDRatioBased sampler samples, of root spans only when parentBased
// (then a span follows its parent's decision).
func RatioSampler(fraction float64, parentBased bool) Sampler {
	s := Sampler{parentBased: parentBased, ratio: fraction}
	switch {
	case fraction >= 1:
		s.always = true
	case fraction <= 0:
		s.never = true
	default:
		s.bound = uint64(fraction * (1 << 63))
	}
	return s
}

// Sample reports whether a span of traceID is sampled. parentValid tells
// whether the span has a parent (the caller's traceparent), and
// parentSampled whether that parent was sampled.
func (s Sampler) Sample(traceID [16]byte, parentValid, parentSampled bool) bool {
	if s.parentBased && parentValid {
		return parentSampled
	}
	switch {
	case s.always:
		return true
	case s.never:
		return false
	}
	return binary.BigEndian.Uint64(traceID[8:16])>>1 < s.bound
}

// SDK returns the SDK's sampler that decides as s does.
func (s Sampler) SDK() sdktrace.Sampler {
	var root sdktrace.Sampler
	switch {
	case s.always && s.ratio == 0:
		root = sdktrace.AlwaysSample()
	case s.never && s.ratio == 0:
		root = sdktrace.NeverSample()
	default:
		root = sdktrace.TraceIDRatioBased(s.ratio)
	}
	if s.parentBased {
		return sdktrace.ParentBased(root)
	}
	return root
}
