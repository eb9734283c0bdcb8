package rollout

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// canaryRun drives the planner through a canary rollout of revision 2 over
// revision 1, carrying the status from plan to plan and letting a test set
// what the controller measured.
type canaryRun struct {
	t        *testing.T
	a        spec.App
	st       apiv1.AppStatus
	now      time.Time
	insts    []Instance
	analyses map[string]apiv1.AnalysisRun
	blast    *apiv1.BlastRadius
}

func newCanaryRun(t *testing.T, a spec.App, insts ...Instance) *canaryRun {
	return &canaryRun{t: t, a: a, st: rolling(1, 2, t0), now: t0, insts: insts, analyses: map[string]apiv1.AnalysisRun{}}
}

func (c *canaryRun) plan() Decision {
	c.t.Helper()
	in := input(c.a, c.st, c.now, c.insts...)
	in.Analyses, in.Blast = c.analyses, c.blast
	d := Plan(in)
	c.st = d.Status
	c.now = c.now.Add(time.Second)
	return d
}

func (c *canaryRun) command(action string) {
	c.t.Helper()
	var err error
	if c.st, _, err = Command(c.st, action, "admin", c.now); err != nil {
		c.t.Fatal(err)
	}
}

// verdict reports the latest running analysis run as measured to verdict.
func (c *canaryRun) verdict(verdict, msg string) string {
	c.t.Helper()
	for i := len(c.st.Analyses) - 1; i >= 0; i-- {
		if r := c.st.Analyses[i]; r.Verdict == apiv1.VerdictRunning {
			c.analyses[r.Name] = apiv1.AnalysisRun{Name: r.Name, Verdict: verdict, Message: msg}
			return r.Name
		}
	}
	c.t.Fatalf("no running analysis in %+v", c.st.Analyses)
	return ""
}

func (c *canaryRun) expect(what string, phase, reason string, weight int, mainTable string, d Decision) {
	c.t.Helper()
	if c.st.Phase != phase || c.st.Reason != reason || c.st.Weight != weight {
		c.t.Fatalf("%s: phase %s (%s), weight %d; want %s (%s), weight %d; message %q", what, c.st.Phase, c.st.Reason, c.st.Weight, phase, reason, weight, c.st.Message)
	}
	if got := describeTable(routesOf(c.t, d.Actions).Main); mainTable != "" && got != mainTable {
		c.t.Fatalf("%s: main table %s, want %s", what, got, mainTable)
	}
}

func canary(mod func(*spec.CanaryStrategy)) func(*spec.App) {
	return func(a *spec.App) {
		c := &spec.CanaryStrategy{}
		mod(c)
		a.Strategy = &spec.Strategy{Canary: c}
	}
}

func weightTo(pct spec.Percent) spec.CanaryStep { return spec.CanaryStep{SetWeight: &pct} }

func TestPlanCanaryWalksTheDefaultSteps(t *testing.T) {
	c := newCanaryRun(t, appSpec(nil), healthy("a", 1), healthy("b", 2))
	d := c.plan()
	c.expect("1 %", apiv1.PhaseProgressing, apiv1.ReasonAnalysisRunning, 100, "1:a + 2:b@100", d)
	if c.st.Steps != 7 || c.st.Step != 1 {
		t.Fatalf("step %d/%d", c.st.Step, c.st.Steps)
	}
	var analyze []Analyze
	for _, a := range d.Actions {
		if x, ok := a.(Analyze); ok {
			analyze = append(analyze, x)
		}
	}
	if len(analyze) != 1 || analyze[0].Run.Kind != apiv1.AnalysisStep || analyze[0].Run.Step != 2 || analyze[0].Run.Count != DefaultStepCount || len(analyze[0].Run.Templates) != 0 {
		t.Fatalf("analyze actions %+v", analyze)
	}
	for i, w := range []int{500, 2500} {
		c.verdict(apiv1.VerdictSuccessful, "every metric is successful")
		d = c.plan()
		c.expect("next weight", apiv1.PhaseProgressing, apiv1.ReasonAnalysisRunning, w, "", d)
		if !slices.Contains(eventReasons(d.Events), apiv1.ReasonAnalysisSuccessful) || c.st.Step != 3+2*i {
			t.Fatalf("events %v, step %d", eventReasons(d.Events), c.st.Step)
		}
	}
	c.verdict(apiv1.VerdictSuccessful, "every metric is successful")
	d = c.plan()
	c.expect("promoted", apiv1.PhaseHealthy, apiv1.ReasonPromoted, 0, "2:b", d)
	if c.st.StableRevision != 2 || c.st.PreviousRevision != 1 || len(c.st.Analyses) != 3 {
		t.Fatalf("after promotion: %+v", c.st)
	}
	ev := d.Events[len(d.Events)-1]
	if ev.Reason != apiv1.ReasonPromoted || !strings.Contains(ev.Message, "analyses passed: step 2, step 4, step 6") || len(ev.Data) == 0 {
		t.Fatalf("the promotion's event %q (data %s)", ev.Message, ev.Data)
	}
}

