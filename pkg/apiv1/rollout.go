package apiv1

import (
	"encoding/json"
	"time"
)

// Reasons of an app's phase (AppStatus.Reason) and of rollout events.
const (
	ReasonRolloutStarted    = "RolloutStarted"
	ReasonRolloutSuperseded = "RolloutSuperseded"
	ReasonCandidateReady    = "CandidateReady"
	ReasonCandidateNotReady = "CandidateNotReady"
	ReasonWaitingForPromote = "WaitingForPromotion"
	ReasonPaused            = "Paused"
	ReasonPromoted          = "Promoted"
	ReasonRolledBack        = "RolledBack"
	ReasonAborted           = "Aborted"
	ReasonUndone            = "Undone"
	ReasonProgressDeadline  = "ProgressDeadlineExceeded"
	ReasonInvalidWorkload   = "InvalidWorkload"
	ReasonScaledDown        = "ScaledDown"
	ReasonInstancesNotReady = "InstancesNotReady"
	ReasonServing           = "Serving"
	// ReasonWeightSet: a canary step gave the candidate a new share.
	ReasonWeightSet = "WeightSet"
	// ReasonScaling: the candidate is starting instances for its next
	// weight.
	ReasonScaling = "Scaling"
	// ReasonAnalysisRunning: an analysis step waits for its verdict.
	ReasonAnalysisRunning = "AnalysisRunning"
	// ReasonAnalysisSuccessful: an analysis passed.
	ReasonAnalysisSuccessful = "AnalysisSuccessful"
	// ReasonAnalysisFailed: an analysis failed and the rollout was
	// aborted.
	ReasonAnalysisFailed = "AnalysisFailed"
	// ReasonAnalysisError: an analysis could not measure or judge, more
	// often than allowed, and the rollout was aborted.
	ReasonAnalysisError = "AnalysisError"
	// ReasonAnalysisInconclusive: an analysis had too little data, more
	// often than allowed, and the rollout paused for a human.
	ReasonAnalysisInconclusive = "AnalysisInconclusive"
)

// Kinds of analysis runs (AnalysisRun.Kind).
const (
	// AnalysisStep runs as a canary step, or as blue-green's
	// pre-promotion analysis; the rollout waits for its verdict.
	AnalysisStep = "step"
	// AnalysisBackground runs for the whole canary rollout.
	AnalysisBackground = "background"
	// AnalysisPostPromotion runs after a blue-green promotion; a failed
	// one rolls back to the previous revision.
	AnalysisPostPromotion = "postPromotion"
)

// Verdicts of analysis runs, metrics and measurements.
const (
	VerdictRunning      = "Running"
	VerdictSuccessful   = "Successful"
	VerdictFailed       = "Failed"
	VerdictInconclusive = "Inconclusive"
	VerdictError        = "Error"
	// VerdictSkipped: `rollout promote` skipped the analysis.
	VerdictSkipped = "Skipped"
)

// Roles of a revision in an app's status.
const (
	// RoleStable serves production traffic.
	RoleStable = "stable"
	// RoleCandidate is being rolled out.
	RoleCandidate = "candidate"
	// RolePrevious served before the last promotion and is kept warm for
	// an instant undo.
	RolePrevious = "previous"
	// RoleStopping is no longer wanted: its instances drain, then stop.
	RoleStopping = "stopping"
)

// Rollout actions, the last segment of
// POST /api/v1/apps/{name}/rollout/{action}.
const (
	// ActionPromote skips the wait before promotion (blue-green) or the
	// current pause; the candidate takes all traffic once healthy.
	ActionPromote = "promote"
	// ActionAbort stops the candidate; stable keeps serving.
	ActionAbort = "abort"
	// ActionUndo returns to the revision that served before the last
	// promotion (during a rollout it aborts it).
	ActionUndo = "undo"
	// ActionPause holds the rollout before its next step or promotion.
	ActionPause = "pause"
	// ActionResume lifts a pause, or retries a revision that was aborted,
	// failed or undone.
	ActionResume = "resume"
	// ActionRetry rolls out again, from its first step, the revision whose
	// rollout was aborted, failed or undone.
	ActionRetry = "retry"
	// ActionPromoteFull skips every remaining step: the candidate takes
	// all traffic once it runs at full size.
	ActionPromoteFull = "promote-full"
)

