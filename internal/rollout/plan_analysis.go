package rollout

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// This file holds the planner's side of analysis: it starts analysis runs
// (a step's, or the background one of a canary), reads their verdicts as
// the controller measured them (Input.Analyses), and acts on them. Abort
// always wins: a Failed or Error verdict sets the candidate's weight to 0
// in the same plan. An Inconclusive verdict pauses the rollout for a
// human: `rollout resume` runs the analysis again, `rollout promote` skips
// it.

// DefaultStepCount is how many measurements a metric of a step analysis
// takes when its template sets no count: a step must end.
const DefaultStepCount = 3

// mergeAnalyses copies the verdicts and metrics the controller measured
// into the status' runs that are still running.
func (p *planner) mergeAnalyses() {
	for i := range p.st.Analyses {
		run := &p.st.Analyses[i]
		got, ok := p.in.Analyses[run.Name]
		if !ok || run.Verdict != apiv1.VerdictRunning {
			continue
		}
		run.Verdict, run.Message = got.Verdict, got.Message
		run.Metrics = cloneRun(got).Metrics
		if run.Verdict == "" {
			run.Verdict = apiv1.VerdictRunning
		}
	}
}

// Measured reports whether a run is being measured: it runs, and its
// rollout is in progress (or, for a post-promotion analysis, its candidate
// serves).
func Measured(st apiv1.AppStatus, run apiv1.AnalysisRun) bool {
	if run.Verdict != apiv1.VerdictRunning {
		return false
	}
	if run.Kind == apiv1.AnalysisPostPromotion {
		return st.CandidateRevision == 0 && run.Candidate == st.StableRevision
	}
	return st.CandidateRevision != 0 && run.Candidate == st.CandidateRevision
}

// postPromotion acts on the verdict of a blue-green post-promotion
// analysis: a Failed or Error one rolls back to the previous revision (at
// once while it is warm).
func (p *planner) postPromotion() {
	st := &p.st
	if st.CandidateRevision != 0 || st.StableRevision == 0 {
		return
	}
	var run *apiv1.AnalysisRun
	for i := len(st.Analyses) - 1; i >= 0; i-- {
		if r := &st.Analyses[i]; r.Kind == apiv1.AnalysisPostPromotion && r.Candidate == st.StableRevision {
			run = r
			break
		}
	}
	if run == nil || !p.wasRunning(run.Name) || run.Verdict == apiv1.VerdictRunning {
		return
	}
	label := "post-promotion analysis (" + strings.Join(run.Templates, ", ") + ")"
	switch run.Verdict {
	case apiv1.VerdictSuccessful:
		p.eventData(false, run.Candidate, apiv1.ReasonAnalysisSuccessful, fmt.Sprintf("%s of revision %d passed: %s", label, run.Candidate, p.evidence(run)), p.runData(run))
	case apiv1.VerdictInconclusive:
		p.eventData(true, run.Candidate, apiv1.ReasonAnalysisInconclusive, fmt.Sprintf("%s of revision %d is %s; it stays promoted", label, run.Candidate, p.evidence(run)), p.runData(run))
	case apiv1.VerdictFailed, apiv1.VerdictError:
		prev, bad := st.PreviousRevision, st.StableRevision
		if prev == 0 {
			return
		}
		reason := apiv1.ReasonAnalysisFailed
		if run.Verdict == apiv1.VerdictError {
			reason = apiv1.ReasonAnalysisError
		}
		st.RejectedRevision = max(st.RejectedRevision, bad)
		st.CandidateRevision, st.Weight, st.Step, st.Steps = prev, 0, 0, 0
		st.Rollout = &apiv1.RolloutState{StartedAt: p.in.Now, ProgressAt: p.in.Now, Rollback: true}
		st.Phase, st.Reason = apiv1.PhaseProgressing, reason
		st.Message = fmt.Sprintf("%s of revision %d failed: %s; rolling back to revision %d", label, bad, p.evidence(run), prev)
		p.eventData(true, bad, reason, st.Message, p.runData(run))
	}
}

// endRuns gives every run still running a final verdict, when the rollout
// ends: background runs get verdict (Successful on promotion), step runs
// are Skipped.
func (p *planner) endRuns(verdict, msg string) {
	for i := range p.st.Analyses {
		run := &p.st.Analyses[i]
		if run.Verdict != apiv1.VerdictRunning || (run.Kind == apiv1.AnalysisPostPromotion && Measured(p.st, *run)) {
			continue
		}
		run.Verdict, run.Message = apiv1.VerdictSkipped, msg
		if run.Kind == apiv1.AnalysisBackground {
			run.Verdict = verdict
		}
	}
}