func TestPlanCanaryScalesTheCandidateWithItsWeight(t *testing.T) {
	a := appSpec(both(replicas(4), canary(func(cs *spec.CanaryStrategy) {
		cs.Steps = []spec.CanaryStep{weightTo(25), {Pause: &spec.Pause{}}, weightTo(60)}
	})))
	c := newCanaryRun(t, a, healthy("a1", 1), healthy("a2", 1), healthy("a3", 1), healthy("a4", 1), starting("b1", 2))
	d := c.plan()
	if got := ensured(d.Actions); !slices.Equal(got, []string{"1×4", "2×1"}) {
		t.Fatalf("candidate at 0 %%: ensure %v", got)
	}
	c.insts[4] = healthy("b1", 2)
	d = c.plan()
	c.expect("25 % on one instance", apiv1.PhasePaused, apiv1.ReasonWaitingForPromote, 2500, "1:a1,a2,a3,a4 + 2:b1@2500", d)
	c.command(apiv1.ActionPromote)
	d = c.plan()
	c.expect("60 % needs three instances", apiv1.PhaseProgressing, apiv1.ReasonScaling, 2500, "", d)
	if got := ensured(d.Actions); !slices.Equal(got, []string{"1×4", "2×3"}) {
		t.Fatalf("scaling to 60 %%: ensure %v", got)
	}
	c.insts = append(c.insts, healthy("b2", 2), healthy("b3", 2))
	d = c.plan()
	c.expect("60 % reached, then scaling to 100 %", apiv1.PhaseProgressing, apiv1.ReasonScaling, 6000, "", d)
	if got := ensured(d.Actions); !slices.Equal(got, []string{"1×4", "2×4"}) {
		t.Fatalf("scaling to 100 %%: ensure %v", got)
	}
	c.insts = append(c.insts, healthy("b4", 2))
	d = c.plan()
	c.expect("promoted at full size", apiv1.PhaseHealthy, apiv1.ReasonPromoted, 0, "2:b1,b2,b3,b4", d)
	if got := ensured(d.Actions); !slices.Equal(got, []string{"1×4", "2×4"}) {
		t.Fatalf("stable kept warm at full size: ensure %v", got)
	}
}

