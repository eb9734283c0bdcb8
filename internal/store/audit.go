package store

import "time"

// AuditEntry records one API call that changed something, read a secret
// value, or was refused. Entries are only ever appended.
type AuditEntry struct {
	// ID orders entries; it grows with every entry. Set by the store.
	ID int64
	// Time is when the call was answered; set by the store when zero.
	Time time.Time
	// Actor is the name of the token that made the call; empty when none
	// was presented or it was not valid.
	Actor string
	// Role is the token's role; empty without a valid token.
	Role string
	// Source is the caller's network address (host only).
	Source string
	// Action is the method and the route pattern, such as
	// `DELETE /api/v1/{kind}/{name}`.
	Action string
	// Resource is what the call was about, such as `apps/web` or
	// `secrets/hello/db`.
	Resource string
	// Status is the HTTP status of the answer.
	Status int
	// BodyDigest is the hex SHA-256 of the request body; empty when there
	// was none or it held secret values.
	BodyDigest string
	// RequestID ties the entry to the server's log lines.
	RequestID string
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	// Since keeps only entries at or after this time, when set.
	Since time.Time
	// Resource keeps only entries about this resource or anything under
	// it (`apps/web` matches `apps/web` and `apps/web/revisions`).
	Resource string
	// AfterID keeps only entries with a greater ID.
	AfterID int64
	// Limit caps the number returned, newest kept; 0 means 1000.
	Limit int
}