// latestRun returns the newest run of a kind (and step), or nil.
func (p *planner) latestRun(kind string, stepNo int) *apiv1.AnalysisRun {
	for i := len(p.st.Analyses) - 1; i >= 0; i-- {
		if r := &p.st.Analyses[i]; r.Kind == kind && r.Step == stepNo && r.Candidate == p.st.CandidateRevision {
			return r
		}
	}
	return nil
}

// startRun starts an analysis run of a and returns it.
func (p *planner) startRun(kind string, stepNo, attempt int, a spec.RolloutAnalysis, count int) *apiv1.AnalysisRun {
	st := &p.st
	suffix, started := kind, p.in.Now
	if st.Rollout != nil {
		started = st.Rollout.StartedAt
	}
	if kind == apiv1.AnalysisStep {
		suffix = fmt.Sprintf("step-%d", stepNo)
	}
	if attempt > 1 {
		suffix += fmt.Sprintf(".%d", attempt)
	}
	run := apiv1.AnalysisRun{
		Name: fmt.Sprintf("%d/%d/%s", st.CandidateRevision, started.Unix(), suffix),
		Kind: kind, Step: stepNo, Attempt: attempt, Count: count,
		Candidate: st.CandidateRevision, Stable: st.StableRevision,
		StartedAt: p.in.Now, Verdict: apiv1.VerdictRunning,
	}
	for _, t := range a.Templates {
		run.Templates = append(run.Templates, t.Name)
	}
	for _, arg := range a.Args {
		run.Args = append(run.Args, apiv1.AnalysisArg{Name: arg.Name, Value: arg.Value})
	}
	st.Analyses = append(st.Analyses, run)
	return &st.Analyses[len(st.Analyses)-1]
}

// wasRunning reports whether the run was still running in the status the
// plan started from: its verdict is new in this plan.
func (p *planner) wasRunning(name string) bool {
	for _, r := range p.in.Status.Analyses {
		if r.Name == name {
			return r.Verdict == apiv1.VerdictRunning
		}
	}
	return true
}

// analysisStep runs an analysis step: it starts the run, waits for its
// verdict, and goes on (Successful), aborts (Failed, Error) or pauses
// (Inconclusive). `rollout promote` skips it.
func (p *planner) analysisStep(s step) stepOutcome {
	st, ro := &p.st, p.st.Rollout
	stepNo := st.Step + 1
	run := p.latestRun(apiv1.AnalysisStep, stepNo)
	if run == nil {
		run = p.startRun(apiv1.AnalysisStep, stepNo, 1, s.analysis, DefaultStepCount)
	}
	if ro.PromoteRequested {
		ro.PromoteRequested = false
		if run.Verdict == apiv1.VerdictRunning || run.Verdict == apiv1.VerdictInconclusive {
			run.Verdict, run.Message = apiv1.VerdictSkipped, "skipped by 'sluice rollout promote'"
		}
		return stepOutcome{done: true}
	}
	switch run.Verdict {
	case apiv1.VerdictSuccessful, apiv1.VerdictSkipped:
		if run.Verdict == apiv1.VerdictSuccessful && p.wasRunning(run.Name) {
			p.eventData(false, st.CandidateRevision, apiv1.ReasonAnalysisSuccessful,
				fmt.Sprintf("%s of revision %d at %s passed: %s%s", s.label, st.CandidateRevision, percent(st.Weight), p.evidence(run), p.blastNote()), p.runData(run))
		}
		return stepOutcome{done: true}
	case apiv1.VerdictFailed, apiv1.VerdictError:
		p.abortByAnalysis(run, s.label)
		return stepOutcome{ended: true}
	case apiv1.VerdictInconclusive:
		if p.wasRunning(run.Name) {
			p.pauseInconclusive(run, s.label)
			return stepOutcome{phase: apiv1.PhasePaused, reason: apiv1.ReasonAnalysisInconclusive, message: st.Message}
		}
		// resumed after an inconclusive verdict: measure again
		run = p.startRun(apiv1.AnalysisStep, stepNo, run.Attempt+1, s.analysis, DefaultStepCount)
	}
	return stepOutcome{phase: apiv1.PhaseProgressing, reason: apiv1.ReasonAnalysisRunning,
		message: fmt.Sprintf("%s; %s is running: %s%s", p.standing(), s.label, progressOf(run), p.blastNote())}
}

