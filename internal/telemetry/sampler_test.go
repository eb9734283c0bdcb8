package telemetry

import (
	"context"
	"math/rand/v2"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sdkSamples asks the SDK's sampler for the decision on a span of traceID
// with the given remote parent (none when !parentValid).
func sdkSamples(s sdktrace.Sampler, traceID [16]byte, parentValid, parentSampled bool) bool {
	ctx := context.Background()
	if parentValid {
		var flags trace.TraceFlags
		if parentSampled {
			flags = trace.FlagsSampled
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: traceID, SpanID: trace.SpanID{1}, TraceFlags: flags, Remote: true,
		}))
	}
	return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: traceID, Name: "proxy web", Kind: trace.SpanKindServer}).Decision == sdktrace.RecordAndSample
}

// TestSamplerDecidesAsTheSDK compares every standard sampler, read from
// the environment, with the SDK's sampler of the same configuration, on
// random trace IDs with a sampled parent, an unsampled one and none.
func TestSamplerDecidesAsTheSDK(t *testing.T) {
	cases := []struct {
		sampler, arg string
		sdk          sdktrace.Sampler
	}{
		{"", "", sdktrace.ParentBased(sdktrace.AlwaysSample())},
		{"no_such_sampler", "", sdktrace.ParentBased(sdktrace.AlwaysSample())},
		{"always_on", "", sdktrace.AlwaysSample()},
		{"always_off", "", sdktrace.NeverSample()},
		{"traceidratio", "0.25", sdktrace.TraceIDRatioBased(0.25)},
		{"traceidratio", "", sdktrace.TraceIDRatioBased(1)},
		{"traceidratio", "1.5", sdktrace.TraceIDRatioBased(1)},
		{"traceidratio", "nonsense", sdktrace.TraceIDRatioBased(1)},
		{"traceidratio", "0", sdktrace.TraceIDRatioBased(0)},
		{"parentbased_always_on", "", sdktrace.ParentBased(sdktrace.AlwaysSample())},
		{"parentbased_always_off", "", sdktrace.ParentBased(sdktrace.NeverSample())},
		{"ParentBased_TraceIdRatio", " 0.1 ", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))},
		{"parentbased_traceidratio", "-1", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(1))},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		env := map[string]string{"OTEL_TRACES_SAMPLER": tc.sampler, "OTEL_TRACES_SAMPLER_ARG": tc.arg}
		s := SamplerFromEnv(func(k string) string { return env[k] })
		for _, sdk := range []sdktrace.Sampler{tc.sdk, s.SDK()} {
			sampled := 0
			for range 2000 {
				var id [16]byte
				for i := range id {
					id[i] = byte(rng.Uint32())
				}
				for _, parent := range []struct{ valid, sampled bool }{{false, false}, {true, true}, {true, false}} {
					got := s.Sample(id, parent.valid, parent.sampled)
					if want := sdkSamples(sdk, id, parent.valid, parent.sampled); got != want {
						t.Fatalf("%s(%q) with %s, trace %x, parent valid %v sampled %v: sampled %v, the SDK %v",
							tc.sampler, tc.arg, sdk.Description(), id, parent.valid, parent.sampled, got, want)
					}
					if !parent.valid && got {
						sampled++
					}
				}
			}
			t.Logf("%s(%q): %d of 2000 root spans sampled", tc.sampler, tc.arg, sampled)
		}
	}
}

// TestRatioSamplerSamplesTheRatio checks the fraction itself, and that a
// parent's decision wins over the ratio when parent-based.
func TestRatioSamplerSamplesTheRatio(t *testing.T) {
	s := RatioSampler(0.1, true)
	n := 0
	for range 100000 {
		var id [16]byte
		for i := range id {
			id[i] = byte(rand.Uint32())
		}
		if s.Sample(id, false, false) {
			n++
		}
		if !s.Sample(id, true, true) || s.Sample(id, true, false) {
			t.Fatal("a parent's decision was not followed")
		}
	}
	if n < 9000 || n > 11000 {
		t.Fatalf("%d of 100000 sampled at 0.1", n)
	}
}
