package rollout

import (
	"fmt"
	"strings"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// Strategy names, as AppStatus.Strategy reports them.
const (
	StrategyBlueGreen = "blueGreen"
	StrategyCanary    = "canary"
)

// strategy is what differs between blue-green and canary: the steps a
// healthy candidate goes through before promotion, where it is previewed,
// and how long the old stable revision stays warm.
type strategy struct {
	name           string
	steps          []step
	preview        string // listen address of the preview; "" for none
	scaleDownDelay time.Duration
}

// stepKind says what a step does.
type stepKind int

const (
	// stepSetWeight gives the candidate a share of the traffic.
	stepSetWeight stepKind = iota + 1
	// stepPause waits for a duration, or for `rollout promote`.
	stepPause
	// stepAnalysis would run analysis templates; until analysis exists it
	// waits for `rollout promote`, as a manual judgement.
	stepAnalysis
)

// step is one step of a rollout.
type step struct {
	kind stepKind
	// weight is the candidate's share for stepSetWeight, in basis points.
	weight int
	// duration bounds a pause; nil waits for `rollout promote`.
	duration *time.Duration
	// label describes the step in messages, e.g. "autoPromoteAfter 30s".
	label string
}

// strategyOf reads an app's strategy from its spec (defaults applied).
//
// Blue-green: [pre-promotion analysis], then a pause of autoPromoteAfter
// (none when it is zero), or until promoted when autoPromote is off.
//
// Canary: the spec's steps are not run yet; the candidate takes all
// traffic (setWeight 100 %) as soon as it is healthy. The canary strategy
// will build its steps from spec.strategy.canary.steps here.
func strategyOf(a spec.App) strategy {
	if a.Strategy != nil && a.Strategy.BlueGreen != nil {
		bg := a.Strategy.BlueGreen
		s := strategy{name: StrategyBlueGreen, preview: bg.PreviewListen, scaleDownDelay: durationOf(bg.ScaleDownDelay, spec.DefaultScaleDownDelay)}
		if bg.PrePromotionAnalysis != nil {
			s.steps = append(s.steps, analysisStep("pre-promotion analysis", bg.PrePromotionAnalysis))
		}
		switch after := durationOf(bg.AutoPromoteAfter, 0); {
		case bg.AutoPromote != nil && !*bg.AutoPromote:
			s.steps = append(s.steps, step{kind: stepPause, label: "autoPromote off"})
		case after > 0:
			s.steps = append(s.steps, step{kind: stepPause, duration: &after, label: "autoPromoteAfter " + after.String()})
		}
		return s
	}
	s := strategy{name: StrategyCanary, scaleDownDelay: spec.DefaultScaleDownDelay}
	if a.Strategy != nil && a.Strategy.Canary != nil {
		s.scaleDownDelay = durationOf(a.Strategy.Canary.ScaleDownDelay, spec.DefaultScaleDownDelay)
	}
	s.steps = []step{{kind: stepSetWeight, weight: maxWeight, label: "setWeight 100%"}}
	return s
}

// maxWeight is all of the traffic, in basis points.
const maxWeight = 10000

func analysisStep(label string, a *spec.RolloutAnalysis) step {
	names := make([]string, 0, len(a.Templates))
	for _, t := range a.Templates {
		names = append(names, t.Name)
	}
	return step{kind: stepAnalysis, label: label + " (" + strings.Join(names, ", ") + ")"}
}

func durationOf(d *spec.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// stepOutcome is what running a step for one plan gives.
type stepOutcome struct {
	done    bool
	phase   string
	reason  string
	message string
	wakeAt  time.Time
}

// runStep runs the current step of the rollout in p's status. The step
// started at started; entered is true on the plan that starts it.
func (p *planner) runStep(s step, started time.Time, entered bool) stepOutcome {
	st, ro := &p.st, p.st.Rollout
	cand := st.CandidateRevision
	switch s.kind {
	case stepSetWeight:
		st.Weight = s.weight
		return stepOutcome{done: true}
	case stepPause:
		if ro.PromoteRequested {
			ro.PromoteRequested = false
			return stepOutcome{done: true}
		}
		if s.duration == nil {
			return stepOutcome{phase: apiv1.PhasePaused, reason: apiv1.ReasonWaitingForPromote,
				message: fmt.Sprintf("revision %d is healthy%s; run 'sluice rollout promote %s' to switch traffic to it", cand, p.previewNote(), p.in.App)}
		}
		end := started.Add(*s.duration)
		if !p.in.Now.Before(end) {
			return stepOutcome{done: true}
		}
		return stepOutcome{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonCandidateReady, wakeAt: end,
			message: fmt.Sprintf("revision %d is healthy%s; promoting at %s (%s)", cand, p.previewNote(), stamp(end), s.label)}
	case stepAnalysis:
		if entered {
			p.event(true, cand, "AnalysisNotAvailable", fmt.Sprintf("%s of revision %d cannot run: this sluice does not run analysis yet; promote by hand with 'sluice rollout promote %s'", s.label, cand, p.in.App))
		}
		if ro.PromoteRequested {
			ro.PromoteRequested = false
			return stepOutcome{done: true}
		}
		return stepOutcome{phase: apiv1.PhasePaused, reason: apiv1.ReasonWaitingForPromote,
			message: fmt.Sprintf("revision %d is healthy%s; %s is not run by this sluice: run 'sluice rollout promote %s' to continue", cand, p.previewNote(), s.label, p.in.App)}
	}
	return stepOutcome{done: true}
}

// previewNote says where the candidate is previewed, if anywhere.
func (p *planner) previewNote() string {
	if p.st.PreviewAddress == "" {
		return ""
	}
	return " and previewed at " + p.st.PreviewAddress
}

// stamp formats a time for messages, in UTC so that messages do not depend
// on where sluice runs.
func stamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
