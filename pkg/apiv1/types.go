package apiv1

import (
	"encoding/json"
	"time"
)

// APIVersion is the apiVersion of every resource.
const APIVersion = "sluice.dev/v1"

// Object is a resource as the API returns it: the spec with every default
// filled in, and the status sluice keeps about it.
type Object struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   Metadata        `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Status     json.RawMessage `json:"status,omitempty"`
}

// Metadata identifies a resource and its version.
type Metadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// ResourceVersion grows with every write; send it back to make an
	// update conditional.
	ResourceVersion int64 `json:"resourceVersion"`
	// Generation grows with every change of the spec.
	Generation int64     `json:"generation"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ObjectList is a list of resources of one kind.
type ObjectList struct {
	Items []Object `json:"items"`
}

// App phases.
const (
	// PhasePending: a revision waits to be rolled out.
	PhasePending = "Pending"
	// PhaseProgressing: a rollout is moving traffic.
	PhaseProgressing = "Progressing"
	// PhasePaused: a rollout waits for a human or a timer.
	PhasePaused = "Paused"
	// PhaseHealthy: the stable revision serves all traffic.
	PhaseHealthy = "Healthy"
	// PhaseDegraded: the app serves, but not as asked.
	PhaseDegraded = "Degraded"
	// PhaseAborted: the last rollout was aborted; stable serves.
	PhaseAborted = "Aborted"
	// PhaseFailed: the last rollout failed; stable serves.
	PhaseFailed = "Failed"
)

// AppStatus is what sluice reports about an app.
type AppStatus struct {
	// Phase is one of the Phase constants.
	Phase string `json:"phase"`
	// Message explains the phase.
	Message string `json:"message,omitempty"`
	// LatestRevision is the newest revision of the app.
	LatestRevision int `json:"latestRevision"`
	// StableRevision serves traffic; 0 before the first one is up.
	StableRevision int `json:"stableRevision,omitempty"`
	// CandidateRevision is being rolled out; 0 when none.
	CandidateRevision int `json:"candidateRevision,omitempty"`
	// Weight is the candidate's share of traffic in basis points.
	Weight int `json:"weight"`
	// Step is the index of the current canary step.
	Step int `json:"step,omitempty"`

	// The rollout's details; see rollout.go.
	RolloutDetails
}

// Revision is an immutable snapshot of an app's workload.
type Revision struct {
	App       string          `json:"app"`
	Number    int             `json:"number"`
	Version   string          `json:"version,omitempty"`
	Workload  json.RawMessage `json:"workload"`
	Cause     string          `json:"cause,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
}

// RevisionList is an app's revisions, oldest first.
type RevisionList struct {
	Items []Revision `json:"items"`
}

// Event is one entry of the event log.
type Event struct {
	ID       int64           `json:"id"`
	Time     time.Time       `json:"time"`
	App      string          `json:"app,omitempty"`
	Revision int             `json:"revision,omitempty"`
	Type     string          `json:"type"`
	Reason   string          `json:"reason"`
	Message  string          `json:"message"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// EventList is a page of events, oldest first.
type EventList struct {
	Items []Event `json:"items"`
}

// Apply actions.
const (
	ActionCreated    = "created"
	ActionConfigured = "configured"
	ActionUnchanged  = "unchanged"
)

// ApplyResult says what an apply did to each resource, in request order.
type ApplyResult struct {
	Resources []Applied `json:"resources"`
}

// Applied is the outcome for one resource.
type Applied struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Action is created, configured or unchanged.
	Action string `json:"action"`
	// ResourceVersion is the stored version after the apply.
	ResourceVersion int64 `json:"resourceVersion"`
	// Revision is set for apps when the apply made a new revision.
	Revision int `json:"revision,omitempty"`
}

// VersionInfo describes a sluice build.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Check is one readiness check's result.
type Check struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Readiness is the body of /readyz.
type Readiness struct {
	Status string  `json:"status"`
	Checks []Check `json:"checks"`
}

// Token describes an API token; its secret is never shown again after
// creation.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Env        string     `json:"env,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

// TokenList is every token, by name.
type TokenList struct {
	Items []Token `json:"items"`
}

// TokenRequest asks for a new token.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Env scopes an sdk token to one environment (required for sdk).
	Env string `json:"env,omitempty"`
	// ExpiresIn is a Go duration, or days as `30d`; empty: never.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// TokenCreated is a new token with its secret, shown this once.
type TokenCreated struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}

// History actions.
const (
	HistoryCreated = "created"
	HistoryUpdated = "updated"
	HistoryDeleted = "deleted"
)

// HistoryEntry is one recorded change of a resource: what its spec became,
// who changed it and when.
type HistoryEntry struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Version numbers the resource's changes from 1; it is never reused,
	// not even after a delete. Revert to a version by applying its spec.
	Version int64 `json:"version"`
	// ResourceVersion is the object's resource version after the change
	// (before it, for a delete).
	ResourceVersion int64 `json:"resourceVersion"`
	// Action is created, updated or deleted.
	Action string `json:"action"`
	// Spec is the spec after the change; absent for a delete.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Actor is the name of the token that made the change.
	Actor string    `json:"actor"`
	Time  time.Time `json:"time"`
}

// HistoryList is a resource's history, oldest first.
type HistoryList struct {
	Items []HistoryEntry `json:"items"`
}

// EvaluationRequest asks for one flag's value for a context.
type EvaluationRequest struct {
	// Context is the OpenFeature evaluation context; its targetingKey
	// member is the targeting key. Absent means empty.
	Context map[string]any `json:"context,omitempty"`
}

// FlagEvaluation is the outcome of evaluating one flag, as the
// environment's OFREP clients would get it.
type FlagEvaluation struct {
	Key string `json:"key"`
	// Value is absent when the flag gives none (disabled, no default
	// variant, an error): clients then use their code default.
	Value any `json:"value,omitempty"`
	// Variant names the chosen variant; empty when there is none.
	Variant string `json:"variant,omitempty"`
	// Reason is STATIC, TARGETING_MATCH, DEFAULT, DISABLED or ERROR.
	Reason string `json:"reason"`
	// ErrorCode is set when Reason is ERROR.
	ErrorCode    string         `json:"errorCode,omitempty"`
	ErrorMessage string         `json:"errorMessage,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	// FlagSetVersion identifies the flag set the server evaluated.
	FlagSetVersion string `json:"flagSetVersion"`
}

// Identity is the caller a token names: GET /api/v1/whoami.
type Identity struct {
	Name string `json:"name"`
	// Role is admin, deployer, viewer or sdk.
	Role string `json:"role"`
	// Env is the one environment the token is scoped to; empty: all.
	Env string `json:"env"`
}
