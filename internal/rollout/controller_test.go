package rollout

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

const manualBlueGreen = "  strategy:\n    blueGreen: {previewListen: %s, autoPromote: false, scaleDownDelay: 1h}\n"

func isStable(rev int) func(apiv1.AppStatus) bool {
	return func(st apiv1.AppStatus) bool {
		return st.StableRevision == rev && st.CandidateRevision == 0 && st.Phase == apiv1.PhaseHealthy
	}
}

func TestControllerFirstRevisionServes(t *testing.T) {
	e := startEnv(t, "")
	listen := freeAddr(t)
	e.apply(helloApp("web", listen, "", "VERSION", "v1"))
	st := e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))
	// The status is stored before the route table is applied: poll.
	eventually(t, 10*time.Second, "the listener answers v1", func() bool { return version(listen) == "v1" })
	if len(st.Revisions) != 1 || st.Revisions[0].Ready != 1 || st.Revisions[0].Instances[0].Health != "Healthy" {
		t.Fatalf("revisions %+v", st.Revisions)
	}
	if st.Strategy != StrategyCanary {
		t.Fatalf("strategy %q", st.Strategy)
	}
	// Scaling makes no revision; the controller runs more instances.
	e.apply(strings.Replace(helloApp("web", listen, "", "VERSION", "v1"), "stopGracePeriod: 2s", "stopGracePeriod: 2s\n      replicas: 2", 1))
	e.waitStatus("web", "two healthy instances", 20*time.Second, func(st apiv1.AppStatus) bool {
		return len(st.Revisions) == 1 && st.Revisions[0].Ready == 2 && st.Phase == apiv1.PhaseHealthy
	})
	// Deleting the app stops its instances and its listener.
	if err := e.res.Delete(context.Background(), spec.KindApp, "web", "tester"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the instances are stopped", func() bool { return len(e.proc.Instances("web")) == 0 })
	eventually(t, 10*time.Second, "the listener is closed", func() bool { return version(listen) == "" })
}

func TestControllerBlueGreenPromoteAndUndo(t *testing.T) {
	e := startEnv(t, "")
	listen, preview := freeAddr(t), freeAddr(t)
	bg := strings.ReplaceAll(manualBlueGreen, "%s", preview)
	e.apply(helloApp("web", listen, bg, "VERSION", "v1"))
	e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))

	e.apply(helloApp("web", listen, bg, "VERSION", "v2"))
	st := e.waitStatus("web", "revision 2 waits for promotion", 20*time.Second, func(st apiv1.AppStatus) bool {
		return st.Phase == apiv1.PhasePaused && st.CandidateRevision == 2
	})
	if st.PreviewAddress != preview {
		t.Fatalf("preview address %q", st.PreviewAddress)
	}
	eventually(t, 5*time.Second, "the preview serves v2", func() bool { return version(preview) == "v2" })
	for range 20 {
		if got := version(listen); got != "v1" {
			t.Fatalf("before promotion the app answered %q", got)
		}
	}

	if err := e.command("web", apiv1.ActionPromote); err != nil {
		t.Fatal(err)
	}
	st = e.waitStatus("web", "revision 2 is promoted", 10*time.Second, isStable(2))
	if st.PreviousRevision != 1 || st.ScaleDownAt == nil {
		t.Fatalf("the old revision is not warm: %+v", st)
	}
	if got := version(listen); got != "v2" {
		t.Fatalf("after promotion the app answered %q", got)
	}
	eventually(t, 5*time.Second, "the preview listener closes", func() bool { return version(preview) == "" })
	if n := len(e.proc.RevisionInstances("web", 1)); n != 1 {
		t.Fatalf("revision 1 has %d instances while warm", n)
	}

	if err := e.command("web", apiv1.ActionUndo); err != nil {
		t.Fatal(err)
	}
	st = e.waitStatus("web", "revision 1 serves again", 10*time.Second, func(st apiv1.AppStatus) bool {
		return st.StableRevision == 1 && st.CandidateRevision == 0
	})
	if st.Reason != apiv1.ReasonRolledBack || st.RejectedRevision != 2 {
		t.Fatalf("after undo: %+v", st)
	}
	if got := version(listen); got != "v1" {
		t.Fatalf("after undo the app answered %q", got)
	}
	var reasons []string
	for _, ev := range e.events("web") {
		reasons = append(reasons, ev.Reason)
	}
	for _, want := range []string{apiv1.ReasonRolloutStarted, apiv1.ReasonCandidateReady, "PromoteRequested", apiv1.ReasonPromoted, apiv1.ReasonUndone, apiv1.ReasonRolledBack, "InstanceStarted", "InstanceHealthy"} {
		if !contains(reasons, want) {
			t.Errorf("no %s event in %v", want, reasons)
		}
	}
}

