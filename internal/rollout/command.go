package rollout

import (
	"errors"
	"fmt"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// ErrRefused means a rollout action does not apply to the app as it is,
// such as promoting when no rollout is in progress.
var ErrRefused = errors.New("rollout action refused")

// ErrUnknownAction means the action is not one of promote, abort, undo,
// pause and resume.
var ErrUnknownAction = errors.New("unknown rollout action")

// Command applies a rollout action that actor asked for to an app's
// status, and returns the new status and the event that records it (an
// empty Reason when nothing changed). It is pure; the planner carries the
// change out on its next pass. Errors wrap ErrRefused or ErrUnknownAction.
//
//   - promote: the candidate skips the wait before promotion (or the
//     current pause or manual analysis) and takes all traffic once healthy;
//     it also lifts a pause.
//   - abort: the candidate stops at once and stable keeps serving; the
//     revision is not rolled out again until resume or a newer revision.
//   - undo: during a rollout, the same as abort; after one, a return to the
//     previous revision, instant while it is warm, else after it has
//     started and become healthy.
//   - pause: no rollout takes a step or is promoted until resume.
//   - resume: lifts a pause, or retries a revision that was aborted, failed
//     or undone.
func Command(st apiv1.AppStatus, action, actor string, now time.Time) (apiv1.AppStatus, Event, error) {
	st = cloneStatus(st)
	switch action {
	case apiv1.ActionPromote:
		return promoteCommand(st, actor, false)
	case apiv1.ActionPromoteFull:
		return promoteCommand(st, actor, true)
	case apiv1.ActionRetry:
		return retryCommand(st, actor)
	case apiv1.ActionAbort:
		return abortCommand(st, actor, apiv1.ReasonAborted)
	case apiv1.ActionUndo:
		return undoCommand(st, actor, now)
	case apiv1.ActionPause:
		if st.Paused {
			return st, Event{}, nil
		}
		st.Paused = true
		return st, Event{Reason: apiv1.ReasonPaused, Revision: st.CandidateRevision, Message: "rollouts paused by " + actor}, nil
	case apiv1.ActionResume:
		return resumeCommand(st, actor)
	}
	return st, Event{}, fmt.Errorf("%w %q: use promote, promote-full, abort, undo, pause, resume or retry", ErrUnknownAction, action)
}

func promoteCommand(st apiv1.AppStatus, actor string, full bool) (apiv1.AppStatus, Event, error) {
	cand := st.CandidateRevision
	if cand == 0 {
		return st, Event{}, fmt.Errorf("%w: promote: no rollout is in progress (%s)", ErrRefused, servingNote(st.StableRevision))
	}
	if st.Rollout == nil {
		st.Rollout = &apiv1.RolloutState{}
	}
	st.Paused = false
	msg := fmt.Sprintf("promotion of revision %d requested by %s: it skips the current pause or analysis", cand, actor)
	if full {
		st.Rollout.PromoteFull = true
		msg = fmt.Sprintf("full promotion of revision %d requested by %s: it skips every remaining step and takes all traffic once it runs at full size", cand, actor)
	} else {
		st.Rollout.PromoteRequested = true
	}
	return st, Event{Revision: cand, Reason: "PromoteRequested", Message: msg}, nil
}

// retryCommand rolls out again, from its first step, the latest revision
// after its rollout was aborted, failed or undone.
func retryCommand(st apiv1.AppStatus, actor string) (apiv1.AppStatus, Event, error) {
	latest := st.LatestRevision
	if latest != 0 && latest != st.StableRevision && latest != st.CandidateRevision && latest <= st.RejectedRevision {
		st.RejectedRevision = 0
		st.Paused = false
		return st, Event{Reason: "RetryRequested", Revision: latest,
			Message: fmt.Sprintf("%s asked to roll out revision %d again, from its first step", actor, latest)}, nil
	}
	return st, Event{}, fmt.Errorf("%w: retry: no aborted, failed or undone revision to roll out again (%s)", ErrRefused, servingNote(st.StableRevision))
}

func abortCommand(st apiv1.AppStatus, actor, reason string) (apiv1.AppStatus, Event, error) {
	cand := st.CandidateRevision
	if cand == 0 {
		return st, Event{}, fmt.Errorf("%w: abort: no rollout is in progress (%s)", ErrRefused, servingNote(st.StableRevision))
	}
	what := fmt.Sprintf("rollout of revision %d", cand)
	if st.Rollout != nil && st.Rollout.Rollback {
		what = fmt.Sprintf("undo to revision %d", cand)
	} else {
		st.RejectedRevision = max(st.RejectedRevision, cand)
	}
	st.CandidateRevision, st.Weight, st.Step, st.Steps, st.Rollout = 0, 0, 0, 0, nil
	st.PreviewAddress = ""
	verb := "aborted"
	if reason == apiv1.ReasonUndone {
		verb = "undone"
	}
	st.Phase, st.Reason = apiv1.PhaseAborted, reason
	st.Message = fmt.Sprintf("%s %s by %s; %s", what, verb, actor, servingNote(st.StableRevision))
	return st, Event{Warning: true, Revision: cand, Reason: reason, Message: st.Message}, nil
}

func undoCommand(st apiv1.AppStatus, actor string, now time.Time) (apiv1.AppStatus, Event, error) {
	if st.CandidateRevision != 0 {
		if st.Rollout != nil && st.Rollout.Rollback {
			return st, Event{}, fmt.Errorf("%w: undo: an undo to revision %d is in progress; 'rollout abort' stops it", ErrRefused, st.CandidateRevision)
		}
		return abortCommand(st, actor, apiv1.ReasonUndone)
	}
	prev, stable := st.PreviousRevision, st.StableRevision
	if prev == 0 || stable == 0 {
		return st, Event{}, fmt.Errorf("%w: undo: there is no previous revision to return to (%s)", ErrRefused, servingNote(stable))
	}
	st.RejectedRevision = max(st.RejectedRevision, stable)
	st.CandidateRevision, st.Weight, st.Step, st.Steps = prev, 0, 0, 0
	st.Rollout = &apiv1.RolloutState{StartedAt: now, ProgressAt: now, Rollback: true}
	how := "it starts first, then takes all traffic once healthy"
	if st.ScaleDownAt != nil {
		how = "it is warm and takes all traffic at once"
	}
	st.Phase, st.Reason = apiv1.PhaseProgressing, apiv1.ReasonUndone
	st.Message = fmt.Sprintf("undo by %s: returning from revision %d to revision %d; %s", actor, stable, prev, how)
	return st, Event{Revision: prev, Reason: apiv1.ReasonUndone, Message: st.Message}, nil
}

func resumeCommand(st apiv1.AppStatus, actor string) (apiv1.AppStatus, Event, error) {
	if st.Paused {
		st.Paused = false
		return st, Event{Reason: "Resumed", Revision: st.CandidateRevision, Message: "rollouts resumed by " + actor}, nil
	}
	latest := st.LatestRevision
	if latest != 0 && latest != st.StableRevision && latest != st.CandidateRevision && latest <= st.RejectedRevision {
		st.RejectedRevision = 0
		return st, Event{Reason: "RetryRequested", Revision: latest,
			Message: fmt.Sprintf("%s asked to roll out revision %d again", actor, latest)}, nil
	}
	return st, Event{}, fmt.Errorf("%w: resume: nothing is paused or held back (%s)", ErrRefused, servingNote(st.StableRevision))
}
