package rollout

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// fakeProvider answers every builtin measurement with the candidate's
// success rate it is set to, against a perfect stable revision.
type fakeProvider struct{ successPermille atomic.Int64 }

func (f *fakeProvider) Measure(_ context.Context, req analysis.Request) (analysis.Result, error) {
	rate := float64(f.successPermille.Load()) / 1000
	c := &analysis.Comparison{
		Candidate: analysis.RevisionStats{Requests: 100, Errors: int(100 - 100*rate), SuccessRate: rate, ErrorRate: 1 - rate},
		Stable:    analysis.RevisionStats{Requests: 100, SuccessRate: 1},
	}
	return analysis.Result{Revisions: c}, nil
}

const fakeTemplate = `---
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata: {name: errors}
spec:
  metrics:
    - name: success-rate
      interval: 100ms
      provider: {builtin: {minRequests: 10}}
      successCondition: candidate.successRate >= stable.successRate - 0.05
`

func TestControllerRunsAnalysisAndAbortsOnFailure(t *testing.T) {
	fake := &fakeProvider{}
	fake.successPermille.Store(1000)
	e := startEnv(t, "", func(e *env, o *Options) { o.Provider, o.Measurements = fake, e.db })
	listen := freeAddr(t)
	canary := "  strategy:\n    canary:\n      steps: [{setWeight: 50}, {analysis: {templates: [{name: errors}]}}, {pause: {}}]\n      analysis: {templates: [{name: errors}]}\n"
	e.apply(helloApp("web", listen, canary, "VERSION", "v1") + fakeTemplate)
	e.waitStatus("web", "revision 1 serves", 20*time.Second, isStable(1))

	// A good candidate passes its step analysis (3 measurements) and
	// waits at the pause.
	e.apply(helloApp("web", listen, canary, "VERSION", "v2"))
	st := e.waitStatus("web", "the step analysis passes", 20*time.Second, func(st apiv1.AppStatus) bool {
		return st.CandidateRevision == 2 && st.Phase == apiv1.PhasePaused && st.Reason == apiv1.ReasonWaitingForPromote
	})
	if st.Weight != 5000 || len(st.Analyses) != 2 || st.Analyses[0].Kind != apiv1.AnalysisStep || st.Analyses[0].Verdict != apiv1.VerdictSuccessful ||
		st.Analyses[0].Metrics[0].Successful != DefaultStepCount || st.Analyses[1].Verdict != apiv1.VerdictRunning {
		t.Fatalf("at the pause: weight %d, analyses %+v", st.Weight, st.Analyses)
	}

	// Then it starts failing: the background analysis aborts it.
	fake.successPermille.Store(700)
	st = e.waitStatus("web", "the background analysis aborts", 20*time.Second, func(st apiv1.AppStatus) bool { return st.Phase == apiv1.PhaseAborted })
	if st.Reason != apiv1.ReasonAnalysisFailed || st.Weight != 0 || st.StableRevision != 1 || !strings.Contains(st.Message, "candidate.successRate = 0.7") {
		t.Fatalf("aborted: %s (%s): %s", st.Phase, st.Reason, st.Message)
	}
	eventually(t, 10*time.Second, "stable answers everything", func() bool { return version(listen) == "v1" })

	var ms []store.Measurement
	err := e.db.Read(context.Background(), func(tx store.Tx) (err error) {
		ms, err = tx.ListMeasurements(context.Background(), store.MeasurementFilter{App: "web", Candidate: 2})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, m := range ms {
		if m.Verdict == string(analysis.Failed) {
			failed++
			if m.SampleSize != 100 || !strings.Contains(m.Condition, "candidate.successRate") || len(m.Value) == 0 {
				t.Fatalf("a stored measurement %+v", m)
			}
		}
	}
	if failed != 1 || len(ms) < DefaultStepCount+2 {
		t.Fatalf("%d measurements stored, %d failed", len(ms), failed)
	}
	var data struct {
		Analysis apiv1.AnalysisRun `json:"analysis"`
	}
	found := false
	for _, ev := range e.events("web") {
		if ev.Reason == apiv1.ReasonAnalysisFailed {
			found = json.Unmarshal(ev.Data, &data) == nil && data.Analysis.Kind == apiv1.AnalysisBackground
		}
	}
	if !found {
		t.Fatalf("no AnalysisFailed event with the background run as data")
	}
}
