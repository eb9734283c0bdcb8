package rollout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// Plan decides the next status of an app and the actions that carry it
// out. It is pure: no I/O, no clock (in.Now is the time), no goroutines.
//
// The rollout it runs:
//
//   - The latest revision is rolled out when it is newer than the stable
//     one and than the newest rejected (aborted, failed, undone) one; a
//     newer revision replaces a candidate still in progress.
//   - The candidate runs at full size, or for a canary at the size its
//     weight needs (see plan_canary.go). Until those instances are healthy
//     the rollout waits, and fails when it goes progressDeadline without
//     progress; a candidate that cannot run fails at once.
//   - Analysis runs are started here and measured by the controller; their
//     verdicts come back in Input.Analyses (see plan_analysis.go). Abort
//     always wins: a failed verdict sets the weight to 0 in the same plan.
//   - The first revision of an app, and an undo, take all traffic as soon
//     as they are healthy. Any other candidate goes through its strategy's
//     steps (see strategyOf), unless paused, then is promoted: it becomes
//     stable and the old stable stays warm for scaleDownDelay.
//   - Instances get traffic only when running and healthy; revisions that
//     are no longer wanted are stopped.
func Plan(in Input) Decision {
	p := &planner{in: in, st: cloneStatus(in.Status), strat: strategyOf(in.Spec)}
	p.index()
	p.st.Strategy = p.strat.name
	p.st.PreviewAddress = ""
	p.target()
	p.observeBlast()
	p.mergeAnalyses()
	p.postPromotion()
	if p.st.CandidateRevision != 0 {
		p.progress()
	}
	p.scaleDown()
	if p.st.CandidateRevision == 0 {
		p.endRuns(apiv1.VerdictSkipped, "the rollout ended before its verdict")
		p.settle()
	}
	p.describe()
	return Decision{Status: p.st, Events: p.events, Actions: p.actions(), WakeAt: p.wake}
}

// planner holds one planning pass.
type planner struct {
	in     Input
	st     apiv1.AppStatus
	strat  strategy
	events []Event
	wake   time.Time
	all    map[int][]Instance // observed instances by revision, by ID
	ready  map[int][]Instance // the ready ones
}

