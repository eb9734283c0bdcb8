package rollout

import (
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestRolloutStepsAreTraced: passes that move a rollout make spans named
// for the app, carrying the events they recorded; idle passes make none.
func TestRolloutStepsAreTraced(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	e := startEnv(t, "", func(_ *env, o *Options) {
		o.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	})
	e.apply(helloApp("web", freeAddr(t), "", "VERSION", "v1"))
	e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))
	ended := spans.Ended()
	if len(ended) == 0 {
		t.Fatal("no rollout span")
	}
	seen := map[string]bool{}
	for _, sp := range ended {
		if sp.Name() != "rollout web" {
			t.Fatalf("span %q", sp.Name())
		}
		for _, kv := range sp.Attributes() {
			if kv.Key == "sluice.events" {
				seen[kv.Value.AsString()] = true
			}
			if kv.Key == "sluice.events" && kv.Value.AsString() == "" {
				t.Fatal("a span for a pass that recorded no event")
			}
		}
	}
	if len(seen) == 0 {
		t.Fatalf("spans carry no events: %v", ended)
	}
	// Once stable, resync passes change nothing and make no spans.
	n := len(spans.Ended())
	time.Sleep(2500 * time.Millisecond) // two resync periods: nothing to poll for
	if m := len(spans.Ended()); m != n {
		t.Fatalf("idle passes made %d spans", m-n)
	}
}