// background runs the canary's background analysis once the candidate
// serves, and reports whether its verdict ended the rollout.
func (p *planner) background() bool {
	st := &p.st
	a := p.strat.background
	if a == nil || st.Weight == 0 {
		return false
	}
	label := "background analysis (" + strings.Join(templateNames(*a), ", ") + ")"
	run := p.latestRun(apiv1.AnalysisBackground, 0)
	if run == nil {
		p.startRun(apiv1.AnalysisBackground, 0, 1, *a, 0)
		return false
	}
	switch run.Verdict {
	case apiv1.VerdictFailed, apiv1.VerdictError:
		p.abortByAnalysis(run, label)
		return true
	case apiv1.VerdictInconclusive:
		switch {
		case p.wasRunning(run.Name):
			p.pauseInconclusive(run, label)
		case !st.Paused:
			p.startRun(apiv1.AnalysisBackground, 0, run.Attempt+1, *a, 0)
		}
	}
	return false
}

func templateNames(a spec.RolloutAnalysis) []string {
	names := make([]string, 0, len(a.Templates))
	for _, t := range a.Templates {
		names = append(names, t.Name)
	}
	if len(names) == 0 {
		names = append(names, DefaultAnalysisName)
	}
	return names
}

// abortByAnalysis ends the rollout because an analysis failed: weight 0
// at once, the candidate stops, and the event carries the numbers.
func (p *planner) abortByAnalysis(run *apiv1.AnalysisRun, label string) {
	st := &p.st
	cand, weight := st.CandidateRevision, st.Weight
	reason := apiv1.ReasonAnalysisFailed
	if run.Verdict == apiv1.VerdictError {
		reason = apiv1.ReasonAnalysisError
	}
	data := p.runData(run)
	blast := p.blastNote()
	st.RejectedRevision = max(st.RejectedRevision, cand)
	p.endRuns(apiv1.VerdictSkipped, "the rollout was aborted")
	st.CandidateRevision, st.Weight, st.Step, st.Steps, st.Rollout = 0, 0, 0, 0, nil
	st.PreviewAddress = ""
	st.Phase, st.Reason = apiv1.PhaseAborted, reason
	st.Message = fmt.Sprintf("%s of revision %d failed at %s: %s%s; its weight is 0; %s",
		label, cand, percent(weight), p.evidence(run), blast, servingNote(st.StableRevision))
	p.eventData(true, cand, reason, st.Message, data)
}

// pauseInconclusive pauses the rollout because an analysis had too little
// data.
func (p *planner) pauseInconclusive(run *apiv1.AnalysisRun, label string) {
	st := &p.st
	st.Paused = true
	st.Phase, st.Reason = apiv1.PhasePaused, apiv1.ReasonAnalysisInconclusive
	st.Message = fmt.Sprintf("%s; %s is %s; paused: 'sluice rollout resume %s' measures again, 'sluice rollout promote %s' skips it, 'sluice rollout abort %s' stops it",
		p.standing(), label, p.evidence(run), p.in.App, p.in.App, p.in.App)
	p.eventData(true, st.CandidateRevision, apiv1.ReasonAnalysisInconclusive, st.Message, p.runData(run))
}

// pausedMessage says why the rollout is paused and what goes on from
// here.
func (p *planner) pausedMessage() {
	st := &p.st
	steps := p.strat.steps
	next := "promotion"
	if st.Step < len(steps) {
		next = fmt.Sprintf("step %d/%d (%s)", st.Step+1, len(steps), steps[st.Step].label)
	}
	st.Phase, st.Reason = apiv1.PhasePaused, apiv1.ReasonPaused
	for i := len(st.Analyses) - 1; i >= 0; i-- {
		if r := &st.Analyses[i]; r.Candidate == st.CandidateRevision && r.Verdict == apiv1.VerdictInconclusive {
			st.Reason = apiv1.ReasonAnalysisInconclusive
			st.Message = fmt.Sprintf("%s; analysis %s; paused before %s: 'sluice rollout resume %s' measures again, 'sluice rollout promote %s' skips it",
				p.standing(), p.evidence(r), next, p.in.App, p.in.App)
			return
		}
	}
	st.Message = fmt.Sprintf("%s; the rollout is paused before %s: run 'sluice rollout resume %s' to go on", p.standing(), next, p.in.App)
}

