package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// canaryApp is an App running examples/hello with the canary strategy.
// canary is the canary mapping's body (indented by four spaces); env adds
// variables to the first revision.
func canaryApp(t *testing.T, name, listen, canary string, replicas int) string {
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
      stopGracePeriod: 2s
      env:
        - {name: VERSION, value: v1}
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
  strategy:
    canary:
      scaleDownDelay: 1h
%s`, name, listen, helloBinary(t), replicas, canary)
}

// builtinTemplate is an AnalysisTemplate with one builtin metric measured
// every second over a 5s window.
func builtinTemplate(name, metric, condition string, minRequests, count, inconclusiveLimit int) string {
	return fmt.Sprintf(`---
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: %s
spec:
  metrics:
    - name: %s
      interval: 1s
      count: %d
      inconclusiveLimit: %d
      provider:
        builtin: {window: 5s, minRequests: %d}
      successCondition: %s
`, name, metric, count, inconclusiveLimit, minRequests, condition)
}

// lightLoad is about 100 requests a second from clients without a cookie
// jar, so each request draws its own bucket.
var lightLoad = loadSpec{keepAlive: 4, fresh: 2, interval: 60 * time.Millisecond, maxDuration: 2 * time.Minute}

func TestCanaryGoodCandidateWalksTheDefaultSteps(t *testing.T) {
	s := startServer(t, "")
	listen := freePort(t)
	// The default analysis, made quick for the test: an applied template
	// named "default" replaces the built-in one.
	doc := canaryApp(t, "shop", listen, "", 4) +
		builtinTemplate("default", "errors", "candidate.successRate >= stable.successRate - 0.05", 10, 8, 20)
	s.must(doc, "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))

	traffic := startLoad(t, listen, steadyLoad)
	s.must("", "deploy", "shop", "--set-env", "VERSION=v2", "--version", "v2")

	// Follow the weights; remember when 25 % started and ended.
	var seen []int
	var at25, after25 time.Time
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := s.appStatus("shop")
		if st.CandidateRevision == 2 && (len(seen) == 0 || seen[len(seen)-1] != st.Weight) {
			seen = append(seen, st.Weight)
			if st.Weight == 2500 {
				at25 = time.Now()
			} else if !at25.IsZero() && after25.IsZero() {
				after25 = time.Now()
			}
		}
		if stableAt(2)(st) {
			if after25.IsZero() {
				after25 = time.Now()
			}
			if st.PreviousRevision != 1 || len(st.Analyses) != 3 {
				t.Fatalf("promoted: previous %d, analyses %+v", st.PreviousRevision, st.Analyses)
			}
			for _, run := range st.Analyses {
				if run.Verdict != apiv1.VerdictSuccessful || run.Metrics[0].Successful < 8 {
					t.Fatalf("analysis %s: %s %+v", run.Name, run.Verdict, run.Metrics)
				}
			}
			break
		}
		if st.Phase == apiv1.PhaseAborted || st.Phase == apiv1.PhasePaused || time.Now().After(deadline) {
			t.Fatalf("the rollout did not go through: %s (%s): %s; weights %v\n%s", st.Phase, st.Reason, st.Message, seen, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	samples := traffic.stop()
	checkClean(t, samples)
	// The proxy counted every request the load made, per revision (and
	// those the load's workers broke off when it stopped, one each at most).
	tr, err := s.client().Traffic(context.Background(), "shop", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, rt := range tr.Revisions {
		total += rt.TotalRequests
		if rt.Requests == 0 || rt.RequestsPerSecond <= 0 || rt.P99Seconds <= 0 || rt.Errors != 0 {
			t.Errorf("revision %d (%s) traffic %+v", rt.Revision, rt.Role, rt)
		}
	}
	if len(tr.Revisions) != 2 || tr.Revisions[0].Role != apiv1.RolePrevious || tr.Revisions[1].Role != apiv1.RoleStable ||
		total < uint64(len(samples)) || total > uint64(len(samples)+steadyLoad.keepAlive+steadyLoad.fresh) {
		t.Errorf("traffic %+v: %d requests counted, the load made %d", tr, total, len(samples))
	}
	if strings.Trim(fmt.Sprint(seen), "[]") != "0 100 500 2500" && strings.Trim(fmt.Sprint(seen), "[]") != "100 500 2500" {
		t.Errorf("weights %v, want 1 %% → 5 %% → 25 %%", seen)
	}
	// The share at 25 %, away from the switches.
	var n, cand int
	for _, sm := range samples {
		if sm.start.After(at25.Add(300*time.Millisecond)) && sm.end.Before(after25.Add(-300*time.Millisecond)) {
			n++
			if sm.version == "v2" {
				cand++
			}
		}
	}
	if n < 1500 {
		t.Fatalf("only %d requests at 25 %%", n)
	}
	share := float64(cand) / float64(n)
	sigma := math.Sqrt(0.25 * 0.75 / float64(n))
	t.Logf("at 25 %%: %d of %d requests (%.2f %%, σ %.2f points)", cand, n, 100*share, 100*sigma)
	if math.Abs(share-0.25) > 4*sigma {
		t.Errorf("the candidate answered %.2f %% of %d requests at 25 %% (more than 4σ = %.2f points off)", 100*share, n, 400*sigma)
	}
}

// TestCanaryAnalysisVerdicts runs three canaries on one server at once: a
// candidate that fails 30 % of its requests, one that is 150 ms slower,
// and one with too little traffic to judge.
func TestCanaryAnalysisVerdicts(t *testing.T) {
	s := startServer(t, "")
	bad, slow, quiet := freePort(t), freePort(t), freePort(t)
	steps := "      steps: [{setWeight: 5}, {pause: {}}]\n      analysis: {templates: [{name: %s}]}\n"
	docs := canaryApp(t, "bad", bad, fmt.Sprintf(steps, "errors"), 1) + "---\n" +
		canaryApp(t, "slow", slow, "      steps: [{setWeight: 20}, {pause: {}}]\n      analysis: {templates: [{name: latency}]}\n", 1) + "---\n" +
		canaryApp(t, "quiet", quiet, fmt.Sprintf(steps, "sample"), 1) +
		builtinTemplate("errors", "success-rate", "candidate.successRate >= stable.successRate - 0.05", 5, 0, 10) +
		builtinTemplate("latency", "p95", "candidate.p95 <= stable.p95 * 1.5 + 0.05", 10, 0, 10) +
		builtinTemplate("sample", "success-rate", "candidate.successRate >= stable.successRate - 0.05", 50, 0, 3)
	s.must(docs, "apply", "-f", "-")
	for _, app := range []string{"bad", "slow", "quiet"} {
		s.waitStatus(app, app+" revision 1 serves", 30*time.Second, stableAt(1))
	}
	badLoad := startLoad(t, bad, lightLoad)
	slowLoad := startLoad(t, slow, loadSpec{keepAlive: 4, fresh: 0, interval: 50 * time.Millisecond, maxDuration: 2 * time.Minute})
	quietLoad := startLoad(t, quiet, loadSpec{keepAlive: 1, interval: 250 * time.Millisecond, maxDuration: 2 * time.Minute})
	s.must("", "deploy", "bad", "--set-env", "ERROR_RATE=0.3", "--set-env", "VERSION=v2", "--version", "v2")
	s.must("", "deploy", "slow", "--set-env", "LATENCY=150ms", "--set-env", "VERSION=v2", "--version", "v2")
	s.must("", "deploy", "quiet", "--set-env", "VERSION=v2", "--version", "v2")

	// The bad candidate: aborted, and out of traffic within 15s of its
	// first request.
	st := s.waitStatus("bad", "the bad candidate is aborted", 60*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhaseAborted })
	if st.Reason != apiv1.ReasonAnalysisFailed || st.Weight != 0 || st.StableRevision != 1 || st.BlastRadius == nil || st.BlastRadius.Errors == 0 {
		t.Fatalf("aborted: %s (%s) weight %d, blast %+v: %s", st.Phase, st.Reason, st.Weight, st.BlastRadius, st.Message)
	}
	if !strings.Contains(st.Message, "successRate") {
		t.Errorf("the abort does not name its numbers: %s", st.Message)
	}
	abortedAt := time.Now()
	waitQuiet(t, badLoad, abortedAt)
	samples := badLoad.stop()
	var first, last time.Time
	for _, sm := range samples {
		if sm.version == "v2" {
			if first.IsZero() {
				first = sm.start
			}
			last = sm.end
		}
	}
	if first.IsZero() {
		t.Fatal("the bad candidate never served")
	}
	t.Logf("bad candidate: first request %s, last %s (%s); blast radius %d requests, %d errors",
		first.Format("15:04:05.000"), last.Format("15:04:05.000"), last.Sub(first).Round(time.Millisecond), st.BlastRadius.Requests, st.BlastRadius.Errors)
	if d := last.Sub(first); d > 15*time.Second {
		t.Errorf("the bad candidate served for %s after its first request, want under 15s", d)
	}
	var after []sample
	for _, sm := range samples {
		if sm.start.After(last) {
			after = append(after, sm)
		}
	}
	if len(after) < 50 {
		t.Fatalf("only %d requests after the abort", len(after))
	}
	checkClean(t, after)
	evs, err := s.client().Events(context.Background(), client.EventQuery{App: "bad", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		if e.Reason == apiv1.ReasonAnalysisFailed {
			var data struct {
				Analysis apiv1.AnalysisRun `json:"analysis"`
				Weight   int               `json:"weight"`
			}
			if err := json.Unmarshal(e.Data, &data); err != nil || data.Weight != 500 || len(data.Analysis.Metrics) != 1 || data.Analysis.Metrics[0].Last == nil {
				t.Fatalf("the abort event's data %s: %v", e.Data, err)
			}
			last := data.Analysis.Metrics[0].Last
			if last.SampleSize < 5 || last.Verdict != apiv1.VerdictFailed || !strings.Contains(string(last.Value), "successRate") {
				t.Fatalf("the deciding measurement %+v", last)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no AnalysisFailed event")
	}
	out := s.must("", "rollout", "measurements", "bad", "--candidate", "2")
	if !strings.Contains(out, "errors/success-rate") || !strings.Contains(out, "Failed") {
		t.Errorf("rollout measurements lacks the failed measurement:\n%s", out)
	}
	out = s.must("", "rollout", "status", "bad")
	for _, want := range []string{"Blast:", "errors/success-rate", "AnalysisFailed"} {
		if !strings.Contains(out, want) {
			t.Errorf("rollout status lacks %q:\n%s", want, out)
		}
	}

	// The slow candidate: caught by the latency comparison.
	st = s.waitStatus("slow", "the slow candidate is aborted", 60*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhaseAborted })
	if st.Reason != apiv1.ReasonAnalysisFailed || !strings.Contains(st.Message, "p95") {
		t.Fatalf("slow: %s (%s): %s", st.Phase, st.Reason, st.Message)
	}
	slowLoad.stop()

	// Too little traffic: neither promoted nor aborted, but paused.
	st = s.waitStatus("quiet", "the quiet rollout pauses", 60*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhasePaused })
	if st.Reason != apiv1.ReasonAnalysisInconclusive || st.CandidateRevision != 2 || st.Weight != 500 ||
		!strings.Contains(st.Message, "requests, need 50") || !strings.Contains(st.Message, "inconclusive: ") {
		t.Fatalf("quiet: %s (%s) weight %d: %s", st.Phase, st.Reason, st.Weight, st.Message)
	}
	quietLoad.stop()
}

// waitQuiet waits until the load has seen a second of answers after at,
// so that a test can look at what came after.
func waitQuiet(t *testing.T, l *load, at time.Time) {
	t.Helper()
	eventually(t, 10*time.Second, "more traffic after the abort", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for _, s := range l.samples {
			if s.start.After(at.Add(time.Second)) {
				n++
			}
		}
		return n > 60
	})
}

func TestCanaryWeightSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	listen := freePort(t)
	doc := canaryApp(t, "shop", listen, "      steps: [{setWeight: 30}, {pause: {}}]\n      analysis: {templates: [{name: errors}]}\n", 1) +
		builtinTemplate("errors", "success-rate", "candidate.successRate >= stable.successRate - 0.05", 5, 0, 100)
	s.must(doc, "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	traffic := startLoad(t, listen, lightLoad)
	s.must("", "deploy", "shop", "--set-env", "VERSION=v2", "--version", "v2")
	measured := func(st apiv1.AppStatus) int {
		for _, run := range st.Analyses {
			if run.Kind == apiv1.AnalysisBackground && run.Verdict == apiv1.VerdictRunning && len(run.Metrics) > 0 {
				return run.Metrics[0].Measurements
			}
		}
		return 0
	}
	s.waitStatus("shop", "30 % and measured", 30*time.Second, func(st apiv1.AppStatus) bool {
		return st.Weight == 3000 && waitingForPromotion(2)(st) && measured(st) >= 2
	})
	traffic.stop()
	old := map[string]bool{} // the instances of the server about to die
	for _, r := range s.appStatus("shop").Revisions {
		for _, in := range r.Instances {
			old[in.ID] = true
		}
	}
	s.stop(syscall.SIGKILL)

	s2 := startServer(t, dir)
	before := measured(s2.appStatus("shop"))
	// The status stored before the kill says both revisions were ready:
	// wait for the new server's own instances of both before sending a
	// request, since one sent while none is ready is answered 503 and
	// counts against a revision in the analysis window.
	st := s2.waitStatus("shop", "the rollout carries on at 30 %", 30*time.Second, func(st apiv1.AppStatus) bool {
		if st.Weight != 3000 || !waitingForPromotion(2)(st) || len(st.Revisions) != 2 {
			return false
		}
		for _, r := range st.Revisions {
			if r.Ready != 1 || len(r.Instances) != 1 || old[r.Instances[0].ID] {
				return false
			}
		}
		return true
	})
	eventually(t, 10*time.Second, "the app serves again", func() bool { return versionAt(listen) != "" })
	traffic = startLoad(t, listen, lightLoad)
	s2.waitStatus("shop", "the background analysis measures again", 30*time.Second, func(st apiv1.AppStatus) bool {
		return measured(st) >= before+3
	})
	samples := traffic.stop()
	n, cand := 0, 0
	for _, sm := range samples {
		n++
		if sm.version == "v2" {
			cand++
		}
	}
	share := float64(cand) / float64(n)
	if n < 200 || math.Abs(share-0.3) > 4*math.Sqrt(0.3*0.7/float64(n)) {
		t.Fatalf("after the restart the candidate answered %d of %d requests (%.1f %%), want 30 %%", cand, n, 100*share)
	}
	if st.BlastRadius == nil || st.BlastRadius.Requests == 0 {
		t.Fatalf("the blast radius was lost: %+v", st.BlastRadius)
	}
}

func TestDemoShipsAGoodAndABadVersion(t *testing.T) {
	cmd := exec.Command(binary, "demo")
	cmd.Dir = "../.." // the repository root, where the demo builds examples/hello
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sluice demo: %v\n%s", err, out)
	}
	for _, want := range []string{"Healthy (Promoted): revision 2 (v2)", "Aborted (AnalysisFailed)", "v3's blast radius"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
}

// TestCanaryStickyUsersAndOverrides checks that a user keyed by a header
// stays on one revision, that raising the weight moves users only to the
// candidate, and that testers' override header forces either revision.
func TestCanaryStickyUsersAndOverrides(t *testing.T) {
	s := startServer(t, "")
	listen := freePort(t)
	steps := "      stickiness: {header: X-User-ID}\n      override: {header: X-Canary}\n" +
		"      steps: [{setWeight: 30}, {pause: {}}, {setWeight: 60}, {pause: {}}]\n"
	s.must(canaryApp(t, "shop", listen, steps, 1), "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	s.must("", "deploy", "shop", "--set-env", "VERSION=v2", "--version", "v2")
	s.waitStatus("shop", "30 %", 30*time.Second, func(st apiv1.AppStatus) bool { return st.Weight == 3000 && waitingForPromotion(2)(st) })

	c := &http.Client{Timeout: 5 * time.Second}
	ask := func(header, value string) string {
		req, _ := http.NewRequest(http.MethodGet, "http://"+listen+"/", nil)
		req.Header.Set(header, value)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Version string `json:"version"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		return body.Version
	}
	const users = 400
	at30 := map[int]string{}
	onCandidate := 0
	for u := range users {
		v := ask("X-User-ID", fmt.Sprint("user-", u))
		for range 2 {
			if again := ask("X-User-ID", fmt.Sprint("user-", u)); again != v {
				t.Fatalf("user-%d got %s, then %s", u, v, again)
			}
		}
		at30[u] = v
		if v == "v2" {
			onCandidate++
		}
	}
	if share := float64(onCandidate) / users; math.Abs(share-0.3) > 4*math.Sqrt(0.3*0.7/users) {
		t.Errorf("%d of %d users on the candidate at 30 %%", onCandidate, users)
	}
	for range 20 {
		if v := ask("X-Canary", "candidate"); v != "v2" {
			t.Fatalf("the candidate override answered %s", v)
		}
		if v := ask("X-Canary", "stable"); v != "v1" {
			t.Fatalf("the stable override answered %s", v)
		}
	}

	s.must("", "rollout", "promote", "shop")
	s.waitStatus("shop", "60 %", 30*time.Second, func(st apiv1.AppStatus) bool { return st.Weight == 6000 && waitingForPromotion(2)(st) })
	moved := 0
	for u := range users {
		v := ask("X-User-ID", fmt.Sprint("user-", u))
		switch {
		case at30[u] == "v2" && v != "v2":
			t.Fatalf("user-%d went back from the candidate to %s when the weight rose", u, v)
		case at30[u] == "v1" && v == "v2":
			moved++
		}
	}
	if moved == 0 || onCandidate+moved < users/2 {
		t.Errorf("at 60 %% only %d more users reached the candidate (%d were on it)", moved, onCandidate)
	}
}
