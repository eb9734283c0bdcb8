package cli

import (
	"strings"
	"testing"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestRolloutOutcome(t *testing.T) {
	st := func(stable, cand, latest, rejected int, phase string) apiv1.AppStatus {
		return apiv1.AppStatus{Phase: phase, StableRevision: stable, CandidateRevision: cand, LatestRevision: latest,
			Message: "why", RolloutDetails: apiv1.RolloutDetails{RejectedRevision: rejected}}
	}
	cases := []struct {
		name           string
		st             apiv1.AppStatus
		done, promoted bool
		why            string
	}{
		{"not started yet", st(1, 0, 2, 0, apiv1.PhasePending), false, false, ""},
		{"in progress", st(1, 2, 2, 0, apiv1.PhaseProgressing), false, false, ""},
		{"promoted", st(2, 0, 2, 0, apiv1.PhaseHealthy), true, true, ""},
		{"first revision serves", st(1, 0, 1, 0, apiv1.PhaseHealthy), true, true, ""},
		{"failed", st(1, 0, 2, 2, apiv1.PhaseFailed), true, false, "Failed: why"},
		{"aborted", st(1, 0, 2, 2, apiv1.PhaseAborted), true, false, "Aborted: why"},
		{"replaced by a newer revision", st(1, 3, 3, 0, apiv1.PhaseProgressing), true, false, "a newer revision (3)"},
		{"undone after promotion", st(1, 0, 2, 2, apiv1.PhaseHealthy), true, false, "Healthy: why"},
	}
	for _, c := range cases {
		done, promoted, why := rolloutOutcome(c.st, 2)
		if c.name == "first revision serves" {
			done, promoted, why = rolloutOutcome(c.st, 1)
		}
		if done != c.done || promoted != c.promoted || !strings.Contains(why, c.why) {
			t.Errorf("%s: got %v %v %q", c.name, done, promoted, why)
		}
	}
}

func TestParseEnv(t *testing.T) {
	got, err := parseEnv([]string{"A=1", "B=x=y", "C="})
	if err != nil || got["A"] != "1" || got["B"] != "x=y" || got["C"] != "" || len(got) != 3 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := parseEnv([]string{"nope"}); err == nil {
		t.Fatal("a pair without = was accepted")
	}
}
