package apiv1

import "time"

// AuditEntry is one recorded API call: a change, a read of a secret value,
// or a refusal.
type AuditEntry struct {
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	// Actor is the token's name; empty when no valid token was presented.
	Actor string `json:"actor,omitempty"`
	// Role is the token's role; empty without a valid token.
	Role string `json:"role,omitempty"`
	// Source is the caller's address.
	Source string `json:"source"`
	// Action is the method and route pattern, such as
	// "DELETE /api/v1/{kind}/{name}".
	Action string `json:"action"`
	// Resource is what the call was about, such as "apps/web" or
	// "secrets/hello/db".
	Resource string `json:"resource"`
	// Status is the answer's HTTP status.
	Status int `json:"status"`
	// BodyDigest is the hex SHA-256 of the request body; absent when there
	// was none or it held secret values.
	BodyDigest string `json:"bodyDigest,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
}

// AuditList is audit entries, oldest first.
type AuditList struct {
	Items []AuditEntry `json:"items"`
}