// standing says where the candidate stands: "revision 2 gets 5% of
// traffic", or "revision 2 is healthy and previewed at …".
func (p *planner) standing() string {
	st := &p.st
	if p.weighted() {
		return fmt.Sprintf("revision %d gets %s of traffic", st.CandidateRevision, percent(st.Weight))
	}
	return fmt.Sprintf("revision %d is healthy%s", st.CandidateRevision, p.previewNote())
}

// evidence renders a run's verdict with its deciding numbers, e.g.
// "inconclusive: 12 requests, need 50".
func (p *planner) evidence(run *apiv1.AnalysisRun) string {
	if run.Message != "" {
		return strings.ToLower(run.Verdict) + ": " + run.Message
	}
	return strings.ToLower(run.Verdict)
}

// progressOf summarizes a running run: "errors 1/3, latency 1/3".
func progressOf(run *apiv1.AnalysisRun) string {
	if len(run.Metrics) == 0 {
		return "no measurement yet"
	}
	var parts []string
	for _, m := range run.Metrics {
		part := fmt.Sprintf("%s %d measured", m.Metric, m.Measurements)
		if m.Last != nil && m.Last.Message != "" {
			part += " (last: " + m.Last.Message + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// runData is the evidence of a run for an event: the run with its metrics
// and last measurements, and the blast radius.
func (p *planner) runData(run *apiv1.AnalysisRun) json.RawMessage {
	b, err := json.Marshal(struct {
		Analysis    apiv1.AnalysisRun  `json:"analysis"`
		Weight      int                `json:"weight"`
		BlastRadius *apiv1.BlastRadius `json:"blastRadius,omitempty"`
	}{*run, p.st.Weight, p.st.BlastRadius})
	if err != nil {
		return nil
	}
	return b
}

func (p *planner) eventData(warning bool, revision int, reason, msg string, data json.RawMessage) {
	p.events = append(p.events, Event{Warning: warning, Revision: revision, Reason: reason, Message: msg, Data: data})
}

// promotionEvidence says what a promoted candidate passed and served:
// "analyses passed: step 2 (default/errors: …); it served 1200 requests,
// 3 of them errors"; "" when there is nothing to say.
func (p *planner) promotionEvidence(cand int) string {
	var parts []string
	for _, r := range p.st.Analyses {
		if r.Candidate != cand || r.Verdict != apiv1.VerdictSuccessful || r.Kind == apiv1.AnalysisPostPromotion {
			continue
		}
		name := r.Kind
		if r.Kind == apiv1.AnalysisStep {
			name = fmt.Sprintf("step %d", r.Step)
		}
		var last []string
		for _, m := range r.Metrics {
			if m.Last != nil && m.Last.Message != "" {
				last = append(last, m.Template+"/"+m.Metric+": "+m.Last.Message)
			}
		}
		if len(last) > 0 {
			name += " (" + strings.Join(last, "; ") + ")"
		}
		parts = append(parts, name)
	}
	out := ""
	if len(parts) > 0 {
		out = "analyses passed: " + strings.Join(parts, ", ")
	}
	if b := p.st.BlastRadius; b != nil && b.Revision == cand && b.Requests > 0 {
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("before promotion it served %d requests, %d of them errors", b.Requests, b.Errors)
	}
	return out
}

// promotionData is the evidence of a promotion for its event: every
// analysis run and the blast radius.
func (p *planner) promotionData() json.RawMessage {
	b, err := json.Marshal(struct {
		Analyses    []apiv1.AnalysisRun `json:"analyses,omitempty"`
		BlastRadius *apiv1.BlastRadius  `json:"blastRadius,omitempty"`
	}{p.st.Analyses, p.st.BlastRadius})
	if err != nil {
		return nil
	}
	return b
}

// cloneRun copies a run so that planning never changes its input.
func cloneRun(r apiv1.AnalysisRun) apiv1.AnalysisRun {
	r.Templates = slices.Clone(r.Templates)
	r.Args = slices.Clone(r.Args)
	if r.Metrics != nil {
		ms := make([]apiv1.AnalysisMetric, len(r.Metrics))
		for i, m := range r.Metrics {
			if m.Last != nil {
				last := *m.Last
				m.Last = &last
			}
			ms[i] = m
		}
		r.Metrics = ms
	}
	return r
}