func TestControllerFailsACandidateThatNeverGetsHealthy(t *testing.T) {
	e := startEnv(t, "")
	listen := freeAddr(t)
	doc := func(v string, env ...string) string {
		return strings.Replace(helloApp("web", listen, "  strategy: {blueGreen: {}}\n", append([]string{"VERSION", v}, env...)...),
			"spec:\n", "spec:\n  progressDeadline: 2s\n", 1)
	}
	e.apply(doc("v1"))
	e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))
	e.apply(doc("v2", "FAIL_HEALTH", "true"))
	st := e.waitStatus("web", "the rollout fails", 20*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhaseFailed })
	if st.Reason != apiv1.ReasonProgressDeadline || st.StableRevision != 1 || st.RejectedRevision != 2 ||
		!strings.Contains(st.Message, "GET /health: 503") {
		t.Fatalf("failed status: %+v", st)
	}
	eventually(t, 10*time.Second, "the candidate is stopped", func() bool { return len(e.proc.RevisionInstances("web", 2)) == 0 })
	if got := version(listen); got != "v1" {
		t.Fatalf("after the failure the app answered %q", got)
	}
	found := false
	for _, ev := range e.events("web") {
		found = found || (ev.Reason == apiv1.ReasonProgressDeadline && ev.Type == "Warning" && strings.Contains(ev.Message, "GET /health: 503"))
	}
	if !found {
		t.Fatal("no ProgressDeadlineExceeded warning with the check's result")
	}
}

func TestControllerRejectsWhatCannotRun(t *testing.T) {
	e := startEnv(t, "")
	missing := strings.Replace(helloApp("gone", freeAddr(t), ""), helloBinary, "/nonexistent/hello", 1)
	e.apply(missing)
	st := e.waitStatus("gone", "the rollout fails", 10*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhaseFailed })
	if st.Reason != apiv1.ReasonInvalidWorkload || !strings.Contains(st.Message, "/nonexistent/hello") {
		t.Fatalf("status %+v", st)
	}
	secret := strings.Replace(helloApp("secret", freeAddr(t), ""), "      env:\n",
		"      env:\n        - {name: DB_PASSWORD, valueFrom: {secret: {path: hello/db, key: password}}}\n", 1)
	e.apply(secret)
	st = e.waitStatus("secret", "the rollout fails", 10*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhaseFailed })
	if !strings.Contains(st.Message, "env DB_PASSWORD: secret hello/db key password: "+ErrNoSecrets.Error()) {
		t.Fatalf("status %+v", st)
	}
}

func TestControllerCarriesOnAfterARestart(t *testing.T) {
	e := startEnv(t, "")
	listen, preview := freeAddr(t), freeAddr(t)
	bg := strings.ReplaceAll(manualBlueGreen, "%s", preview)
	e.apply(helloApp("web", listen, bg, "VERSION", "v1"))
	e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))
	e.apply(helloApp("web", listen, bg, "VERSION", "v2"))
	e.waitStatus("web", "revision 2 waits", 20*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhasePaused })
	e.stop()
	if version(listen) != "" || version(preview) != "" {
		t.Fatal("something still serves after the stop")
	}

	e2 := startEnv(t, e.dbPath)
	e2.waitStatus("web", "revision 2 waits again", 20*time.Second, func(st apiv1.AppStatus) bool {
		return st.Phase == apiv1.PhasePaused && st.CandidateRevision == 2 && st.StableRevision == 1
	})
	eventually(t, 10*time.Second, "both listeners serve again", func() bool { return version(listen) == "v1" && version(preview) == "v2" })
	if err := e2.command("web", apiv1.ActionPromote); err != nil {
		t.Fatal(err)
	}
	e2.waitStatus("web", "revision 2 is promoted", 10*time.Second, isStable(2))
	// The status is persisted before the route table is swapped.
	eventually(t, 5*time.Second, "the app answers v2 after promotion", func() bool { return version(listen) == "v2" })
	revs, err := e2.res.Revisions(context.Background(), "web")
	if err != nil || len(revs) != 2 {
		t.Fatalf("revisions after the restart: %d, %v", len(revs), err)
	}
}

func TestControllerAbortStopsTheCandidate(t *testing.T) {
	e := startEnv(t, "")
	listen, preview := freeAddr(t), freeAddr(t)
	bg := strings.ReplaceAll(manualBlueGreen, "%s", preview)
	e.apply(helloApp("web", listen, bg, "VERSION", "v1"))
	e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))
	if err := e.command("web", apiv1.ActionPromote); !errors.Is(err, ErrRefused) {
		t.Fatalf("promote without a rollout: %v", err)
	}
	e.apply(helloApp("web", listen, bg, "VERSION", "v2"))
	e.waitStatus("web", "revision 2 waits", 20*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhasePaused })
	if err := e.command("web", apiv1.ActionAbort); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the candidate is stopped", func() bool { return len(e.proc.RevisionInstances("web", 2)) == 0 })
	st := e.status("web")
	if st.Phase != apiv1.PhaseAborted || st.StableRevision != 1 || version(listen) != "v1" {
		t.Fatalf("after abort: %+v", st)
	}
	eventually(t, 5*time.Second, "the preview closes", func() bool { return version(preview) == "" })
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestControllerReportsAnAddressInUse(t *testing.T) {
	e := startEnv(t, "")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	e.apply(helloApp("web", taken.Addr().String(), "", "VERSION", "v1"))
	eventually(t, 20*time.Second, "the readiness check fails", func() bool {
		err := e.ctrl.Listening(context.Background())
		return err != nil && strings.Contains(err.Error(), "address already in use")
	})
	eventually(t, 5*time.Second, "a RouteFailed event is recorded", func() bool {
		for _, ev := range e.events("web") {
			if ev.Reason == "RouteFailed" && ev.Type == "Warning" {
				return true
			}
		}
		return false
	})
	if err := e.ctrl.Alive(context.Background()); err != nil {
		t.Fatalf("the loop does not answer: %v", err)
	}
	taken.Close()
	eventually(t, 20*time.Second, "the address is served once free", func() bool {
		return e.ctrl.Listening(context.Background()) == nil && version(taken.Addr().String()) == "v1"
	})
}
