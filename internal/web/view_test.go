package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestFormats(t *testing.T) {
	for bp, want := range map[int]string{0: "0 %", 1: "0.01 %", 100: "1 %", 1250: "12.5 %", 10000: "100 %"} {
		if got := formatBasisPoints(bp); got != want {
			t.Errorf("formatBasisPoints(%d) = %q, want %q", bp, got, want)
		}
	}
	for s, want := range map[float64]string{0: "–", 0.0000123: "12.3 µs", 0.0123: "12.3 ms", 0.25: "250 ms", 1.5: "1.5 s"} {
		if got := formatSeconds(s); got != want {
			t.Errorf("formatSeconds(%v) = %q, want %q", s, got, want)
		}
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{0: "just now", 5 * time.Second: "5 s ago", 3 * time.Minute: "3 min ago", 5 * time.Hour: "5 h ago",
		72 * time.Hour: "3 days ago", -10 * time.Second: "in 10 s"} {
		if got := formatAgo(now, now.Add(-d)); got != want {
			t.Errorf("formatAgo(%v) = %q, want %q", d, got, want)
		}
	}
	if formatAgo(now, time.Time{}) != "never" {
		t.Error("the zero time is not never")
	}
}

func TestSplitOf(t *testing.T) {
	for _, tc := range []struct {
		st          apiv1.AppStatus
		stable, can int
		label       string
	}{
		{apiv1.AppStatus{}, 1000, 0, "no revision serves yet"},
		{apiv1.AppStatus{StableRevision: 1}, 1000, 0, "revision 1 serves all traffic"},
		{apiv1.AppStatus{StableRevision: 1, CandidateRevision: 2, Weight: 2500}, 750, 250, "revision 1: 75 %, revision 2: 25 %"},
		{apiv1.AppStatus{StableRevision: 1, CandidateRevision: 2, Weight: 1}, 999, 1, "revision 1: 99.99 %, revision 2: 0.01 %"},
		{apiv1.AppStatus{StableRevision: 1, Weight: 500}, 1000, 0, "revision 1 serves all traffic"}, // a weight without a candidate is stale
	} {
		s := splitOf(tc.st)
		if s.StableWidth != tc.stable || s.CandidateWidth != tc.can || s.Label != tc.label {
			t.Errorf("%+v: %+v", tc.st, s)
		}
	}
}

func TestChartOf(t *testing.T) {
	cmp := func(cand, stable float64, verdict string) apiv1.StoredMeasurement {
		v, _ := json.Marshal(map[string]any{"candidate": map[string]any{"successRate": cand}, "stable": map[string]any{"successRate": stable}})
		return apiv1.StoredMeasurement{Template: "default", Metric: "errors", Measurement: apiv1.Measurement{
			At: time.Unix(1764158400, 0), Value: v, Condition: "successCondition: candidate.successRate >= stable.successRate - 0.05", Verdict: verdict}}
	}
	c := chartOf("default/errors", []apiv1.StoredMeasurement{cmp(1, 1, "Successful"), cmp(0.9, 1, "Failed"),
		{Measurement: apiv1.Measurement{Verdict: "Error", Error: "no data", Condition: "x"}}}, "Failed")
	if c.Measured != "candidate.successRate" || c.Limit != "stable.successRate - 0.05" || len(c.Points) != 3 {
		t.Fatalf("chart %+v", c)
	}
	if c.Points[0].Y >= c.Points[1].Y {
		t.Errorf("a higher value is not drawn higher: %+v", c.Points)
	}
	if c.Points[2].Y != chartHeight-chartPad || !strings.Contains(c.Points[2].Label, "no data") {
		t.Errorf("an error is not on the axis with its reason: %+v", c.Points[2])
	}
	if strings.Count(c.LimitLine, ",") != 2 || c.Top != "1" || c.Bottom != "0.9" {
		t.Errorf("limit %q, axis %s..%s", c.LimitLine, c.Bottom, c.Top)
	}
	if e := chartOf("x", nil, "Running"); len(e.Points) != 0 || e.Top == "" {
		t.Errorf("an empty chart: %+v", e)
	}
}

func TestRolloutChoices(t *testing.T) {
	now := time.Now()
	names := func(st apiv1.AppStatus) string {
		var out []string
		for _, c := range rolloutChoices(st, now) {
			out = append(out, c.Action)
		}
		return strings.Join(out, " ")
	}
	canary := statusAt(500)
	bg := statusAt(0)
	bg.Strategy = "blueGreen"
	warm := now.Add(time.Hour)
	for _, tc := range []struct {
		name string
		st   apiv1.AppStatus
		want string
	}{
		{"canary mid-rollout", canary, "promote promote-full pause abort"},
		{"blue-green waiting", bg, "promote pause abort"},
		{"paused", func() apiv1.AppStatus { s := canary; s.Paused = true; return s }(), "promote promote-full resume abort"},
		{"promoted, previous warm", apiv1.AppStatus{Phase: apiv1.PhaseHealthy, LatestRevision: 2, StableRevision: 2,
			RolloutDetails: apiv1.RolloutDetails{PreviousRevision: 1, ScaleDownAt: &warm}}, "pause undo"},
		{"aborted", apiv1.AppStatus{Phase: apiv1.PhaseAborted, LatestRevision: 2, StableRevision: 1,
			RolloutDetails: apiv1.RolloutDetails{RejectedRevision: 2}}, "pause retry"},
		{"first revision", apiv1.AppStatus{Phase: apiv1.PhaseHealthy, LatestRevision: 1, StableRevision: 1}, "pause"},
	} {
		if got := names(tc.st); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	c, _ := choiceFor(apiv1.AppStatus{StableRevision: 2, LatestRevision: 2, RolloutDetails: apiv1.RolloutDetails{PreviousRevision: 1}}, "undo", now)
	if !strings.Contains(c.Effect, "started first") {
		t.Errorf("undo of a cold revision: %q", c.Effect)
	}
}

func TestOverviewRows(t *testing.T) {
	obj := func(name string, st apiv1.AppStatus) apiv1.Object {
		b, _ := json.Marshal(st)
		return apiv1.Object{Metadata: apiv1.Metadata{Name: name}, Status: b}
	}
	rows := overviewRows([]apiv1.Object{
		obj("a-calm", apiv1.AppStatus{Phase: apiv1.PhaseHealthy, StableRevision: 1}),
		obj("b-moving", statusAt(500)),
		obj("c-failed", apiv1.AppStatus{Phase: apiv1.PhaseFailed, StableRevision: 1, RolloutDetails: apiv1.RolloutDetails{Reason: "ProgressDeadlineExceeded"}}),
		obj("d-erroring", apiv1.AppStatus{Phase: apiv1.PhaseHealthy, StableRevision: 3}),
		{Metadata: apiv1.Metadata{Name: "e-new"}},
	}, map[string]apiv1.AppTraffic{"d-erroring": {Revisions: []apiv1.RevisionTraffic{{Revision: 3, Requests: 100, ErrorRate: 0.2}}}})
	var order []string
	for _, r := range rows {
		order = append(order, r.Name+":"+r.Problem)
	}
	want := "c-failed:Failed: ProgressDeadlineExceeded d-erroring:stable errors b-moving: a-calm: e-new:"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	if rows[4].Status.Phase != apiv1.PhasePending {
		t.Errorf("an app without a status: %+v", rows[4].Status)
	}
}