// RolloutDetails are the parts of an app's status that say where its
// rollout stands. They are embedded in AppStatus, so their fields appear
// beside phase and weight.
type RolloutDetails struct {
	// Reason is a short CamelCase cause of the phase, such as Promoted,
	// Aborted or ProgressDeadlineExceeded.
	Reason string `json:"reason,omitempty"`
	// Strategy is blueGreen or canary, as the spec says now.
	Strategy string `json:"strategy,omitempty"`
	// Steps is the number of steps of the rollout in progress; Step is the
	// index of the current one.
	Steps int `json:"steps,omitempty"`
	// PreviewAddress is where the candidate is served before promotion
	// (blue-green with previewListen); empty otherwise.
	PreviewAddress string `json:"previewAddress,omitempty"`
	// PreviousRevision served before the last promotion: `rollout undo`
	// returns to it.
	PreviousRevision int `json:"previousRevision,omitempty"`
	// WarmSince is when the previous revision stopped serving and became
	// warm-only; nil once it is stopped.
	WarmSince *time.Time `json:"warmSince,omitempty"`
	// ScaleDownAt is when the warm previous revision will be stopped; nil
	// once it is stopped.
	ScaleDownAt *time.Time `json:"scaleDownAt,omitempty"`
	// RejectedRevision is the newest revision that was aborted, failed or
	// undone: revisions up to it are not rolled out again until `rollout
	// resume` or a newer revision.
	RejectedRevision int `json:"rejectedRevision,omitempty"`
	// Paused is set by `rollout pause`: no rollout takes a step or is
	// promoted until `rollout resume` (or `rollout promote`).
	Paused bool `json:"paused,omitempty"`
	// Rollout is the bookkeeping of the rollout in progress; nil when none.
	Rollout *RolloutState `json:"rollout,omitempty"`
	// Revisions are the revisions with instances, or that should have
	// them, oldest first.
	Revisions []RevisionStatus `json:"revisions,omitempty"`
	// Analyses are the analysis runs of the latest rollout, oldest first;
	// they stay after it ended, until the next one starts.
	Analyses []AnalysisRun `json:"analyses,omitempty"`
	// BlastRadius is what the candidate of the latest rollout served so
	// far, as the proxy counted it; it stays after the rollout ended.
	BlastRadius *BlastRadius `json:"blastRadius,omitempty"`
}

// BlastRadius counts the requests a candidate served and how many of them
// failed (5xx, unreachable, broken off).
type BlastRadius struct {
	// Revision is the candidate counted.
	Revision int `json:"revision"`
	// Requests and Errors count since it first served.
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
}

// AnalysisRun is one run of analysis templates against a candidate.
type AnalysisRun struct {
	// Name identifies the run within the app, such as
	// `3/1764144000/step-2`; measurements are stored under it.
	Name string `json:"name"`
	// Kind is AnalysisStep or AnalysisBackground.
	Kind string `json:"kind"`
	// Step is the 1-based step of a step run; 0 for a background run.
	Step int `json:"step,omitempty"`
	// Attempt counts the runs of the same step (a resume after an
	// inconclusive verdict runs the analysis again), from 1.
	Attempt int `json:"attempt"`
	// Templates name the AnalysisTemplates run; empty means sluice's
	// default analysis.
	Templates []string `json:"templates,omitempty"`
	// Args are the values passed to the templates' arguments.
	Args []AnalysisArg `json:"args,omitempty"`
	// Count is how many measurements a metric without a count of its own
	// takes; 0: until the rollout ends.
	Count int `json:"count,omitempty"`
	// Candidate and Stable are the revisions compared.
	Candidate int `json:"candidate"`
	Stable    int `json:"stable,omitempty"`
	// StartedAt is when the run began; measurements are scheduled from it.
	StartedAt time.Time `json:"startedAt"`
	// Verdict is Running, Successful, Failed, Inconclusive, Error or
	// Skipped.
	Verdict string `json:"verdict"`
	// Message explains the verdict with the numbers that decided it.
	Message string `json:"message,omitempty"`
	// Metrics is where each metric stands.
	Metrics []AnalysisMetric `json:"metrics,omitempty"`
}

// AnalysisArg is a value passed to an analysis template's argument.
type AnalysisArg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// AnalysisMetric is where one metric of an analysis run stands.
type AnalysisMetric struct {
	Template string `json:"template"`
	Metric   string `json:"metric"`
	// Verdict is Running until a limit or the metric's count decides it.
	Verdict string `json:"verdict"`
	// Measurements counts the measurements taken; the others count them
	// by verdict.
	Measurements int `json:"measurements"`
	Successful   int `json:"successful,omitempty"`
	Failed       int `json:"failed,omitempty"`
	Inconclusive int `json:"inconclusive,omitempty"`
	Errors       int `json:"errors,omitempty"`
	// Last is the latest measurement: the deciding one once the metric
	// has its verdict.
	Last *Measurement `json:"last,omitempty"`
}

// Measurement is one judged measurement of an analysis metric.
type Measurement struct {
	// At is when it was taken.
	At time.Time `json:"at"`
	// Value is what the provider returned, as JSON.
	Value json.RawMessage `json:"value,omitempty"`
	// SampleSize is the number of requests behind Value; 0 when unknown.
	SampleSize int64 `json:"sampleSize"`
	// Condition is the condition evaluated.
	Condition string `json:"condition,omitempty"`
	// Verdict is Successful, Failed, Inconclusive or Error.
	Verdict string `json:"verdict"`
	// Message says why, with the numbers.
	Message string `json:"message,omitempty"`
	// Error is the provider's or the condition's error.
	Error string `json:"error,omitempty"`
}

