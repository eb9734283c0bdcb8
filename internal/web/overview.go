package web

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"

	"sluice.dev/sluice/pkg/apiv1"
)

// appRow is one app on the overview.
type appRow struct {
	Name   string
	Status apiv1.AppStatus
	// Problem says what is wrong, when something is: the overview lists
	// these apps first.
	Problem string
	// Ready and Wanted count the instances of the revisions that serve.
	Ready, Wanted int
	// Stable and Candidate are the serving revisions' traffic, when the
	// proxy measured any.
	Stable, Candidate *apiv1.RevisionTraffic
}

// Busy reports whether a rollout is under way.
func (a appRow) Busy() bool { return a.Status.CandidateRevision != 0 }

// overviewRows builds the overview's rows from the apps and their traffic,
// problems first, then rollouts under way, then the rest, by name.
func overviewRows(apps []apiv1.Object, traffic map[string]apiv1.AppTraffic) []appRow {
	rows := make([]appRow, 0, len(apps))
	for _, o := range apps {
		row := appRow{Name: o.Metadata.Name}
		if len(o.Status) > 0 {
			_ = json.Unmarshal(o.Status, &row.Status) // a status that does not decode shows as Pending
		}
		if row.Status.Phase == "" {
			row.Status.Phase = apiv1.PhasePending
		}
		for _, rs := range row.Status.Revisions {
			if rs.Role == apiv1.RoleStable || rs.Role == apiv1.RoleCandidate {
				row.Ready += rs.Ready
				row.Wanted += rs.Replicas
			}
		}
		for _, t := range traffic[row.Name].Revisions {
			switch t.Revision {
			case row.Status.StableRevision:
				row.Stable = &t
			case row.Status.CandidateRevision:
				row.Candidate = &t
			}
		}
		row.Problem = appProblem(row)
		rows = append(rows, row)
	}
	rank := func(r appRow) int {
		switch {
		case r.Problem != "":
			return 0
		case r.Busy():
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rows, func(a, b appRow) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Name, b.Name))
	})
	return rows
}

// appProblem names what is wrong with an app, or "".
func appProblem(r appRow) string {
	switch r.Status.Phase {
	case apiv1.PhaseFailed, apiv1.PhaseAborted, apiv1.PhaseDegraded:
		return r.Status.Phase + ": " + cmp.Or(r.Status.Message, r.Status.Reason)
	}
	if r.Wanted > 0 && r.Ready < r.Wanted && r.Status.CandidateRevision == 0 {
		return "instances not ready"
	}
	if r.Stable != nil && r.Stable.ErrorRate >= 0.05 {
		return "stable errors"
	}
	if r.Candidate != nil && r.Candidate.ErrorRate >= 0.05 {
		return "candidate errors"
	}
	return ""
}

// overview lists every app with its health, revisions, rollout and
// traffic. ?part=1 renders only the live table, for the page's script.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	apps, err := s.api.List(ctx, "apps")
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	traffic := map[string]apiv1.AppTraffic{}
	for _, o := range apps {
		if t, err := s.api.Traffic(ctx, o.Metadata.Name, 0); err == nil {
			traffic[o.Metadata.Name] = t
		}
	}
	v := view{Title: "Apps", Nav: "apps", S: s, Data: overviewRows(apps, traffic)}
	if r.URL.Query().Get("part") == "1" {
		d.renderLive(w, "overview", v)
		return
	}
	d.render(w, http.StatusOK, "overview", v)
}
