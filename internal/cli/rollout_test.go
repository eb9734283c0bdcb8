package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestPrintRolloutShowsAnalysesAndBlastRadius(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	st := apiv1.AppStatus{Phase: apiv1.PhaseAborted, Message: "analysis failed", LatestRevision: 3, StableRevision: 2,
		RolloutDetails: apiv1.RolloutDetails{Reason: apiv1.ReasonAnalysisFailed, Strategy: "canary", RejectedRevision: 3,
			BlastRadius: &apiv1.BlastRadius{Revision: 3, Requests: 412, Errors: 97},
			Analyses: []apiv1.AnalysisRun{
				{Name: "3/1/step-2", Kind: apiv1.AnalysisStep, Step: 2, Attempt: 2, Verdict: apiv1.VerdictFailed,
					Metrics: []apiv1.AnalysisMetric{{Template: "default", Metric: "errors", Verdict: apiv1.VerdictFailed, Measurements: 4, Successful: 1, Failed: 2, Inconclusive: 1,
						Last: &apiv1.Measurement{At: at, Value: json.RawMessage(`{}`), SampleSize: 61, Verdict: apiv1.VerdictFailed, Message: "failed: candidate.errorRate = 0.3"}}}},
				{Name: "3/1/background", Kind: apiv1.AnalysisBackground, Verdict: apiv1.VerdictSkipped, Message: "the rollout was aborted"},
			}}}
	var b strings.Builder
	if err := printRollout(&b, "hello", st, at); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Blast:      revision 3 served 412 requests, 97 errors (23.54% errors)",
		"step 2 (#2)", "Failed/Failed", "default/errors", "1/2/1/0", "failed: candidate.errorRate = 0.3",
		"background", "Skipped", "the rollout was aborted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the status lacks %q:\n%s", want, out)
		}
	}
}
