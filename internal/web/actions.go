package web

import (
	"fmt"
	"time"

	"sluice.dev/sluice/internal/rollout"
	"sluice.dev/sluice/pkg/apiv1"
)

// rolloutChoice is a rollout action the app page offers, with what it will
// do in words, for its confirmation.
type rolloutChoice struct {
	// Action is the API's action name; Label the button's text.
	Action, Label string
	// Effect says what will happen, with the app's revisions and weights.
	Effect string
	// Danger marks actions that take traffic away from a revision.
	Danger bool
}

// rolloutChoices are the actions that apply to an app as it is now: those
// that the rollout's own command logic would accept and that change
// something. The order is the buttons'.
func rolloutChoices(st apiv1.AppStatus, now time.Time) []rolloutChoice {
	var out []rolloutChoice
	for _, a := range []string{apiv1.ActionPromote, apiv1.ActionPromoteFull, apiv1.ActionPause, apiv1.ActionResume,
		apiv1.ActionRetry, apiv1.ActionAbort, apiv1.ActionUndo} {
		if a == apiv1.ActionUndo && st.CandidateRevision != 0 {
			continue // during a rollout undo is abort, which is offered
		}
		if a == apiv1.ActionPromoteFull && st.Strategy != rollout.StrategyCanary {
			continue
		}
		if a == apiv1.ActionResume && !st.Paused {
			continue // resume of a rejected revision is offered as retry
		}
		if _, ev, err := rollout.Command(st, a, "dashboard", now); err != nil || ev.Reason == "" {
			continue
		}
		out = append(out, describeChoice(st, a))
	}
	return out
}

// choiceFor returns the choice for action, if it applies now.
func choiceFor(st apiv1.AppStatus, action string, now time.Time) (rolloutChoice, bool) {
	for _, c := range rolloutChoices(st, now) {
		if c.Action == action {
			return c, true
		}
	}
	return rolloutChoice{}, false
}

// describeChoice says what an action will do to this app.
func describeChoice(st apiv1.AppStatus, action string) rolloutChoice {
	cand, stable, prev := st.CandidateRevision, st.StableRevision, st.PreviousRevision
	switch action {
	case apiv1.ActionPromote:
		effect := fmt.Sprintf("Revision %d takes all traffic at once, now that it is healthy. Revision %d stays warm for the scale-down delay, so that undo is instant.", cand, stable)
		if st.Strategy == rollout.StrategyCanary {
			effect = fmt.Sprintf("The current step of revision %d's rollout (step %d of %d, at %s) is skipped, with its pause or analysis; the rollout goes on with the next step.",
				cand, st.Step+1, max(st.Steps, 1), formatBasisPoints(st.Weight))
		}
		return rolloutChoice{Action: action, Label: "Promote", Effect: effect}
	case apiv1.ActionPromoteFull:
		return rolloutChoice{Action: action, Label: "Promote fully", Effect: fmt.Sprintf(
			"Every remaining step is skipped, with its analysis: revision %d is scaled to full size and then takes all traffic from revision %d.", cand, stable)}
	case apiv1.ActionPause:
		if cand != 0 {
			return rolloutChoice{Action: action, Label: "Pause", Effect: fmt.Sprintf(
				"Revision %d's rollout holds at %s: it takes no further step and is not promoted until it is resumed.", cand, formatBasisPoints(st.Weight))}
		}
		return rolloutChoice{Action: action, Label: "Pause", Effect: "No new revision of this app is rolled out until rollouts are resumed."}
	case apiv1.ActionResume:
		return rolloutChoice{Action: action, Label: "Resume", Effect: "Rollouts of this app go on from where they were held."}
	case apiv1.ActionRetry:
		return rolloutChoice{Action: action, Label: "Retry", Effect: fmt.Sprintf(
			"Revision %d, whose rollout was aborted, failed or undone, is rolled out again from its first step.", st.LatestRevision)}
	case apiv1.ActionAbort:
		return rolloutChoice{Action: action, Label: "Abort", Danger: true, Effect: fmt.Sprintf(
			"Revision %d gets no more traffic at once (its weight falls from %s to 0) and is stopped after a short delay; revision %d keeps serving. Revision %d is not rolled out again until it is retried or a newer revision comes.",
			cand, formatBasisPoints(st.Weight), stable, cand)}
	case apiv1.ActionUndo:
		effect := fmt.Sprintf("Traffic returns from revision %d to revision %d", stable, prev)
		if st.ScaleDownAt != nil {
			effect += ", at once: it is still warm."
		} else {
			effect += ": it is started first and takes the traffic once healthy."
		}
		return rolloutChoice{Action: action, Label: "Undo", Danger: true, Effect: effect}
	}
	return rolloutChoice{Action: action, Label: action}
}
