package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors that callers act on.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a create found the thing already there.
	ErrExists = errors.New("already exists")
	// ErrConflict means an update was based on a stale resource version.
	ErrConflict = errors.New("conflict: the resource was changed by someone else")
)

// Store opens transactions on the state.
type Store interface {
	// Read runs fn with a read-only view.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction that commits when fn
	// returns nil and rolls back otherwise. Writes are serialisable.
	Write(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Tx is what a transaction can do.
type Tx interface {
	// Get returns one object, or ErrNotFound.
	Get(ctx context.Context, kind, name string) (Object, error)
	// List returns every object of a kind, ordered by name.
	List(ctx context.Context, kind string) ([]Object, error)
	// Create stores a new object with resource version and generation 1;
	// ErrExists when one of that kind and name is there.
	Create(ctx context.Context, o Object) (Object, error)
	// Update replaces an object whose stored ResourceVersion equals
	// o.ResourceVersion, and increments it; ErrConflict when it differs,
	// ErrNotFound when there is no such object. Generation grows when the
	// spec changed.
	Update(ctx context.Context, o Object) (Object, error)
	// Delete removes an object and, for apps, its revisions; ErrNotFound
	// when there is none.
	Delete(ctx context.Context, kind, name string) error

	// CreateRevision stores the next revision of an app; its Number must be
	// one more than the latest (ErrExists otherwise).
	CreateRevision(ctx context.Context, r Revision) (Revision, error)
	// GetRevision returns one revision, or ErrNotFound.
	GetRevision(ctx context.Context, app string, number int) (Revision, error)
	// ListRevisions returns an app's revisions, oldest first.
	ListRevisions(ctx context.Context, app string) ([]Revision, error)

	// AppendEvent adds an event and returns it with its ID and time set.
	AppendEvent(ctx context.Context, e Event) (Event, error)
	// ListEvents returns events matching f, oldest first.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)

	// CreateToken stores a token (by the hash of its secret); ErrExists when
	// its name or ID is taken.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash finds a token by the hash of its secret, or ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// ListTokens returns every token, ordered by name.
	ListTokens(ctx context.Context) ([]Token, error)
	// DeleteToken removes a token by ID; ErrNotFound when there is none.
	DeleteToken(ctx context.Context, id string) error
	// TouchToken records a token's last use.
	TouchToken(ctx context.Context, id string, at time.Time) error

	// AppendHistory records a change of a resource and returns the entry
	// with its Version (one more than the resource's latest, from 1, never
	// reused, not even after a delete) and Time (when zero) set.
	AppendHistory(ctx context.Context, h HistoryEntry) (HistoryEntry, error)
	// ListHistory returns a resource's entries matching f, oldest first.
	ListHistory(ctx context.Context, f HistoryFilter) ([]HistoryEntry, error)
	// GetHistory returns one entry of a resource, or ErrNotFound.
	GetHistory(ctx context.Context, kind, name string, version int64) (HistoryEntry, error)

	// GetSecretPath returns a secret's path record, tombstones included, or
	// ErrNotFound when nothing was ever written there.
	GetSecretPath(ctx context.Context, path string) (SecretPath, error)
	// ListSecretPaths returns the live (not removed) secrets, by path.
	ListSecretPaths(ctx context.Context) ([]SecretPath, error)
	// CreateSecretVersion stores v, whose Version must be one more than the
	// path's Latest (ErrExists otherwise), and revives a removed path.
	CreateSecretVersion(ctx context.Context, v SecretVersion) error
	// GetSecretVersion returns one version, or ErrNotFound.
	GetSecretVersion(ctx context.Context, path string, version int64) (SecretVersion, error)
	// ListSecretVersions returns a secret's versions, oldest first.
	ListSecretVersions(ctx context.Context, path string) ([]SecretVersion, error)
	// RewrapSecretVersion replaces the wrapped data key of one version and
	// the ID of the master key that wrapped it; ErrNotFound when there is
	// no such version.
	RewrapSecretVersion(ctx context.Context, path string, version int64, keyID string, wrappedKey []byte) error
	// DeleteSecret destroys every version of a live secret and leaves a
	// tombstone dated at; ErrNotFound when there is no live secret there.
	DeleteSecret(ctx context.Context, path string, at time.Time) error
	// SecretKeyIDs returns the distinct master key IDs that wrap stored data
	// keys, sorted.
	SecretKeyIDs(ctx context.Context) ([]string, error)

	// AppendAudit adds an audit entry and returns it with its ID and Time
	// (when zero) set. There is no way to change or remove an entry.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns entries matching f, oldest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// AppendMeasurement stores an analysis measurement and returns it with
	// its ID set. Measurements are only ever appended.
	AppendMeasurement(ctx context.Context, m Measurement) (Measurement, error)
	// ListMeasurements returns measurements matching f, oldest first.
	ListMeasurements(ctx context.Context, f MeasurementFilter) ([]Measurement, error)
}

// Object is one stored resource.
type Object struct {
	// Kind is the resource kind, such as App.
	Kind string
	// Name is the resource's name, unique within its kind.
	Name string
	// Labels are the resource's labels.
	Labels map[string]string
	// ResourceVersion grows by one with every write of the object.
	ResourceVersion int64
	// Generation grows by one with every change of Spec.
	Generation int64
	// Spec is what the user asked for, as canonical JSON.
	Spec json.RawMessage
	// Status is what sluice observed and decided, as JSON; may be empty.
	Status json.RawMessage
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Revision is an immutable snapshot of an app's workload.
type Revision struct {
	// App is the app's name.
	App string
	// Number counts from 1 per app.
	Number int
	// Version is the workload's version label, if any.
	Version string
	// Workload is the frozen workload as JSON.
	Workload json.RawMessage
	// Cause says what made it (`apply by admin`, `deploy by ci`).
	Cause string
	// CreatedAt is set by the store.
	CreatedAt time.Time
}

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event is one entry of the event log.
type Event struct {
	// ID orders events; it grows with every event.
	ID int64
	// Time is when the event was recorded; set by the store when zero.
	Time time.Time
	// App is the app the event is about; empty for events of the server.
	App string
	// Revision is the revision the event is about, or 0.
	Revision int
	// Type is EventNormal or EventWarning.
	Type string
	// Reason is a short CamelCase cause, such as RevisionCreated.
	Reason string
	// Message says what happened, for a human.
	Message string
	// Data holds structured evidence (measurements, weights) as JSON.
	Data json.RawMessage
}

// EventFilter selects events.
type EventFilter struct {
	// App keeps only events of this app, when set.
	App string
	// AfterID keeps only events with a greater ID.
	AfterID int64
	// Limit caps the number returned; 0 means 1000. With AfterID 0 the
	// newest Limit events are returned, still oldest first.
	Limit int
}

// Token is an API credential; the store keeps only the hash of its secret.
type Token struct {
	// ID identifies the token publicly (it is not the secret).
	ID string
	// Name is unique and chosen by the user.
	Name string
	// Role is admin, deployer, viewer or sdk.
	Role string
	// Env scopes the token to one environment, when set.
	Env string
	// Hash is the hex SHA-256 of the secret.
	Hash string
	// CreatedAt is set by the caller.
	CreatedAt time.Time
	// ExpiresAt, when set, ends the token's validity.
	ExpiresAt *time.Time
	// LastUsedAt is the last time the token authenticated a request.
	LastUsedAt *time.Time
}

// History actions.
const (
	HistoryCreated = "created"
	HistoryUpdated = "updated"
	HistoryDeleted = "deleted"
)

// HistoryEntry is one recorded change of a resource: what its spec became,
// who changed it and when. Entries outlive the resource, so a deleted one
// can be restored.
type HistoryEntry struct {
	// Kind and Name identify the resource.
	Kind string
	Name string
	// Version numbers the resource's entries from 1; set by the store.
	Version int64
	// ResourceVersion is the object's resource version after the change
	// (before it, for a delete).
	ResourceVersion int64
	// Action is HistoryCreated, HistoryUpdated or HistoryDeleted.
	Action string
	// Spec is the spec after the change, as canonical JSON; empty for a
	// delete.
	Spec json.RawMessage
	// Actor names who made the change (a token's name).
	Actor string
	// Time is when the change was made; set by the store when zero.
	Time time.Time
}

// HistoryFilter selects entries of one resource.
type HistoryFilter struct {
	// Kind and Name identify the resource.
	Kind string
	Name string
	// Limit caps the number returned, newest first kept; 0 means 1000.
	Limit int
}

// Measurement is one judged measurement of an analysis metric: the
// evidence behind a rollout's promotion or abort.
type Measurement struct {
	// ID orders measurements; it grows with every one. Set by the store.
	ID int64
	// App is the app the analysis measured.
	App string
	// Run identifies the analysis run within the app, as its caller
	// names it (such as `3/step-2`).
	Run string
	// Candidate and Stable are the revisions compared; Stable is 0 when
	// there was none.
	Candidate int
	Stable    int
	// Template and Metric name the metric measured.
	Template string
	Metric   string
	// Time is when the measurement was taken.
	Time time.Time
	// Value is what the provider returned, as JSON; may be empty.
	Value json.RawMessage
	// SampleSize is the number of requests behind Value, 0 when unknown.
	SampleSize int64
	// Condition is the condition evaluated.
	Condition string
	// Verdict is Successful, Failed, Inconclusive or Error.
	Verdict string
	// Message says why, with the numbers that decided.
	Message string
	// Error is the provider's or the condition's error, if any.
	Error string
}

// MeasurementFilter selects measurements. Unset fields select all.
type MeasurementFilter struct {
	// App keeps only measurements of this app, when set.
	App string
	// Run keeps only measurements of this analysis run, when set.
	Run string
	// Candidate keeps only measurements of this candidate revision, when
	// not 0.
	Candidate int
	// AfterID keeps only measurements with a greater ID.
	AfterID int64
	// Limit caps the number returned; 0 means 1000. With AfterID 0 the
	// newest Limit measurements are returned, with any other AfterID the
	// oldest Limit after it (-1 pages forward from the first); either way
	// oldest first.
	Limit int
}