// RolloutState is what the planner remembers about the rollout in
// progress.
type RolloutState struct {
	// StartedAt is when the rollout began.
	StartedAt time.Time `json:"startedAt"`
	// ProgressAt is the last time the rollout made progress (an instance
	// became healthy, a step ended) or lost it; progressDeadline counts
	// from here.
	ProgressAt time.Time `json:"progressAt"`
	// ReadyAt is when every instance of the candidate became healthy; nil
	// while some are not.
	ReadyAt *time.Time `json:"readyAt,omitempty"`
	// StepStartedAt is when the current step began; nil before it has.
	StepStartedAt *time.Time `json:"stepStartedAt,omitempty"`
	// PromoteRequested is set by `rollout promote` until a pause consumes
	// it.
	PromoteRequested bool `json:"promoteRequested,omitempty"`
	// Rollback marks an undo: the candidate is an older revision, taking
	// all traffic as soon as it is healthy.
	Rollback bool `json:"rollback,omitempty"`
	// PromoteFull is set by `rollout promote --full`: every remaining step
	// is skipped.
	PromoteFull bool `json:"promoteFull,omitempty"`
}

// RevisionStatus is one revision of an app, its role and its instances.
type RevisionStatus struct {
	Revision int    `json:"revision"`
	Version  string `json:"version,omitempty"`
	// Role is stable, candidate, previous or stopping.
	Role string `json:"role"`
	// Replicas is how many instances should run (0 while stopping).
	Replicas int `json:"replicas"`
	// Ready counts the instances that are running and healthy.
	Ready     int              `json:"ready"`
	Instances []InstanceStatus `json:"instances,omitempty"`
}

// InstanceStatus is one instance as sluice last saw it.
type InstanceStatus struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// State is Starting, Running, Exited or Stopping.
	State string `json:"state"`
	// Health is Unknown, Healthy or Unhealthy.
	Health   string `json:"health"`
	Restarts int    `json:"restarts,omitempty"`
	// Reason says why an instance is not healthy: the last check's result
	// or how its process ended.
	Reason string `json:"reason,omitempty"`
}

// DeployRequest makes a new revision from an app's current spec with a few
// changes, without editing YAML. Empty fields change nothing.
type DeployRequest struct {
	// Env sets (or replaces) environment variables of the process runtime.
	Env map[string]string `json:"env,omitempty"`
	// Command replaces the process runtime's command (and clears its args).
	Command []string `json:"command,omitempty"`
	// Version sets the spec's version label.
	Version string `json:"version,omitempty"`
}

// DeployResult says what a deploy did.
type DeployResult struct {
	// Applied is the outcome of applying the changed spec: configured with
	// a new revision, or unchanged.
	Applied Applied `json:"applied"`
	// Revision is the revision the app rolls out now: the new one, or the
	// latest when nothing changed.
	Revision int `json:"revision"`
	// Status is the app's status right after the deploy.
	Status AppStatus `json:"status"`
}

// StoredMeasurement is one analysis measurement as the store keeps it:
// GET /api/v1/apps/{name}/measurements lists them.
type StoredMeasurement struct {
	// ID orders measurements; pass it as ?after= to page on.
	ID int64 `json:"id"`
	// Run is the analysis run (AnalysisRun.Name) it belongs to.
	Run string `json:"run"`
	// Candidate and Stable are the revisions compared.
	Candidate int `json:"candidate"`
	Stable    int `json:"stable,omitempty"`
	// Template and Metric name the metric measured.
	Template string `json:"template"`
	Metric   string `json:"metric"`
	Measurement
}

// MeasurementList is an app's measurements, oldest first.
type MeasurementList struct {
	Items []StoredMeasurement `json:"items"`
}

// AppTraffic is what the proxy measured of an app's revisions over a
// recent window: GET /api/v1/apps/{name}/traffic.
type AppTraffic struct {
	App string `json:"app"`
	// WindowSeconds is the span the windowed fields cover.
	WindowSeconds float64 `json:"windowSeconds"`
	// Revisions are the app's revisions the proxy routes to, oldest first.
	Revisions []RevisionTraffic `json:"revisions"`
}

// RevisionTraffic is one revision's requests as the proxy counted them.
// An error is a 5xx answer, an unreachable instance or a response its
// instance broke off; a 4xx, or a client hanging up, is not one. Rates and latencies are
// 0 when the window holds no request.
type RevisionTraffic struct {
	Revision int `json:"revision"`
	// Role is stable, candidate, previous or stopping.
	Role string `json:"role"`
	// Requests and Errors were completed in the window.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// RequestsPerSecond is Requests over the window.
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// ErrorRate is Errors/Requests, from 0 to 1.
	ErrorRate float64 `json:"errorRate"`
	// P50Seconds and P99Seconds are latency quantiles, from the request's
	// arrival at the proxy to the end of its response.
	P50Seconds float64 `json:"p50Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	// TotalRequests and TotalErrors count since the proxy first routed to
	// the revision.
	TotalRequests uint64 `json:"totalRequests"`
	TotalErrors   uint64 `json:"totalErrors"`
}