func TestPlanCanaryAbortsOnAFailedAnalysis(t *testing.T) {
	c := newCanaryRun(t, appSpec(nil), healthy("a", 1), healthy("b", 2))
	c.plan()
	c.verdict(apiv1.VerdictSuccessful, "every metric is successful")
	c.plan() // 5 %
	c.blast = &apiv1.BlastRadius{Revision: 2, Requests: 412, Errors: 97}
	name := c.verdict(apiv1.VerdictFailed, "default/success-rate: candidate.successRate 0.71 < stable.successRate 1 - 0.01")
	d := c.plan()
	c.expect("aborted", apiv1.PhaseAborted, apiv1.ReasonAnalysisFailed, 0, "1:a", d)
	if c.st.CandidateRevision != 0 || c.st.RejectedRevision != 2 || !slices.Equal(stopped(d.Actions), []int{2}) {
		t.Fatalf("after the abort: %+v, stopped %v", c.st, stopped(d.Actions))
	}
	for _, want := range []string{"at 5%", "0.71", "412 requests, 97 of them errors", "revision 1 serves"} {
		if !strings.Contains(c.st.Message, want) {
			t.Fatalf("message %q lacks %q", c.st.Message, want)
		}
	}
	if len(d.Events) != 1 || d.Events[0].Reason != apiv1.ReasonAnalysisFailed || !d.Events[0].Warning {
		t.Fatalf("events %+v", d.Events)
	}
	var data struct {
		Analysis    apiv1.AnalysisRun
		Weight      int
		BlastRadius apiv1.BlastRadius
	}
	if err := json.Unmarshal(d.Events[0].Data, &data); err != nil || data.Analysis.Name != name || data.Weight != 500 || data.BlastRadius.Errors != 97 {
		t.Fatalf("event data %s: %v", d.Events[0].Data, err)
	}
	if c.st.BlastRadius == nil || c.st.BlastRadius.Requests != 412 {
		t.Fatalf("blast radius %+v", c.st.BlastRadius)
	}
	c.command(apiv1.ActionRetry)
	c.st.Analyses[0].Verdict = apiv1.VerdictSuccessful // must not be reused
	c.plan()
	if c.st.CandidateRevision != 2 || c.st.Weight != 100 || c.st.Step != 1 || len(c.st.Analyses) != 1 {
		t.Fatalf("retry starts from the first step: %+v", c.st)
	}
}

func TestPlanCanaryPausesWhenInconclusive(t *testing.T) {
	c := newCanaryRun(t, appSpec(nil), healthy("a", 1), healthy("b", 2))
	c.plan()
	first := c.verdict(apiv1.VerdictInconclusive, "default/success-rate: 7 inconclusive measurements, inconclusiveLimit 6: inconclusive: 3 requests, need 20")
	d := c.plan()
	c.expect("paused", apiv1.PhasePaused, apiv1.ReasonAnalysisInconclusive, 100, "1:a + 2:b@100", d)
	if !c.st.Paused || !strings.Contains(c.st.Message, "inconclusive: 3 requests, need 20") || !slices.Equal(eventReasons(d.Events), []string{apiv1.ReasonAnalysisInconclusive}) {
		t.Fatalf("paused %v, message %q, events %v", c.st.Paused, c.st.Message, eventReasons(d.Events))
	}
	d = c.plan()
	c.expect("still paused", apiv1.PhasePaused, apiv1.ReasonAnalysisInconclusive, 100, "", d)
	if len(d.Events) != 0 || !strings.Contains(c.st.Message, "inconclusive: 3 requests, need 20") {
		t.Fatalf("events %v, message %q", eventReasons(d.Events), c.st.Message)
	}
	c.command(apiv1.ActionResume)
	c.plan()
	c.expect("measuring again", apiv1.PhaseProgressing, apiv1.ReasonAnalysisRunning, 100, "", d)
	last := c.st.Analyses[len(c.st.Analyses)-1]
	if last.Name == first || last.Attempt != 2 || last.Verdict != apiv1.VerdictRunning {
		t.Fatalf("second attempt %+v", last)
	}
	c.verdict(apiv1.VerdictInconclusive, "inconclusive: 3 requests, need 20")
	c.plan()
	c.command(apiv1.ActionPromote)
	c.plan()
	c.expect("promote skips the analysis", apiv1.PhaseProgressing, apiv1.ReasonAnalysisRunning, 500, "", d)
}