func (p *planner) index() {
	p.all, p.ready = map[int][]Instance{}, map[int][]Instance{}
	insts := slices.Clone(p.in.Observed.Instances)
	slices.SortFunc(insts, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	for _, in := range insts {
		p.all[in.Revision] = append(p.all[in.Revision], in)
		if in.Ready() {
			p.ready[in.Revision] = append(p.ready[in.Revision], in)
		}
	}
}

// target starts a rollout of the latest revision when it should run.
func (p *planner) target() {
	st := &p.st
	latest := st.LatestRevision
	if latest == 0 || latest <= st.RejectedRevision || latest == st.StableRevision || latest == st.CandidateRevision {
		return
	}
	if old := st.CandidateRevision; old != 0 {
		p.event(false, old, apiv1.ReasonRolloutSuperseded, fmt.Sprintf("revision %d replaces revision %d, whose rollout stops", latest, old))
	}
	now := p.in.Now
	st.CandidateRevision, st.Weight, st.Step = latest, 0, 0
	st.Rollout = &apiv1.RolloutState{StartedAt: now, ProgressAt: now}
	st.Analyses, st.BlastRadius = nil, nil
	st.Phase, st.Reason = apiv1.PhaseProgressing, apiv1.ReasonRolloutStarted
	if st.StableRevision == 0 {
		st.Message = fmt.Sprintf("starting revision %s", p.named(latest))
	} else {
		st.Message = fmt.Sprintf("rolling out revision %s (%s); revision %d serves", p.named(latest), p.strat.name, st.StableRevision)
	}
	p.event(false, latest, apiv1.ReasonRolloutStarted, st.Message)
}

// progress moves the rollout in progress forward.
func (p *planner) progress() {
	st, now := &p.st, p.in.Now
	if st.Rollout == nil { // a status written by hand or by an older sluice
		st.Rollout = &apiv1.RolloutState{StartedAt: now, ProgressAt: now}
	}
	ro, cand := st.Rollout, st.CandidateRevision
	if why := p.in.Observed.Unrunnable[cand]; why != "" {
		p.fail(apiv1.ReasonInvalidWorkload, fmt.Sprintf("revision %d cannot run: %s", cand, why))
		return
	}
	if st.StableRevision != 0 && !ro.Rollback {
		st.PreviewAddress = p.strat.preview
	}
	size, ready := p.servingSize(), len(p.ready[cand])
	if ready > p.lastReady(cand) {
		ro.ProgressAt = now
	}
	if ready < size {
		p.waitReady(cand, ready, size)
		return
	}
	if ro.ReadyAt == nil {
		ro.ReadyAt, ro.ProgressAt = timePtr(now), now
		p.event(false, cand, apiv1.ReasonCandidateReady, fmt.Sprintf("all %d instances of revision %d are healthy", size, cand))
	}
	if st.StableRevision == 0 || ro.Rollback {
		p.promote()
		return
	}
	if p.weighted() && p.background() {
		return // the background analysis ended the rollout
	}
	p.runSteps()
}

// waitReady waits for a candidate that is not fully healthy, and fails the
// rollout when it went progressDeadline without progress.
func (p *planner) waitReady(cand, ready, size int) {
	st, ro, now := &p.st, p.st.Rollout, p.in.Now
	if ro.ReadyAt != nil { // it was healthy and is not any more
		ro.ReadyAt, ro.StepStartedAt, ro.ProgressAt = nil, nil, now
		p.event(true, cand, apiv1.ReasonCandidateNotReady, fmt.Sprintf("revision %d lost health: %d/%d instances healthy%s", cand, ready, size, p.why(cand)))
	}
	limit := durationOf(p.in.Spec.ProgressDeadline, 0)
	from := ro.ProgressAt
	if p.in.Observed.Since.After(from) {
		from = p.in.Observed.Since
	}
	deadline := from.Add(limit)
	if !now.Before(deadline) {
		p.fail(apiv1.ReasonProgressDeadline, fmt.Sprintf("revision %d did not become healthy within progressDeadline %s: %d/%d instances healthy%s",
			cand, limit, ready, size, p.why(cand)))
		return
	}
	p.wakeAt(deadline)
	st.Phase, st.Reason = apiv1.PhaseProgressing, apiv1.ReasonCandidateNotReady
	st.Message = fmt.Sprintf("waiting for revision %d to become healthy: %d/%d instances healthy", cand, ready, size)
	if st.Paused {
		st.Phase, st.Reason = apiv1.PhasePaused, apiv1.ReasonPaused
		st.Message = "paused; " + st.Message
	}
}

// runSteps runs the strategy's steps from the current one, and promotes
// the candidate after the last.
func (p *planner) runSteps() {
	st, ro := &p.st, p.st.Rollout
	steps := p.strat.steps
	st.Steps = len(steps)
	p.skipToEnd()
	for {
		if st.Paused && !ro.PromoteRequested && !ro.PromoteFull {
			p.pausedMessage()
			return
		}
		if st.Step >= len(steps) {
			break
		}
		entered := ro.StepStartedAt == nil
		if entered {
			ro.StepStartedAt = timePtr(p.in.Now)
		}
		out := p.runStep(steps[st.Step], *ro.StepStartedAt, entered)
		if out.ended {
			return
		}
		if !out.done {
			st.Phase, st.Reason, st.Message = out.phase, out.reason, out.message
			if !out.wakeAt.IsZero() {
				p.wakeAt(out.wakeAt)
			}
			return
		}
		st.Step++
		ro.StepStartedAt, ro.ProgressAt = nil, p.in.Now
	}
	p.promote()
}

// promote makes the candidate the stable revision. The old stable stops
// serving and stays warm for scaleDownDelay.
func (p *planner) promote() {
	st, now := &p.st, p.in.Now
	cand, old := st.CandidateRevision, st.StableRevision
	rollback := st.Rollout != nil && st.Rollout.Rollback
	p.endRuns(apiv1.VerdictSuccessful, "no failure while the rollout ran")
	st.StableRevision, st.CandidateRevision = cand, 0
	st.Weight, st.Step, st.Steps, st.Rollout = 0, 0, 0, nil
	st.PreviewAddress = ""
	st.Phase, st.Reason = apiv1.PhaseHealthy, apiv1.ReasonPromoted
	if rollback {
		st.Reason = apiv1.ReasonRolledBack
	}
	switch {
	case old == 0 || old == cand:
		st.Reason = apiv1.ReasonServing
		st.Message = fmt.Sprintf("revision %s serves all traffic", p.named(cand))
	default:
		st.PreviousRevision = old
		st.WarmSince = timePtr(now)
		st.ScaleDownAt = timePtr(now.Add(p.strat.scaleDownDelay))
		st.Message = fmt.Sprintf("revision %s serves all traffic; revision %d stays warm until %s for an instant 'sluice rollout undo %s'",
			p.named(cand), old, stamp(*st.ScaleDownAt), p.in.App)
	}
	if ev := p.promotionEvidence(cand); ev != "" {
		p.eventData(false, cand, st.Reason, st.Message+"; "+ev, p.promotionData())
	} else {
		p.event(false, cand, st.Reason, st.Message)
	}
	if a := p.strat.post; a != nil && !rollback && old != 0 && old != cand {
		run := p.startRun(apiv1.AnalysisPostPromotion, 0, 1, *a, DefaultStepCount)
		run.Candidate, run.Stable = cand, old
		run.Name = fmt.Sprintf("%d/%d/%s", cand, now.Unix(), apiv1.AnalysisPostPromotion)
	}
}

// fail ends the rollout in progress: the candidate stops and the stable
// revision keeps serving. A failed candidate is rejected; a failed undo
// leaves things as they were.
func (p *planner) fail(reason, msg string) {
	st := &p.st
	cand := st.CandidateRevision
	if st.Rollout == nil || !st.Rollout.Rollback {
		st.RejectedRevision = max(st.RejectedRevision, cand)
	}
	p.endRuns(apiv1.VerdictSkipped, "the rollout ended before its verdict")
	st.CandidateRevision, st.Weight, st.Step, st.Steps, st.Rollout = 0, 0, 0, 0, nil
	st.PreviewAddress = ""
	st.Phase, st.Reason = apiv1.PhaseFailed, reason
	st.Message = msg + "; " + servingNote(st.StableRevision)
	p.event(true, cand, reason, st.Message)
}

// servingNote says which revision serves after a rollout ended.
func servingNote(stable int) string {
	if stable == 0 {
		return "no revision serves"
	}
	return fmt.Sprintf("revision %d serves", stable)
}

// scaleDown stops keeping the previous revision warm once its time is up.
func (p *planner) scaleDown() {
	st := &p.st
	if st.ScaleDownAt == nil {
		return
	}
	if p.in.Now.Before(*st.ScaleDownAt) {
		p.wakeAt(*st.ScaleDownAt)
		return
	}
	st.ScaleDownAt, st.WarmSince = nil, nil
	if st.PreviousRevision != st.CandidateRevision {
		p.event(false, st.PreviousRevision, apiv1.ReasonScaledDown, fmt.Sprintf("revision %d was kept warm for scaleDownDelay %s and stops; 'sluice rollout undo %s' now starts it first",
			st.PreviousRevision, p.strat.scaleDownDelay, p.in.App))
	}
}

// settle sets the phase of an app with no rollout in progress.
func (p *planner) settle() {
	st := &p.st
	if st.Phase == apiv1.PhaseAborted || st.Phase == apiv1.PhaseFailed {
		return // the last rollout's outcome stays until the next one
	}
	stable := st.StableRevision
	if stable == 0 {
		st.Phase, st.Reason, st.Message = apiv1.PhasePending, "", "no revision to roll out"
		return
	}
	size, ready := p.size(stable), len(p.ready[stable])
	switch why := p.in.Observed.Unrunnable[stable]; {
	case why != "":
		st.Phase, st.Reason = apiv1.PhaseDegraded, apiv1.ReasonInvalidWorkload
		st.Message = fmt.Sprintf("revision %d cannot run: %s", stable, why)
	case ready < size:
		st.Phase, st.Reason = apiv1.PhaseDegraded, apiv1.ReasonInstancesNotReady
		st.Message = fmt.Sprintf("revision %d serves with %d/%d instances healthy%s", stable, ready, size, p.why(stable))
	case st.ScaleDownAt != nil && st.Phase == apiv1.PhaseHealthy && (st.Reason == apiv1.ReasonPromoted || st.Reason == apiv1.ReasonRolledBack):
		// keep the promotion's message while the old revision is warm
	default:
		st.Phase, st.Reason = apiv1.PhaseHealthy, apiv1.ReasonServing
		st.Message = fmt.Sprintf("revision %s serves all traffic", p.named(stable))
	}
}

// describe fills in the revisions of the status with their instances.
func (p *planner) describe() {
	st := &p.st
	wanted := p.wanted()
	revs := slices.Collect(maps.Keys(wanted))
	for r := range p.all {
		if _, ok := wanted[r]; !ok {
			revs = append(revs, r)
		}
	}
	slices.Sort(revs)
	st.Revisions = nil
	for _, r := range revs {
		rs := apiv1.RevisionStatus{Revision: r, Version: p.in.Revisions[r].Version, Role: p.role(r), Replicas: wanted[r], Ready: len(p.ready[r])}
		for _, in := range p.all[r] {
			is := apiv1.InstanceStatus{ID: in.ID, Address: in.Address, State: string(in.State), Health: string(in.Health), Restarts: in.Restarts}
			if !in.Ready() {
				is.Reason = in.Reason
			}
			rs.Instances = append(rs.Instances, is)
		}
		st.Revisions = append(st.Revisions, rs)
	}
}

// wanted returns the revisions that should run, with their sizes: the
// stable one, the candidate, and the previous one while it is warm.
func (p *planner) wanted() map[int]int {
	st := &p.st
	out := map[int]int{}
	if r := st.StableRevision; r != 0 {
		out[r] = p.size(r)
	}
	if r := st.CandidateRevision; r != 0 {
		out[r] = max(out[r], p.candidateSize())
	}
	if r := st.PreviousRevision; r != 0 && st.ScaleDownAt != nil {
		out[r] = max(out[r], p.size(r))
	}
	return out
}

func (p *planner) role(r int) string {
	switch st := &p.st; {
	case r == st.StableRevision:
		return apiv1.RoleStable
	case r == st.CandidateRevision:
		return apiv1.RoleCandidate
	case r == st.PreviousRevision && st.ScaleDownAt != nil:
		return apiv1.RolePrevious
	}
	return apiv1.RoleStopping
}

// actions turns the status into what the controller does: run the wanted
// revisions, route to their ready instances, stop the rest.
func (p *planner) actions() []Action {
	var out []Action
	wanted := p.wanted()
	for _, r := range slices.Sorted(maps.Keys(wanted)) {
		out = append(out, Ensure{Revision: r, Replicas: wanted[r]})
	}
	out = append(out, SetRoutes{Main: p.mainTable(), Preview: p.previewTable()})
	{
	}
	for _, run := range p.st.Analyses {
		if Measured(p.st, run) {
			out = append(out, Analyze{Run: cloneRun(run)})
		}
	}
	for _, r := range slices.Sorted(maps.Keys(p.all)) {
		if _, ok := wanted[r]; !ok {
			out = append(out, Stop{Revision: r})
		}
	}
	return out
}

// mainTable routes the app's listener: stable (or, for a first revision,
// the candidate), plus the candidate at its weight.
func (p *planner) mainTable() *Table {
	st := &p.st
	switch {
	case st.StableRevision != 0:
		t := &Table{Listen: p.in.Spec.Listen, Stable: p.backend(st.StableRevision)}
		p.sticky(t)
		if st.CandidateRevision != 0 && st.Weight > 0 {
			c := p.backend(st.CandidateRevision)
			t.Candidate, t.Weight = &c, st.Weight
		}
		return t
	case st.CandidateRevision != 0:
		return &Table{Listen: p.in.Spec.Listen, Stable: p.backend(st.CandidateRevision)}
	}
	return nil
}

// previewTable serves the candidate alone on the preview listener.
func (p *planner) previewTable() *Table {
	st := &p.st
	if st.PreviewAddress == "" || st.CandidateRevision == 0 {
		return nil
	}
	return &Table{Listen: st.PreviewAddress, Stable: p.backend(st.CandidateRevision)}
}

func (p *planner) backend(r int) Backend {
	b := Backend{Revision: r}
	for _, in := range p.ready[r] {
		b.Endpoints = append(b.Endpoints, Endpoint{ID: in.ID, Address: in.Address})
	}
	return b
}

// size is how many instances make revision r whole (at least one).
func (p *planner) size(r int) int {
	return max(p.in.Revisions[r].Size, 1)
}

// lastReady is how many instances of r were ready at the last plan.
func (p *planner) lastReady(r int) int {
	for _, rs := range p.in.Status.Revisions {
		if rs.Revision == r {
			return rs.Ready
		}
	}
	return 0
}

// why lists why r's instances are not ready, e.g.
// "; hello-2-ab12cd: GET /health: 503".
func (p *planner) why(r int) string {
	var parts []string
	for _, in := range p.all[r] {
		if in.Ready() {
			continue
		}
		reason := in.Reason
		if reason == "" {
			reason = strings.ToLower(string(in.State)) + ", health " + strings.ToLower(string(in.Health))
		}
		parts = append(parts, in.ID+": "+reason)
		if len(parts) == 2 {
			break
		}
	}
	if len(p.all[r]) == 0 {
		return "; no instance is running"
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// named renders a revision with its version label: "2 (v2)".
func (p *planner) named(r int) string {
	if v := p.in.Revisions[r].Version; v != "" {
		return fmt.Sprintf("%d (%s)", r, v)
	}
	return fmt.Sprint(r)
}

func (p *planner) event(warning bool, revision int, reason, msg string) {
	p.events = append(p.events, Event{Warning: warning, Revision: revision, Reason: reason, Message: msg})
}

func (p *planner) wakeAt(t time.Time) {
	if p.wake.IsZero() || t.Before(p.wake) {
		p.wake = t
	}
}

func timePtr(t time.Time) *time.Time { return &t }

// cloneStatus copies a status so that planning never changes its input.
func cloneStatus(s apiv1.AppStatus) apiv1.AppStatus {
	if s.Rollout != nil {
		ro := *s.Rollout
		if ro.ReadyAt != nil {
			ro.ReadyAt = timePtr(*ro.ReadyAt)
		}
		if ro.StepStartedAt != nil {
			ro.StepStartedAt = timePtr(*ro.StepStartedAt)
		}
		s.Rollout = &ro
	}
	if s.WarmSince != nil {
		s.WarmSince = timePtr(*s.WarmSince)
	}
	if s.ScaleDownAt != nil {
		s.ScaleDownAt = timePtr(*s.ScaleDownAt)
	}
	s.Revisions = slices.Clone(s.Revisions)
	if s.BlastRadius != nil {
		b := *s.BlastRadius
		s.BlastRadius = &b
	}
	if s.Analyses != nil {
		runs := make([]apiv1.AnalysisRun, len(s.Analyses))
		for i, r := range s.Analyses {
			runs[i] = cloneRun(r)
		}
		s.Analyses = runs
	}
	return s
}
