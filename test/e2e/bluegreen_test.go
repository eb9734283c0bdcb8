package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// blueGreenApp is an App running examples/hello, blue-green. strategy is
// the blueGreen mapping's fields; extra goes under spec.
func blueGreenApp(t *testing.T, name, listen, strategy, extra string) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata:
  name: %s
spec:
  listen: %s
  version: v1
%s  runtime:
    process:
      command: [%q]
      replicas: 2
      stopGracePeriod: 3s
      env:
        - {name: VERSION, value: v1}
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
  strategy:
    blueGreen: {%s}
`, name, listen, extra, helloBinary(t), strategy)
}

func TestBlueGreenZeroDowntime(t *testing.T) {
	s := startServer(t, "")
	listen, preview := freePort(t), freePort(t)
	s.must(blueGreenApp(t, "shop", listen, "previewListen: "+preview+", autoPromote: false, scaleDownDelay: 1h", ""), "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))

	traffic := startLoad(t, listen, steadyLoad)
	var switches []switchPoint
	switchTo := func(version string, args ...string) {
		t.Helper()
		switches = append(switches, switchPoint{at: time.Now(), version: version})
		s.must("", args...)
	}

	// Deploy v2: it starts at full size and is previewed, not served.
	s.must("", "deploy", "shop", "--set-env", "VERSION=v2", "--version", "v2")
	st := s.waitStatus("shop", "revision 2 waits for promotion", 30*time.Second, waitingForPromotion(2))
	if st.PreviewAddress != preview || versionAt(preview) != "v2" {
		t.Fatalf("the candidate is not previewed: %+v", st)
	}
	if ready := st.Revisions[len(st.Revisions)-1]; ready.Revision != 2 || ready.Ready != 2 {
		t.Fatalf("the candidate is not at full size: %+v", st.Revisions)
	}
	time.Sleep(300 * time.Millisecond) // traffic meanwhile: all of it must still reach v1

	switchTo("v2", "rollout", "promote", "shop")
	s.waitStatus("shop", "revision 2 is promoted", 10*time.Second, stableAt(2))
	waitAnswer(t, traffic, "v2")

	switchTo("v1", "rollout", "undo", "shop")
	st = s.waitStatus("shop", "revision 1 serves again", 10*time.Second, stableAt(1))
	if st.Reason != apiv1.ReasonRolledBack {
		t.Fatalf("after undo: %+v", st)
	}
	waitAnswer(t, traffic, "v1")

	// Deploy again after the undo: revision 3 rolls out as usual.
	s.must("", "deploy", "shop", "--set-env", "VERSION=v3", "--version", "v3")
	s.waitStatus("shop", "revision 3 waits for promotion", 30*time.Second, waitingForPromotion(3))
	switchTo("v3", "rollout", "promote", "shop")
	s.waitStatus("shop", "revision 3 is promoted", 10*time.Second, stableAt(3))
	waitAnswer(t, traffic, "v3")
	time.Sleep(300 * time.Millisecond)

	samples := traffic.stop()
	if len(samples) < 1000 {
		t.Fatalf("only %d requests were made", len(samples))
	}
	checkClean(t, samples)
	checkOrder(t, samples, "v1", switches)
	t.Logf("%d requests, no failure, every answer from the revision routed at the time", len(samples))

	// The revision that was undone and replaced stops; 1 stays warm.
	st = s.waitStatus("shop", "revision 2 stops", 20*time.Second, func(st apiv1.AppStatus) bool {
		for _, rs := range st.Revisions {
			if rs.Revision == 2 {
				return false
			}
		}
		return true
	})
	if st.PreviousRevision != 1 || st.ScaleDownAt == nil {
		t.Fatalf("revision 1 is not warm: %+v", st)
	}
}

// waitAnswer waits until the load has seen an answer from version.
func waitAnswer(t *testing.T, l *load, version string) {
	t.Helper()
	eventually(t, 10*time.Second, "traffic reaches "+version, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i := len(l.samples) - 1; i >= 0 && i >= len(l.samples)-50; i-- {
			if l.samples[i].version == version {
				return true
			}
		}
		return false
	})
}

func TestBlueGreenStreamKeepsFlowingUntilDrained(t *testing.T) {
	s := startServer(t, "")
	listen := freePort(t)
	s.must(blueGreenApp(t, "feed", listen, "scaleDownDelay: 0s", ""), "apply", "-f", "-")
	s.waitStatus("feed", "revision 1 serves", 30*time.Second, stableAt(1))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+listen+"/events?interval=50ms", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type tick struct {
		at      time.Time
		version string
	}
	ticks := make(chan tick, 1000)
	streamErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v struct {
					Version string `json:"version"`
				}
				json.Unmarshal([]byte(data), &v)
				ticks <- tick{time.Now(), v.Version}
			}
		}
		streamErr <- sc.Err()
		close(ticks)
	}()
	if first := <-ticks; first.version != "v1" {
		t.Fatalf("the stream starts on %q", first.version)
	}

	// Revision 2 is promoted as soon as it is healthy; with scaleDownDelay
	// 0s revision 1 is drained at once, within its stop grace period (3s).
	s.must("", "deploy", "feed", "--set-env", "VERSION=v2", "--wait", "--timeout", "30s")
	promoted := time.Now()
	if got := versionAt(listen); got != "v2" {
		t.Fatalf("new requests reach %q after promotion", got)
	}
	var after int
	var last time.Time
	for tk := range ticks {
		if tk.version != "v1" {
			t.Fatalf("the stream switched to %q", tk.version)
		}
		if tk.at.After(promoted) {
			after++
			last = tk.at
		}
	}
	if err := <-streamErr; err != nil {
		t.Fatalf("the stream ended with an error: %v", err)
	}
	if after < 10 {
		t.Fatalf("only %d ticks flowed on the old revision after promotion", after)
	}
	if d := last.Sub(promoted); d > 6*time.Second {
		t.Fatalf("the stream outlived its drain by far: %s", d)
	}
	s.waitStatus("feed", "revision 1 is stopped", 20*time.Second, func(st apiv1.AppStatus) bool { return len(st.Revisions) == 1 })
}

func TestBlueGreenSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	listen, preview := freePort(t), freePort(t)
	s.must(blueGreenApp(t, "shop", listen, "previewListen: "+preview+", autoPromote: false, scaleDownDelay: 1h", ""), "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	s.must("", "deploy", "shop", "--set-env", "VERSION=v2", "--version", "v2")
	s.waitStatus("shop", "revision 2 waits for promotion", 30*time.Second, waitingForPromotion(2))

	s.stop(syscall.SIGKILL)
	eventually(t, 10*time.Second, "the app's instances die with sluice", func() bool {
		return versionAt(listen) == "" && versionAt(preview) == ""
	})

	s2 := startServer(t, dir)
	s2.waitStatus("shop", "the rollout resumes with both revisions whole", 30*time.Second, func(st apiv1.AppStatus) bool {
		whole := len(st.Revisions) == 2
		for _, rs := range st.Revisions {
			whole = whole && rs.Ready == 2
		}
		return waitingForPromotion(2)(st) && st.StableRevision == 1 && whole
	})
	eventually(t, 10*time.Second, "the app serves again", func() bool { return versionAt(listen) == "v1" && versionAt(preview) == "v2" })
	s2.must("", "rollout", "promote", "shop")
	s2.waitStatus("shop", "revision 2 is promoted", 10*time.Second, stableAt(2))
	if got := versionAt(listen); got != "v2" {
		t.Fatalf("after promotion the app answers %q", got)
	}

	// Nothing was lost or written twice.
	c := s2.client()
	revs, err := c.Revisions(context.Background(), "shop")
	if err != nil || len(revs) != 2 {
		t.Fatalf("revisions after kill -9: %d, %v", len(revs), err)
	}
	evs, err := c.Events(context.Background(), client.EventQuery{App: "shop", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		count[e.Reason]++
	}
	want := map[string]int{"Created": 1, "Updated": 1, "RevisionCreated": 2, apiv1.ReasonRolloutStarted: 2, "PromoteRequested": 1, apiv1.ReasonPromoted: 1}
	for reason, n := range want {
		if count[reason] != n {
			t.Errorf("%d %s events, want %d (all: %v)", count[reason], reason, n, count)
		}
	}
}

func TestDeployWaitExitCodes(t *testing.T) {
	s := startServer(t, "")
	listen := freePort(t)
	s.must(blueGreenApp(t, "api", listen, "", "  progressDeadline: 3s\n"), "apply", "-f", "-")
	s.waitStatus("api", "revision 1 serves", 30*time.Second, stableAt(1))
	traffic := startLoad(t, listen, loadSpec{keepAlive: 2, fresh: 2, interval: 20 * time.Millisecond, maxDuration: time.Minute})

	// A candidate that never gets healthy gets no production traffic and
	// fails the rollout with the reason.
	r := s.sluice("", "deploy", "api", "--set-env", "FAIL_HEALTH=true", "--set-env", "VERSION=v2", "--wait", "--timeout", "60s")
	if r.code != 3 || !strings.Contains(r.stderr, "ProgressDeadlineExceeded") || !strings.Contains(r.stderr, "GET /health: 503") {
		t.Fatalf("deploy of a failing candidate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	st := s.waitStatus("api", "the candidate is stopped", 20*time.Second, func(st apiv1.AppStatus) bool { return len(st.Revisions) == 1 })
	if st.Phase != apiv1.PhaseFailed || st.StableRevision != 1 || st.RejectedRevision != 2 {
		t.Fatalf("after the failure: %+v", st)
	}
	samples := traffic.stop()
	checkClean(t, samples)
	for _, smp := range samples {
		if smp.version != "v1" {
			t.Fatalf("production traffic reached %q", smp.version)
		}
	}
	evs, _ := s.client().Events(context.Background(), client.EventQuery{App: "api", Limit: 1000})
	warned := false
	for _, e := range evs {
		warned = warned || (e.Type == "Warning" && e.Reason == apiv1.ReasonProgressDeadline && strings.Contains(e.Message, "GET /health: 503"))
	}
	if !warned {
		t.Fatal("no ProgressDeadlineExceeded warning event with the check's result")
	}

	// A good revision: exit 0 once promoted.
	r = s.sluice("", "deploy", "api", "--set-env", "VERSION=v3", "--set-env", "FAIL_HEALTH=false", "--wait", "--timeout", "60s")
	if r.code != 0 || !strings.Contains(r.stdout, "revision 3 is promoted") {
		t.Fatalf("deploy of a good revision: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := versionAt(listen); got != "v3" {
		t.Fatalf("after the deploy the app answers %q", got)
	}

	// Waiting for a promotion that nobody gives: exit 4 at the timeout.
	s.must(blueGreenApp(t, "manual", freePort(t), "autoPromote: false", ""), "apply", "-f", "-")
	s.waitStatus("manual", "revision 1 serves", 30*time.Second, stableAt(1))
	r = s.sluice("", "deploy", "manual", "--set-env", "VERSION=v2", "--wait", "--timeout", "2s")
	if r.code != 4 || !strings.Contains(r.stderr, "timed out") {
		t.Fatalf("deploy --timeout: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// An abort ends a wait with exit 3.
	aborted := make(chan error, 1)
	go func() {
		if _, err := s.client().AppStatus(context.Background(), "manual"); err != nil {
			aborted <- err
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if st, err := s.client().AppStatus(context.Background(), "manual"); err == nil && waitingForPromotion(3)(st) {
				_, err := s.client().Rollout(context.Background(), "manual", apiv1.ActionAbort)
				aborted <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		aborted <- fmt.Errorf("revision 3 never waited for promotion")
	}()
	r = s.sluice("", "deploy", "manual", "--set-env", "VERSION=v3", "--wait", "--timeout", "60s")
	if err := <-aborted; err != nil {
		t.Fatal(err)
	}
	if r.code != 3 || !strings.Contains(r.stderr, "aborted by admin") {
		t.Fatalf("deploy --wait of an aborted rollout: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestBlueGreenUndoAfterScaleDown(t *testing.T) {
	s := startServer(t, "")
	listen := freePort(t)
	s.must(blueGreenApp(t, "cart", listen, "scaleDownDelay: 1s", ""), "apply", "-f", "-")
	s.waitStatus("cart", "revision 1 serves", 30*time.Second, stableAt(1))
	s.must("", "deploy", "cart", "--set-env", "VERSION=v2", "--wait", "--timeout", "30s")
	s.waitStatus("cart", "revision 1 is stopped", 20*time.Second, func(st apiv1.AppStatus) bool {
		return st.ScaleDownAt == nil && len(st.Revisions) == 1 && st.PreviousRevision == 1
	})

	// Undo now starts revision 1 first and switches once it is healthy.
	traffic := startLoad(t, listen, steadyLoad)
	waitAnswer(t, traffic, "v2")
	undone := time.Now()
	s.must("", "rollout", "undo", "cart")
	st := s.waitStatus("cart", "revision 1 serves again", 30*time.Second, stableAt(1))
	if st.PreviousRevision != 2 || st.RejectedRevision != 2 {
		t.Fatalf("after undo: %+v", st)
	}
	waitAnswer(t, traffic, "v1")
	time.Sleep(200 * time.Millisecond)
	samples := traffic.stop()
	checkClean(t, samples)
	checkOrder(t, samples, "v2", []switchPoint{{at: undone, version: "v1"}})
}
