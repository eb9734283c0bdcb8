package apiv1

import "time"

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
