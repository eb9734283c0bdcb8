package rollout

import (
	"fmt"
	"testing"
	"time"

	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// t0 is the time every planner test starts from.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// appSpec returns an app spec with defaults; mod changes it first.
func appSpec(mod func(*spec.App)) spec.App {
	replicas := 1
	a := spec.App{
		Listen:  "127.0.0.1:8080",
		Runtime: spec.Runtime{Process: &spec.ProcessRuntime{Command: []string{"./hello"}, Replicas: &replicas}},
	}
	if mod != nil {
		mod(&a)
	}
	a.SetDefaults()
	return a
}

// blueGreen makes the spec blue-green with a preview listener.
func blueGreen(mods ...func(*spec.BlueGreenStrategy)) func(*spec.App) {
	return func(a *spec.App) {
		bg := &spec.BlueGreenStrategy{PreviewListen: "127.0.0.1:8081"}
		for _, m := range mods {
			m(bg)
		}
		a.Strategy = &spec.Strategy{BlueGreen: bg}
	}
}

func manual(bg *spec.BlueGreenStrategy) { bg.AutoPromote = ptr(false) }

func after(d time.Duration) func(*spec.BlueGreenStrategy) {
	return func(bg *spec.BlueGreenStrategy) { bg.AutoPromoteAfter = spec.Dur(d) }
}

func scaleDownAfter(d time.Duration) func(*spec.BlueGreenStrategy) {
	return func(bg *spec.BlueGreenStrategy) { bg.ScaleDownDelay = spec.Dur(d) }
}

func replicas(n int) func(*spec.App) {
	return func(a *spec.App) { a.Runtime.Process.Replicas = &n }
}

func both(mods ...func(*spec.App)) func(*spec.App) {
	return func(a *spec.App) {
		for _, m := range mods {
			m(a)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// healthy is a ready instance of revision rev.
func healthy(id string, rev int) Instance {
	return Instance{ID: id, Revision: rev, Address: addrOf(id), State: runtime.StateRunning, Health: health.StatusHealthy}
}

// failing is a running instance whose checks fail.
func failing(id string, rev int) Instance {
	return Instance{ID: id, Revision: rev, Address: addrOf(id), State: runtime.StateRunning, Health: health.StatusUnhealthy, Reason: "GET /health: 503"}
}

// starting is an instance whose health is not known yet.
func starting(id string, rev int) Instance {
	return Instance{ID: id, Revision: rev, Address: addrOf(id), State: runtime.StateStarting, Health: health.StatusUnknown}
}

// stopping is an instance its driver is stopping or draining, whose last
// check passed.
func stopping(id string, rev int) Instance {
	return Instance{ID: id, Revision: rev, Address: addrOf(id), State: runtime.StateStopping, Health: health.StatusHealthy}
}

func addrOf(id string) string {
	n := 0
	for _, c := range id {
		n = n*31 + int(c)
	}
	return fmt.Sprintf("127.0.0.1:%d", 20000+n%20000)
}

// input builds a planner input for app "hello" with revisions 1–5
// (versions v1–v5) of the spec's size.
func input(a spec.App, st apiv1.AppStatus, now time.Time, insts ...Instance) Input {
	size := 1
	if a.Runtime.Process != nil && a.Runtime.Process.Replicas != nil {
		size = *a.Runtime.Process.Replicas
	}
	revs := map[int]RevisionInfo{}
	for r := 1; r <= 5; r++ {
		revs[r] = RevisionInfo{Version: fmt.Sprintf("v%d", r), Size: size}
	}
	return Input{App: "hello", Spec: a, Status: st, Revisions: revs, Now: now,
		Observed: Observed{Instances: insts, Since: t0.Add(-time.Hour)}}
}

// serving is the status of an app whose revision rev serves alone.
func serving(rev, latest int) apiv1.AppStatus {
	return apiv1.AppStatus{Phase: apiv1.PhaseHealthy, LatestRevision: latest, StableRevision: rev,
		RolloutDetails: apiv1.RolloutDetails{Reason: apiv1.ReasonServing}}
}

// rolling is the status of a rollout of cand over stable that started at
// start.
func rolling(stable, cand int, start time.Time) apiv1.AppStatus {
	st := serving(stable, cand)
	st.CandidateRevision, st.Phase = cand, apiv1.PhaseProgressing
	st.Rollout = &apiv1.RolloutState{StartedAt: start, ProgressAt: start}
	return st
}

// ready marks the rollout's candidate as fully healthy since at, with its
// first step started then.
func ready(st apiv1.AppStatus, at time.Time, readyCount int) apiv1.AppStatus {
	st.Rollout.ReadyAt, st.Rollout.StepStartedAt = &at, &at
	st.Revisions = append(st.Revisions, apiv1.RevisionStatus{Revision: st.CandidateRevision, Ready: readyCount})
	return st
}

func eventReasons(evs []Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return out
}

// routesOf finds the SetRoutes action.
func routesOf(t *testing.T, acts []Action) SetRoutes {
	t.Helper()
	for _, a := range acts {
		if r, ok := a.(SetRoutes); ok {
			return r
		}
	}
	t.Fatal("no SetRoutes action")
	return SetRoutes{}
}

// describeTable renders a table as "rev:id,id" (+ "cand@weight"), or "-".
func describeTable(t *Table) string {
	if t == nil {
		return "-"
	}
	s := backendString(t.Stable)
	if t.Candidate != nil {
		s += fmt.Sprintf(" + %s@%d", backendString(*t.Candidate), t.Weight)
	}
	return s
}

func backendString(b Backend) string {
	s := fmt.Sprintf("%d:", b.Revision)
	for i, e := range b.Endpoints {
		if i > 0 {
			s += ","
		}
		s += e.ID
	}
	return s
}

// ensured and stopped list the revisions of Ensure and Stop actions.
func ensured(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if e, ok := a.(Ensure); ok {
			out = append(out, fmt.Sprintf("%d×%d", e.Revision, e.Replicas))
		}
	}
	return out
}

func stopped(acts []Action) []int {
	var out []int
	for _, a := range acts {
		if s, ok := a.(Stop); ok {
			out = append(out, s.Revision)
		}
	}
	return out
}