func TestPlanCanaryBackgroundAnalysisAndFullPromotion(t *testing.T) {
	a := appSpec(canary(func(cs *spec.CanaryStrategy) {
		cs.Steps = []spec.CanaryStep{weightTo(0.5), {Pause: &spec.Pause{}}, weightTo(50), {Pause: &spec.Pause{}}}
		cs.Analysis = &spec.RolloutAnalysis{Templates: []spec.TemplateRef{{Name: "golden"}}, Args: []spec.AnalysisArg{{Name: "svc", Value: "hello"}}}
		cs.Stickiness = &spec.Stickiness{Header: "X-User-ID"}
		cs.Override = &spec.Stickiness{Cookie: "canary"}
	}))
	c := newCanaryRun(t, a, healthy("a", 1), healthy("b", 2))
	d := c.plan()
	c.expect("0.5 %", apiv1.PhasePaused, apiv1.ReasonWaitingForPromote, 50, "1:a + 2:b@50", d)
	if m := routesOf(t, d.Actions).Main; m.Stickiness.Header != "X-User-ID" || m.Override == nil || m.Override.Cookie != "canary" {
		t.Fatalf("sticky key %+v, override %+v", m.Stickiness, m.Override)
	}
	c.plan() // the background analysis starts once the candidate serves
	if len(c.st.Analyses) != 1 || c.st.Analyses[0].Kind != apiv1.AnalysisBackground || c.st.Analyses[0].Count != 0 ||
		c.st.Analyses[0].Args[0].Value != "hello" || c.st.Analyses[0].Templates[0] != "golden" {
		t.Fatalf("background run %+v", c.st.Analyses)
	}
	c.command(apiv1.ActionPromoteFull)
	d = c.plan()
	c.expect("promoted", apiv1.PhaseHealthy, apiv1.ReasonPromoted, 0, "2:b", d)
	if c.st.Analyses[0].Verdict != apiv1.VerdictSuccessful {
		t.Fatalf("background run after promotion %+v", c.st.Analyses[0])
	}

	c = newCanaryRun(t, a, healthy("a", 1), healthy("b", 2))
	c.plan()
	c.plan()
	c.verdict(apiv1.VerdictFailed, "golden/errors: candidate.errorRate 0.3 > 0.05")
	c.command(apiv1.ActionPause) // abort wins over a pause
	d = c.plan()
	c.expect("aborted by the background analysis", apiv1.PhaseAborted, apiv1.ReasonAnalysisFailed, 0, "1:a", d)
	if !strings.Contains(c.st.Message, "background analysis (golden)") || !strings.Contains(c.st.Message, "at 0.5%") {
		t.Fatalf("message %q", c.st.Message)
	}
}

func TestPlanCanaryAbortByHandFromAnyStep(t *testing.T) {
	c := newCanaryRun(t, appSpec(nil), healthy("a", 1), healthy("b", 2))
	c.plan()
	c.command(apiv1.ActionAbort)
	if c.st.Weight != 0 || c.st.Phase != apiv1.PhaseAborted {
		t.Fatalf("abort: %+v", c.st)
	}
	d := c.plan()
	c.expect("aborted", apiv1.PhaseAborted, apiv1.ReasonAborted, 0, "1:a", d)
	if c.st.Analyses[0].Verdict != apiv1.VerdictSkipped || !slices.Equal(stopped(d.Actions), []int{2}) {
		t.Fatalf("runs %+v, stopped %v", c.st.Analyses, stopped(d.Actions))
	}
	for _, a := range d.Actions {
		if _, ok := a.(Analyze); ok {
			t.Fatal("an aborted rollout is still analysed")
		}
	}
}

