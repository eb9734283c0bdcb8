package rollout

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// want is what a planner case checks; zero fields are checked too, except
// where noted.
type want struct {
	phase, reason        string
	stable, candidate    int
	previous, rejected   int
	weight               int
	events               []string
	ensure               []string
	main, preview        string
	stop                 []int
	wakeAt               time.Time
	message              string // a substring; "" checks nothing
	scaleDownAt          *time.Time
	promoteStillAsked    bool
	previewAddress       string
	readyAtSet, stepsSet bool
}

func TestPlanTransitions(t *testing.T) {
	bg := appSpec(blueGreen())
	bgManual := appSpec(blueGreen(manual))
	bgAfter := appSpec(blueGreen(after(30 * time.Second)))
	bgTwo := appSpec(both(blueGreen(), replicas(2)))
	deadline := t0.Add(spec.DefaultProgressDeadline)
	warmUntil := t0.Add(spec.DefaultScaleDownDelay)
	later := t0.Add(time.Minute)

	cases := []struct {
		name string
		in   Input
		want want
	}{
		{
			name: "first revision starts",
			in:   input(bg, apiv1.AppStatus{Phase: apiv1.PhasePending, LatestRevision: 1}, t0),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, candidate: 1,
				events: []string{apiv1.ReasonRolloutStarted}, ensure: []string{"1×1"}, main: "1:", preview: "-", wakeAt: deadline},
		},
		{
			name: "first revision serves from its first healthy instance",
			in:   input(bgTwo, rolling(0, 1, t0), later, healthy("a", 1), starting("b", 1)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, candidate: 1,
				ensure: []string{"1×2"}, main: "1:a", preview: "-", wakeAt: later.Add(spec.DefaultProgressDeadline),
				message: "1/2 instances healthy"},
		},
		{
			name: "first revision healthy becomes stable",
			in:   input(bg, rolling(0, 1, t0), later, healthy("a", 1)),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonServing, stable: 1,
				events: []string{apiv1.ReasonCandidateReady, apiv1.ReasonServing}, ensure: []string{"1×1"}, main: "1:a", preview: "-",
				message: "revision 1 (v1) serves all traffic"},
		},
		{
			name: "first revision past its deadline fails and stops",
			in:   input(bg, rolling(0, 1, t0), deadline, failing("a", 1)),
			want: want{phase: apiv1.PhaseFailed, reason: apiv1.ReasonProgressDeadline, rejected: 1,
				events: []string{apiv1.ReasonProgressDeadline}, main: "-", preview: "-", stop: []int{1},
				message: "a: GET /health: 503; no revision serves"},
		},
		{
			name: "a new revision starts beside stable and is previewed",
			in:   input(bg, serving(1, 2), t0, healthy("a", 1)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				events: []string{apiv1.ReasonRolloutStarted}, ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:",
				wakeAt: deadline, previewAddress: "127.0.0.1:8081", message: "0/1 instances healthy"},
		},
		{
			name: "a healthy candidate is promoted at once with autoPromote",
			in:   input(bg, rolling(1, 2, t0), t0, healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonPromoted, stable: 2, previous: 1,
				events: []string{apiv1.ReasonCandidateReady, apiv1.ReasonPromoted}, ensure: []string{"1×1", "2×1"},
				main: "2:b", preview: "-", wakeAt: warmUntil, scaleDownAt: &warmUntil, message: "revision 1 stays warm until"},
		},
		{
			name: "autoPromoteAfter waits, previewing the candidate",
			in:   input(bgAfter, rolling(1, 2, t0), t0, healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateReady, stable: 1, candidate: 2,
				events: []string{apiv1.ReasonCandidateReady}, ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:b",
				wakeAt: t0.Add(30 * time.Second), previewAddress: "127.0.0.1:8081", readyAtSet: true, stepsSet: true,
				message: "promoting at 2026-03-01T12:00:30Z"},
		},
		{
			name: "autoPromoteAfter promotes when it has passed",
			in:   input(bgAfter, ready(rolling(1, 2, t0), t0, 1), t0.Add(30*time.Second), healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonPromoted, stable: 2, previous: 1,
				events: []string{apiv1.ReasonPromoted}, ensure: []string{"1×1", "2×1"}, main: "2:b", preview: "-",
				wakeAt: t0.Add(30*time.Second + spec.DefaultScaleDownDelay), scaleDownAt: ptr(t0.Add(30*time.Second + spec.DefaultScaleDownDelay))},
		},
		{
			name: "without autoPromote a healthy candidate waits for promote",
			in:   input(bgManual, rolling(1, 2, t0), t0, healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhasePaused, reason: apiv1.ReasonWaitingForPromote, stable: 1, candidate: 2,
				events: []string{apiv1.ReasonCandidateReady}, ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:b",
				previewAddress: "127.0.0.1:8081", readyAtSet: true, stepsSet: true,
				message: "run 'sluice rollout promote hello'"},
		},
		{
			name: "promote switches all traffic to the waiting candidate",
			in: func() Input {
				st := ready(rolling(1, 2, t0), t0, 1)
				st.Rollout.PromoteRequested = true
				return input(bgManual, st, later, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonPromoted, stable: 2, previous: 1,
				events: []string{apiv1.ReasonPromoted}, ensure: []string{"1×1", "2×1"}, main: "2:b", preview: "-",
				wakeAt: later.Add(spec.DefaultScaleDownDelay), scaleDownAt: ptr(later.Add(spec.DefaultScaleDownDelay))},
		},
		{
			name: "promote asked before the candidate is healthy waits for health",
			in: func() Input {
				st := rolling(1, 2, t0)
				st.Rollout.PromoteRequested = true
				return input(bgManual, st, later, healthy("a", 1), starting("b", 2))
			}(),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:", wakeAt: deadline,
				previewAddress: "127.0.0.1:8081", promoteStillAsked: true},
		},
		{
			name: "a paused rollout holds a healthy candidate",
			in: func() Input {
				st := rolling(1, 2, t0)
				st.Paused = true
				return input(bg, st, t0, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhasePaused, reason: apiv1.ReasonPaused, stable: 1, candidate: 2,
				events: []string{apiv1.ReasonCandidateReady}, ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:b",
				previewAddress: "127.0.0.1:8081", readyAtSet: true, message: "'sluice rollout resume hello'"},
		},
		{
			name: "a paused blue-green without steps still holds",
			in: func() Input {
				st := ready(rolling(1, 2, t0), t0, 1)
				st.Paused = true
				return input(bgAfter, st, later, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhasePaused, reason: apiv1.ReasonPaused, stable: 1, candidate: 2,
				ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:b", previewAddress: "127.0.0.1:8081",
				readyAtSet: true, stepsSet: true},
		},
		{
			name: "a candidate that never gets healthy fails at progressDeadline and stops",
			in:   input(bg, rolling(1, 2, t0), deadline, healthy("a", 1), failing("b", 2)),
			want: want{phase: apiv1.PhaseFailed, reason: apiv1.ReasonProgressDeadline, stable: 1, rejected: 2,
				events: []string{apiv1.ReasonProgressDeadline}, ensure: []string{"1×1"}, main: "1:a", preview: "-", stop: []int{2},
				message: "revision 2 did not become healthy within progressDeadline 10m0s: 0/1 instances healthy; b: GET /health: 503; revision 1 serves"},
		},
		{
			name: "the deadline counts from sluice's start, not from before a restart",
			in: func() Input {
				in := input(bg, rolling(1, 2, t0), deadline, healthy("a", 1))
				in.Observed.Since = deadline.Add(-time.Minute)
				return in
			}(),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:", previewAddress: "127.0.0.1:8081",
				wakeAt: deadline.Add(-time.Minute + spec.DefaultProgressDeadline), message: "0/1 instances healthy"},
		},
		{
			name: "each newly healthy instance is progress",
			in:   input(bgTwo, rolling(1, 2, t0), deadline.Add(-time.Second), healthy("a", 1), healthy("c", 1), healthy("b", 2), starting("d", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				ensure: []string{"1×2", "2×2"}, main: "1:a,c", preview: "2:b", previewAddress: "127.0.0.1:8081",
				wakeAt: deadline.Add(-time.Second + spec.DefaultProgressDeadline)},
		},
		{
			name: "a candidate that cannot run fails at once",
			in: func() Input {
				in := input(bg, rolling(1, 2, t0), t0, healthy("a", 1))
				in.Observed.Unrunnable = map[int]string{2: "env DB_PASSWORD: no secrets store"}
				return in
			}(),
			want: want{phase: apiv1.PhaseFailed, reason: apiv1.ReasonInvalidWorkload, stable: 1, rejected: 2,
				events: []string{apiv1.ReasonInvalidWorkload}, ensure: []string{"1×1"}, main: "1:a", preview: "-",
				message: "revision 2 cannot run: env DB_PASSWORD: no secrets store"},
		},
		{
			name: "a candidate that loses health waits again, from now",
			in:   input(bgManual, ready(rolling(1, 2, t0), t0, 1), later, healthy("a", 1), failing("b", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				events: []string{apiv1.ReasonCandidateNotReady}, ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "2:",
				previewAddress: "127.0.0.1:8081", wakeAt: later.Add(spec.DefaultProgressDeadline), stepsSet: false},
		},
		{
			name: "a newer revision replaces the candidate in progress",
			in:   input(bg, func() apiv1.AppStatus { s := rolling(1, 2, t0); s.LatestRevision = 3; return s }(), later, healthy("a", 1), failing("b", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 3,
				events: []string{apiv1.ReasonRolloutSuperseded, apiv1.ReasonRolloutStarted}, ensure: []string{"1×1", "3×1"},
				main: "1:a", preview: "3:", previewAddress: "127.0.0.1:8081", stop: []int{2}, wakeAt: later.Add(spec.DefaultProgressDeadline)},
		},
		{
			name: "a rejected revision is not rolled out again",
			in: func() Input {
				st := serving(1, 2)
				st.Phase, st.Reason, st.Message, st.RejectedRevision = apiv1.PhaseAborted, apiv1.ReasonAborted, "aborted by admin", 2
				return input(bg, st, later, healthy("a", 1))
			}(),
			want: want{phase: apiv1.PhaseAborted, reason: apiv1.ReasonAborted, stable: 1, rejected: 2,
				ensure: []string{"1×1"}, main: "1:a", preview: "-", message: "aborted by admin"},
		},
		{
			name: "an aborted candidate's instances stop",
			in: func() Input {
				st := serving(1, 2)
				st.Phase, st.Reason, st.RejectedRevision = apiv1.PhaseAborted, apiv1.ReasonAborted, 2
				return input(bg, st, later, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhaseAborted, reason: apiv1.ReasonAborted, stable: 1, rejected: 2,
				ensure: []string{"1×1"}, main: "1:a", preview: "-", stop: []int{2}},
		},
		{
			name: "the previous revision stays warm until scaleDownAt",
			in: func() Input {
				st := serving(2, 2)
				st.Reason, st.PreviousRevision, st.WarmSince, st.ScaleDownAt = apiv1.ReasonPromoted, 1, &t0, &warmUntil
				return input(bg, st, later, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonPromoted, stable: 2, previous: 1,
				ensure: []string{"1×1", "2×1"}, main: "2:b", preview: "-", wakeAt: warmUntil, scaleDownAt: &warmUntil},
		},
		{
			name: "at scaleDownAt the previous revision stops",
			in: func() Input {
				st := serving(2, 2)
				st.Reason, st.PreviousRevision, st.WarmSince, st.ScaleDownAt = apiv1.ReasonPromoted, 1, &t0, &warmUntil
				return input(bg, st, warmUntil, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonServing, stable: 2, previous: 1,
				events: []string{apiv1.ReasonScaledDown}, ensure: []string{"2×1"}, main: "2:b", preview: "-", stop: []int{1}},
		},
		{
			name: "scaleDownDelay 0 stops the old revision right after promotion",
			in:   input(appSpec(blueGreen(scaleDownAfter(0))), rolling(1, 2, t0), t0, healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonServing, stable: 2, previous: 1,
				events: []string{apiv1.ReasonCandidateReady, apiv1.ReasonPromoted, apiv1.ReasonScaledDown},
				ensure: []string{"2×1"}, main: "2:b", preview: "-", stop: []int{1}},
		},
		{
			name: "an undo to a warm revision switches at once",
			in: func() Input {
				st, _, _ := Command(func() apiv1.AppStatus {
					s := serving(2, 2)
					s.PreviousRevision, s.WarmSince, s.ScaleDownAt = 1, &t0, &warmUntil
					return s
				}(), apiv1.ActionUndo, "admin", later)
				return input(bg, st, later, healthy("a", 1), healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonRolledBack, stable: 1, previous: 2, rejected: 2,
				events: []string{apiv1.ReasonCandidateReady, apiv1.ReasonRolledBack}, ensure: []string{"1×1", "2×1"},
				main: "1:a", preview: "-", wakeAt: later.Add(spec.DefaultScaleDownDelay), scaleDownAt: ptr(later.Add(spec.DefaultScaleDownDelay))},
		},
		{
			name: "an undo to a stopped revision starts it while stable serves",
			in: func() Input {
				st, _, _ := Command(func() apiv1.AppStatus { s := serving(2, 2); s.PreviousRevision = 1; return s }(), apiv1.ActionUndo, "admin", later)
				return input(bg, st, later, healthy("b", 2))
			}(),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 2, candidate: 1, previous: 1, rejected: 2,
				ensure: []string{"1×1", "2×1"}, main: "2:b", preview: "-", wakeAt: later.Add(spec.DefaultProgressDeadline)},
		},
		{
			name: "a stable revision with unhealthy instances is degraded",
			in:   input(appSpec(replicas(2)), serving(1, 1), later, healthy("a", 1), failing("b", 1)),
			want: want{phase: apiv1.PhaseDegraded, reason: apiv1.ReasonInstancesNotReady, stable: 1,
				ensure: []string{"1×2"}, main: "1:a", preview: "-", message: "1/2 instances healthy; b: GET /health: 503"},
		},
		{
			name: "a stable revision that cannot run is degraded",
			in: func() Input {
				in := input(bg, serving(1, 1), later)
				in.Observed.Unrunnable = map[int]string{1: "command \"./hello\": no such file"}
				return in
			}(),
			want: want{phase: apiv1.PhaseDegraded, reason: apiv1.ReasonInvalidWorkload, stable: 1,
				ensure: []string{"1×1"}, main: "1:", preview: "-", message: "revision 1 cannot run"},
		},
		{
			name: "a degraded stable revision is healthy again",
			in: func() Input {
				st := serving(1, 1)
				st.Phase, st.Reason = apiv1.PhaseDegraded, apiv1.ReasonInstancesNotReady
				return input(bg, st, later, healthy("a", 1))
			}(),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonServing, stable: 1, ensure: []string{"1×1"}, main: "1:a", preview: "-"},
		},
		{
			name: "instances of unknown revisions stop",
			in:   input(bg, serving(2, 2), later, healthy("b", 2), healthy("z", 4)),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonServing, stable: 2, ensure: []string{"2×1"}, main: "2:b", preview: "-", stop: []int{4}},
		},
		{
			name: "a canary candidate gets 1 % once healthy and its default analysis starts",
			in:   input(appSpec(nil), rolling(1, 2, t0), later, healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonAnalysisRunning, stable: 1, candidate: 2, weight: 100,
				events: []string{apiv1.ReasonCandidateReady, apiv1.ReasonWeightSet}, ensure: []string{"1×1", "2×1"}, main: "1:a + 2:b@100", preview: "-",
				readyAtSet: true, stepsSet: true, message: "revision 2 gets 1% of traffic; analysis (default) is running"},
		},
		{
			name: "instances a scale-down drains get no traffic",
			in:   input(appSpec(replicas(1)), serving(1, 1), later, healthy("a", 1), stopping("b", 1), stopping("c", 1)),
			want: want{phase: apiv1.PhaseHealthy, reason: apiv1.ReasonServing, stable: 1, ensure: []string{"1×1"}, main: "1:a", preview: "-"},
		},
		{
			name: "scaling up while instances drain counts only the running ones",
			in: input(appSpec(replicas(3)), serving(1, 1), later, healthy("a", 1), stopping("b", 1), stopping("c", 1),
				starting("d", 1), starting("e", 1)),
			want: want{phase: apiv1.PhaseDegraded, reason: apiv1.ReasonInstancesNotReady, stable: 1, ensure: []string{"1×3"},
				main: "1:a", preview: "-", message: "1/3 instances healthy"},
		},
		{
			name: "a draining candidate instance is neither previewed nor counted ready",
			in: input(bgTwo, rolling(1, 2, t0), later, healthy("a", 1), healthy("c", 1), stopping("x", 1),
				healthy("b", 2), stopping("d", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				ensure: []string{"1×2", "2×2"}, main: "1:a,c", preview: "2:b", previewAddress: "127.0.0.1:8081",
				wakeAt: later.Add(spec.DefaultProgressDeadline), message: "1/2 instances healthy"},
		},
		{
			name: "a draining canary instance gets no share of the candidate's weight",
			in:   input(appSpec(nil), rolling(1, 2, t0), later, healthy("a", 1), healthy("b", 2), stopping("x", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonAnalysisRunning, stable: 1, candidate: 2, weight: 100,
				events: []string{apiv1.ReasonCandidateReady, apiv1.ReasonWeightSet}, ensure: []string{"1×1", "2×1"}, main: "1:a + 2:b@100", preview: "-",
				readyAtSet: true, stepsSet: true},
		},
		{
			name: "a canary candidate gets no traffic before it is healthy",
			in:   input(appSpec(nil), rolling(1, 2, t0), later, healthy("a", 1), starting("b", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateNotReady, stable: 1, candidate: 2,
				ensure: []string{"1×1", "2×1"}, main: "1:a", preview: "-", wakeAt: deadline},
		},
		{
			name: "pre-promotion analysis runs before promotion",
			in: input(appSpec(blueGreen(func(bg *spec.BlueGreenStrategy) {
				bg.PrePromotionAnalysis = &spec.RolloutAnalysis{Templates: []spec.TemplateRef{{Name: "smoke"}}}
			})), rolling(1, 2, t0), later, healthy("a", 1), healthy("b", 2)),
			want: want{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonAnalysisRunning, stable: 1, candidate: 2,
				events: []string{apiv1.ReasonCandidateReady}, ensure: []string{"1×1", "2×1"},
				main: "1:a", preview: "2:b", previewAddress: "127.0.0.1:8081", readyAtSet: true, stepsSet: true,
				message: "pre-promotion analysis (smoke) is running: no measurement yet"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := cloneStatus(c.in.Status)
			p := Plan(c.in)
			if !reflect.DeepEqual(c.in.Status, before) {
				t.Fatal("Plan changed its input")
			}
			checkPlan(t, p, c.want)
			checkFixedPoint(t, c.in, p)
		})
	}
}

func checkPlan(t *testing.T, p Decision, w want) {
	t.Helper()
	st := p.Status
	got := want{phase: st.Phase, reason: st.Reason, stable: st.StableRevision, candidate: st.CandidateRevision,
		previous: st.PreviousRevision, rejected: st.RejectedRevision, weight: st.Weight,
		events: eventReasons(p.Events), ensure: ensured(p.Actions), stop: stopped(p.Actions), wakeAt: p.WakeAt,
		scaleDownAt: st.ScaleDownAt, previewAddress: st.PreviewAddress,
		message: w.message}
	r := routesOf(t, p.Actions)
	got.main, got.preview = describeTable(r.Main), describeTable(r.Preview)
	if st.Rollout != nil {
		got.promoteStillAsked = st.Rollout.PromoteRequested
		got.readyAtSet = st.Rollout.ReadyAt != nil
		got.stepsSet = st.Rollout.StepStartedAt != nil
	}
	if w.events == nil {
		w.events = []string{}
	}
	if !strings.Contains(st.Message, w.message) {
		t.Errorf("message %q lacks %q", st.Message, w.message)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("plan differs\n got %+v\nwant %+v\nmessage: %s", got, w, st.Message)
	}
}

// checkFixedPoint plans again from the plan's own status with the same
// observations: nothing may change and no event may repeat, so the
// controller can run the planner as often as it likes.
func checkFixedPoint(t *testing.T, in Input, p Decision) {
	t.Helper()
	in.Status = p.Status
	again := Plan(in)
	if !reflect.DeepEqual(again.Status, p.Status) {
		t.Errorf("planning again changed the status\nfirst  %+v\nsecond %+v", p.Status, again.Status)
	}
	if len(again.Events) > 0 {
		t.Errorf("planning again recorded %v", eventReasons(again.Events))
	}
	if !reflect.DeepEqual(again.Actions, p.Actions) {
		t.Errorf("planning again changed the actions\nfirst  %+v\nsecond %+v", p.Actions, again.Actions)
	}
}

func TestPlanReportsRevisionsAndInstances(t *testing.T) {
	st := rolling(1, 2, t0)
	st.PreviousRevision = 0
	p := Plan(input(appSpec(both(blueGreen(), replicas(2))), st, t0, healthy("a", 1), healthy("c", 1), failing("b", 2), starting("d", 2), healthy("z", 3)))
	got := p.Status.Revisions
	if len(got) != 3 {
		t.Fatalf("revisions %+v", got)
	}
	roles := []string{got[0].Role, got[1].Role, got[2].Role}
	if !slices.Equal(roles, []string{apiv1.RoleStable, apiv1.RoleCandidate, apiv1.RoleStopping}) {
		t.Fatalf("roles %v", roles)
	}
	if got[0].Ready != 2 || got[0].Replicas != 2 || got[1].Ready != 0 || got[2].Replicas != 0 || got[1].Version != "v2" {
		t.Fatalf("counts %+v", got)
	}
	b := got[1].Instances[0]
	if b.ID != "b" || b.Health != "Unhealthy" || b.State != "Running" || b.Reason != "GET /health: 503" {
		t.Fatalf("instance %+v", b)
	}
	if got[0].Instances[0].Reason != "" {
		t.Fatalf("a healthy instance has a reason: %+v", got[0].Instances[0])
	}
}

func TestPlanWholeBlueGreenRollout(t *testing.T) {
	a := appSpec(blueGreen(manual))
	st := apiv1.AppStatus{Phase: apiv1.PhasePending, LatestRevision: 1}
	now := t0
	step := func(insts ...Instance) Decision {
		t.Helper()
		p := Plan(input(a, st, now, insts...))
		st = p.Status
		now = now.Add(time.Second)
		return p
	}
	step()
	step(healthy("a", 1))
	if st.StableRevision != 1 || st.Phase != apiv1.PhaseHealthy {
		t.Fatalf("first revision: %+v", st)
	}
	st.LatestRevision = 2 // an apply made revision 2
	step(healthy("a", 1))
	p := step(healthy("a", 1), healthy("b", 2))
	if st.Phase != apiv1.PhasePaused || describeTable(routesOf(t, p.Actions).Main) != "1:a" {
		t.Fatalf("waiting for promote: %+v", st)
	}
	var err error
	if st, _, err = Command(st, apiv1.ActionPromote, "admin", now); err != nil {
		t.Fatal(err)
	}
	p = step(healthy("a", 1), healthy("b", 2))
	if st.StableRevision != 2 || describeTable(routesOf(t, p.Actions).Main) != "2:b" {
		t.Fatalf("promoted: %+v", st)
	}
	if st, _, err = Command(st, apiv1.ActionUndo, "admin", now); err != nil {
		t.Fatal(err)
	}
	p = step(healthy("a", 1), healthy("b", 2))
	if st.StableRevision != 1 || describeTable(routesOf(t, p.Actions).Main) != "1:a" || st.RejectedRevision != 2 {
		t.Fatalf("undone: %+v", st)
	}
	st.LatestRevision = 3 // deploy again
	step(healthy("a", 1), healthy("b", 2))
	if st.CandidateRevision != 3 {
		t.Fatalf("deploy after undo: %+v", st)
	}
	if st, _, err = Command(st, apiv1.ActionAbort, "admin", now); err != nil {
		t.Fatal(err)
	}
	p = step(healthy("a", 1), healthy("b", 2), healthy("c", 3))
	if st.Phase != apiv1.PhaseAborted || !slices.Equal(stopped(p.Actions), []int{3}) || describeTable(routesOf(t, p.Actions).Main) != "1:a" {
		t.Fatalf("aborted: %+v %v", st, p.Actions)
	}
	if st, _, err = Command(st, apiv1.ActionResume, "admin", now); err != nil {
		t.Fatal(err)
	}
	step(healthy("a", 1), healthy("b", 2))
	if st.CandidateRevision != 3 || st.Phase != apiv1.PhaseProgressing {
		t.Fatalf("retried: %+v", st)
	}
}
