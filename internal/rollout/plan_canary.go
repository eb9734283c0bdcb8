package rollout

import (
	"fmt"

	"sluice.dev/sluice/pkg/apiv1"
)

// This file holds what is particular to canary rollouts: the candidate's
// size follows its weight, setWeight steps, the sticky key and override
// routes of the main table, and the blast radius.

// weighted reports whether the rollout in progress splits traffic by
// weight: a canary over a stable revision. First revisions, undos and
// blue-green candidates run at full size and take traffic all at once.
func (p *planner) weighted() bool {
	st := &p.st
	return p.strat.name == StrategyCanary && st.StableRevision != 0 && st.CandidateRevision != 0 &&
		(st.Rollout == nil || !st.Rollout.Rollback)
}

// sizeAt is how many candidate instances carry weight basis points of the
// traffic: the same share of the revision's full size, rounded up, and at
// least one.
func (p *planner) sizeAt(weight int) int {
	full := p.size(p.st.CandidateRevision)
	n := (full*weight + maxWeight - 1) / maxWeight
	return min(max(n, 1), full)
}

// servingSize is how many candidate instances must be ready for the
// rollout to go on: enough for its current weight when weighted, else its
// full size.
func (p *planner) servingSize() int {
	if !p.weighted() {
		return p.size(p.st.CandidateRevision)
	}
	return p.sizeAt(p.st.Weight)
}

// candidateSize is how many candidate instances should run: enough for
// its current weight and for the weight the current step moves to.
func (p *planner) candidateSize() int {
	if !p.weighted() {
		return p.size(p.st.CandidateRevision)
	}
	w := p.st.Weight
	if s, ok := p.currentStep(); ok && s.kind == stepSetWeight {
		w = max(w, s.weight)
	}
	return p.sizeAt(w)
}

// currentStep returns the step the rollout is at, if any.
func (p *planner) currentStep() (step, bool) {
	st := &p.st
	if st.Rollout == nil || st.Step < 0 || st.Step >= len(p.strat.steps) {
		return step{}, false
	}
	return p.strat.steps[st.Step], true
}

// setWeight runs a setWeight step: once enough candidate instances are
// ready for the new weight, the candidate gets it. Until then the rollout
// waits, and fails after progressDeadline without progress.
func (p *planner) setWeight(s step) stepOutcome {
	st, ro, now := &p.st, p.st.Rollout, p.in.Now
	cand := st.CandidateRevision
	need, ready := p.sizeAt(s.weight), len(p.ready[cand])
	if !p.weighted() {
		need = p.size(cand)
	}
	if ready < need {
		limit := durationOf(p.in.Spec.ProgressDeadline, 0)
		from := ro.ProgressAt
		if p.in.Observed.Since.After(from) {
			from = p.in.Observed.Since
		}
		deadline := from.Add(limit)
		if !now.Before(deadline) {
			p.fail(apiv1.ReasonProgressDeadline, fmt.Sprintf("revision %d did not scale to %d instances for weight %s within progressDeadline %s: %d healthy%s",
				cand, need, percent(s.weight), limit, ready, p.why(cand)))
			return stepOutcome{ended: true}
		}
		return stepOutcome{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonScaling, wakeAt: deadline,
			message: fmt.Sprintf("starting instances of revision %d for weight %s: %d/%d healthy; it gets %s meanwhile", cand, percent(s.weight), ready, need, percent(st.Weight))}
	}
	if st.Weight != s.weight && p.weighted() {
		from := st.Weight
		st.Weight = s.weight
		p.event(false, cand, apiv1.ReasonWeightSet, fmt.Sprintf("revision %d gets %s of traffic (was %s), on %d instance(s)%s",
			cand, percent(s.weight), percent(from), need, p.blastNote()))
	}
	if !p.weighted() {
		st.Weight = s.weight
	}
	return stepOutcome{done: true}
}

// skipToEnd moves a rollout asked to promote --full to its last step: the
// setWeight 100 % of a canary, or the promotion of a blue-green.
func (p *planner) skipToEnd() {
	st, ro := &p.st, p.st.Rollout
	if !ro.PromoteFull {
		return
	}
	last := len(p.strat.steps)
	if p.strat.name == StrategyCanary && last > 0 {
		last--
	}
	if st.Step < last {
		st.Step, ro.StepStartedAt = last, nil
	}
	ro.PromoteRequested = false
}

// blastNote renders the blast radius for messages: "; so far it served
// 1234 requests, 3 of them errors".
func (p *planner) blastNote() string {
	b := p.st.BlastRadius
	if b == nil || b.Revision != p.st.CandidateRevision || b.Requests == 0 {
		return ""
	}
	return fmt.Sprintf("; so far it served %d requests, %d of them errors", b.Requests, b.Errors)
}

// observeBlast records what the candidate served so far.
func (p *planner) observeBlast() {
	b := p.in.Blast
	if b == nil || b.Revision == 0 || b.Revision != p.st.CandidateRevision {
		return
	}
	cp := *b
	if old := p.st.BlastRadius; old != nil && old.Revision == cp.Revision {
		cp.Requests, cp.Errors = max(cp.Requests, old.Requests), max(cp.Errors, old.Errors)
	}
	p.st.BlastRadius = &cp
}

// sticky sets the main table's sticky key and override routes from the
// canary strategy.
func (p *planner) sticky(t *Table) {
	c := canaryOf(p.in.Spec)
	if c == nil {
		return
	}
	if s := c.Stickiness; s != nil {
		t.Stickiness = StickyKey{Header: s.Header, Cookie: s.Cookie}
	}
	if o := c.Override; o != nil && (o.Header != "" || o.Cookie != "") {
		t.Override = &StickyKey{Header: o.Header, Cookie: o.Cookie}
	}
}

// StickyKey names a request header or a cookie.
type StickyKey struct {
	Header, Cookie string
}