func TestPlanBlueGreenPostPromotionAnalysisRollsBack(t *testing.T) {
	a := appSpec(blueGreen(func(bg *spec.BlueGreenStrategy) {
		bg.PostPromotionAnalysis = &spec.RolloutAnalysis{Templates: []spec.TemplateRef{{Name: "smoke"}}}
	}))
	c := newCanaryRun(t, a, healthy("a", 1), healthy("b", 2))
	d := c.plan()
	c.expect("promoted", apiv1.PhaseHealthy, apiv1.ReasonPromoted, 0, "2:b", d)
	if len(c.st.Analyses) != 1 || c.st.Analyses[0].Kind != apiv1.AnalysisPostPromotion || c.st.Analyses[0].Candidate != 2 || c.st.Analyses[0].Stable != 1 {
		t.Fatalf("post-promotion run %+v", c.st.Analyses)
	}
	analyzed := false
	for _, act := range d.Actions {
		_, ok := act.(Analyze)
		analyzed = analyzed || ok
	}
	if !analyzed {
		t.Fatal("the post-promotion analysis is not measured")
	}
	c.plan()
	if c.st.Analyses[0].Verdict != apiv1.VerdictRunning {
		t.Fatalf("the run ended by itself: %+v", c.st.Analyses[0])
	}
	c.verdict(apiv1.VerdictFailed, "smoke/errors: candidate.errorRate 0.2 > 0.05")
	d = c.plan()
	c.expect("rolled back at once to the warm revision", apiv1.PhaseHealthy, apiv1.ReasonRolledBack, 0, "1:a", d)
	if c.st.StableRevision != 1 || c.st.RejectedRevision != 2 || !slices.Contains(eventReasons(d.Events), apiv1.ReasonAnalysisFailed) {
		t.Fatalf("after the failed analysis: %+v, events %v", c.st, eventReasons(d.Events))
	}
}

func TestPlanCanaryTimedPauseAndDeadlines(t *testing.T) {
	a := appSpec(both(replicas(2), canary(func(cs *spec.CanaryStrategy) {
		cs.Steps = []spec.CanaryStep{weightTo(0.01), {Pause: &spec.Pause{Duration: spec.Dur(30 * time.Second)}}, weightTo(75)}
	})))
	c := newCanaryRun(t, a, healthy("a1", 1), healthy("a2", 1), healthy("b1", 2))
	d := c.plan()
	c.expect("0.01 % and a timed pause", apiv1.PhaseProgressing, apiv1.ReasonCandidateReady, 1, "1:a1,a2 + 2:b1@1", d)
	if want := c.now.Add(-time.Second).Add(30 * time.Second); !d.WakeAt.Equal(want) {
		t.Fatalf("wake at %s, want the end of the pause %s", d.WakeAt, want)
	}
	c.now = c.now.Add(30 * time.Second)
	d = c.plan()
	c.expect("75 % needs both instances", apiv1.PhaseProgressing, apiv1.ReasonScaling, 1, "", d)
	if got := ensured(d.Actions); !slices.Equal(got, []string{"1×2", "2×2"}) {
		t.Fatalf("ensure %v", got)
	}
	c.insts = append(c.insts, failing("b2", 2))
	c.now = c.now.Add(spec.DefaultProgressDeadline)
	d = c.plan()
	c.expect("the second instance never gets healthy", apiv1.PhaseFailed, apiv1.ReasonProgressDeadline, 0, "1:a1,a2", d)
	if !strings.Contains(c.st.Message, "did not scale to 2 instances for weight 75%") || !slices.Equal(stopped(d.Actions), []int{2}) {
		t.Fatalf("message %q, stopped %v", c.st.Message, stopped(d.Actions))
	}
}

func TestPlanCanaryLosingHealthKeepsTheWeight(t *testing.T) {
	a := appSpec(canary(func(cs *spec.CanaryStrategy) {
		cs.Steps = []spec.CanaryStep{weightTo(10), {Pause: &spec.Pause{}}}
	}))
	c := newCanaryRun(t, a, healthy("a", 1), healthy("b", 2))
	c.plan()
	c.insts[1] = failing("b", 2)
	d := c.plan()
	c.expect("unhealthy candidate", apiv1.PhaseProgressing, apiv1.ReasonCandidateNotReady, 1000, "1:a + 2:@1000", d)
	if !slices.Contains(eventReasons(d.Events), apiv1.ReasonCandidateNotReady) {
		t.Fatalf("events %v", eventReasons(d.Events))
	}
	c.insts[1] = healthy("b", 2)
	d = c.plan()
	c.expect("healthy again, back at the pause", apiv1.PhasePaused, apiv1.ReasonWaitingForPromote, 1000, "1:a + 2:b@1000", d)
}
