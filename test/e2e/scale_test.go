package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// scaledApp is an App running examples/hello at the given replicas. Every
// request takes 300ms, and the app gives requests in flight only 10ms
// after SIGTERM: an instance signalled before it drained would cut them.
func scaledApp(t *testing.T, name, listen string, replicas int) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata:
  name: %s
spec:
  listen: %s
  version: v1
  runtime:
    process:
      command: [%q]
      replicas: %d
      stopGracePeriod: 3s
      env:
        - {name: VERSION, value: v1}
        - {name: LATENCY, value: 300ms}
        - {name: SHUTDOWN_TIMEOUT, value: 10ms}
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
`, name, listen, helloBinary(t), replicas)
}

// servesWith holds when the stable revision runs exactly n instances, all
// of them healthy (none left draining).
func servesWith(n int) func(apiv1.AppStatus) bool {
	return func(st apiv1.AppStatus) bool {
		return stableAt(1)(st) && len(st.Revisions) == 1 && st.Revisions[0].Replicas == n &&
			st.Revisions[0].Ready == n && len(st.Revisions[0].Instances) == n
	}
}

// scaledTo holds once the controller has planned n replicas.
func scaledTo(n int) func(apiv1.AppStatus) bool {
	return func(st apiv1.AppStatus) bool { return len(st.Revisions) == 1 && st.Revisions[0].Replicas == n }
}

func TestScaleDownAndUpUnderLoadFailsNoRequest(t *testing.T) {
	s := startServer(t, "")
	listen := freePort(t)
	s.must(scaledApp(t, "shop", listen, 3), "apply", "-f", "-")
	s.waitStatus("shop", "three instances serve", 30*time.Second, servesWith(3))

	load := steadyLoad
	load.method = http.MethodPost // not replayed: a cut request fails
	traffic := startLoad(t, listen, load)
	waitAnswer(t, traffic, "v1")

	s.must(scaledApp(t, "shop", listen, 1), "apply", "-f", "-")
	s.waitStatus("shop", "one instance serves", 30*time.Second, servesWith(1))
	s.must(scaledApp(t, "shop", listen, 3), "apply", "-f", "-")
	s.waitStatus("shop", "three instances serve again", 30*time.Second, servesWith(3))

	// Scale down and at once up again: new instances start while the
	// victims may still drain.
	s.must(scaledApp(t, "shop", listen, 1), "apply", "-f", "-")
	s.waitStatus("shop", "the scale-down is planned", 30*time.Second, scaledTo(1))
	s.must(scaledApp(t, "shop", listen, 3), "apply", "-f", "-")
	s.waitStatus("shop", "three instances serve after the bounce", 30*time.Second, servesWith(3))
	waitRequests(t, traffic, 30) // traffic over the new instances too

	samples := traffic.stop()
	checkClean(t, samples)
	if len(samples) < 150 {
		t.Fatalf("only %d requests were made", len(samples))
	}
	t.Logf("%d requests while scaling 3 → 1 → 3 → 1 → 3, no failure", len(samples))
}

// waitRequests waits until the load has made n more requests.
func waitRequests(t *testing.T, l *load, n int) {
	t.Helper()
	count := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.samples)
	}
	want := count() + n
	eventually(t, 10*time.Second, fmt.Sprintf("%d more requests", n), func() bool { return count() >= want })
}
