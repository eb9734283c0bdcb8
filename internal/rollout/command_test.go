package rollout

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestCommand(t *testing.T) {
	warmUntil := t0.Add(time.Hour)
	waiting := rolling(1, 2, t0)
	undoing := rolling(2, 1, t0)
	undoing.Rollout.Rollback = true
	promoted := serving(2, 2)
	promoted.PreviousRevision, promoted.WarmSince, promoted.ScaleDownAt = 1, &t0, &warmUntil
	scaledDown := serving(2, 2)
	scaledDown.PreviousRevision = 1
	paused := serving(1, 1)
	paused.Paused = true
	aborted := serving(1, 2)
	aborted.Phase, aborted.RejectedRevision = apiv1.PhaseAborted, 2
	pausedRollout := rolling(1, 2, t0)
	pausedRollout.Paused = true

	cases := []struct {
		name    string
		st      apiv1.AppStatus
		action  string
		refused bool
		event   string
		check   func(*testing.T, apiv1.AppStatus)
	}{
		{name: "promote --full skips every remaining step", st: pausedRollout, action: apiv1.ActionPromoteFull, event: "PromoteRequested",
			check: func(t *testing.T, s apiv1.AppStatus) {
				if !s.Rollout.PromoteFull || s.Rollout.PromoteRequested || s.Paused {
					t.Errorf("%+v paused %v", s.Rollout, s.Paused)
				}
			}},
		{name: "retry rolls an aborted revision out again", st: aborted, action: apiv1.ActionRetry, event: "RetryRequested",
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.RejectedRevision != 0 {
					t.Errorf("rejected %d", s.RejectedRevision)
				}
			}},
		{name: "retry refuses when nothing was aborted", st: waiting, action: apiv1.ActionRetry, refused: true},
		{name: "promote asks the planner to promote", st: waiting, action: apiv1.ActionPromote, event: "PromoteRequested",
			check: func(t *testing.T, s apiv1.AppStatus) {
				if !s.Rollout.PromoteRequested || s.CandidateRevision != 2 {
					t.Errorf("%+v", s.Rollout)
				}
			}},
		{name: "promote lifts a pause", st: pausedRollout, action: apiv1.ActionPromote, event: "PromoteRequested",
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.Paused || !s.Rollout.PromoteRequested {
					t.Errorf("%+v", s)
				}
			}},
		{name: "promote without a rollout is refused", st: serving(1, 1), action: apiv1.ActionPromote, refused: true},
		{name: "abort stops the candidate and rejects it", st: waiting, action: apiv1.ActionAbort, event: apiv1.ReasonAborted,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.CandidateRevision != 0 || s.RejectedRevision != 2 || s.Phase != apiv1.PhaseAborted || s.Rollout != nil || s.StableRevision != 1 {
					t.Errorf("%+v", s)
				}
				if !strings.Contains(s.Message, "rollout of revision 2 aborted by admin; revision 1 serves") {
					t.Errorf("message %q", s.Message)
				}
			}},
		{name: "abort of an undo keeps the undone revision rejected", st: func() apiv1.AppStatus { s := undoing; s.RejectedRevision = 2; return s }(),
			action: apiv1.ActionAbort, event: apiv1.ReasonAborted,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.RejectedRevision != 2 || s.StableRevision != 2 || s.CandidateRevision != 0 {
					t.Errorf("%+v", s)
				}
			}},
		{name: "abort without a rollout is refused", st: serving(1, 1), action: apiv1.ActionAbort, refused: true},
		{name: "undo during a rollout aborts it", st: waiting, action: apiv1.ActionUndo, event: apiv1.ReasonUndone,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.CandidateRevision != 0 || s.RejectedRevision != 2 || s.Phase != apiv1.PhaseAborted {
					t.Errorf("%+v", s)
				}
			}},
		{name: "undo to a warm revision", st: promoted, action: apiv1.ActionUndo, event: apiv1.ReasonUndone,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.CandidateRevision != 1 || !s.Rollout.Rollback || s.RejectedRevision != 2 || s.Phase != apiv1.PhaseProgressing {
					t.Errorf("%+v", s)
				}
				if !strings.Contains(s.Message, "it is warm and takes all traffic at once") {
					t.Errorf("message %q", s.Message)
				}
			}},
		{name: "undo to a stopped revision starts it first", st: scaledDown, action: apiv1.ActionUndo, event: apiv1.ReasonUndone,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.CandidateRevision != 1 || !strings.Contains(s.Message, "it starts first") {
					t.Errorf("%+v", s)
				}
			}},
		{name: "undo keeps a newer rejected revision rejected", st: func() apiv1.AppStatus { s := promoted; s.LatestRevision, s.RejectedRevision = 3, 3; return s }(),
			action: apiv1.ActionUndo, event: apiv1.ReasonUndone,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.RejectedRevision != 3 {
					t.Errorf("rejected %d", s.RejectedRevision)
				}
			}},
		{name: "undo without a previous revision is refused", st: serving(1, 1), action: apiv1.ActionUndo, refused: true},
		{name: "undo during an undo is refused", st: undoing, action: apiv1.ActionUndo, refused: true},
		{name: "pause", st: serving(1, 1), action: apiv1.ActionPause, event: apiv1.ReasonPaused,
			check: func(t *testing.T, s apiv1.AppStatus) {
				if !s.Paused {
					t.Error("not paused")
				}
			}},
		{name: "pause twice changes nothing", st: paused, action: apiv1.ActionPause, event: ""},
		{name: "resume lifts a pause", st: paused, action: apiv1.ActionResume, event: "Resumed",
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.Paused {
					t.Error("still paused")
				}
			}},
		{name: "resume retries a rejected revision", st: aborted, action: apiv1.ActionResume, event: "RetryRequested",
			check: func(t *testing.T, s apiv1.AppStatus) {
				if s.RejectedRevision != 0 {
					t.Errorf("%+v", s)
				}
			}},
		{name: "resume with nothing to resume is refused", st: serving(1, 1), action: apiv1.ActionResume, refused: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := cloneStatus(c.st)
			got, ev, err := Command(c.st, c.action, "admin", t0.Add(time.Minute))
			if !reflect.DeepEqual(before, c.st) {
				t.Fatal("Command changed its input")
			}
			if c.refused {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("err %v, want refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Reason != c.event {
				t.Errorf("event %q, want %q", ev.Reason, c.event)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
	if _, _, err := Command(serving(1, 1), "frobnicate", "admin", t0); !errors.Is(err, ErrUnknownAction) {
		t.Fatalf("unknown action: %v", err)
	}
}
