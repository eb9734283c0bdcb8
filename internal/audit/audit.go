package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/internal/store"
)

// Entry is one audit record.
type Entry = store.AuditEntry

// Query selects entries.
type Query = store.AuditFilter

// MaxLimit bounds how many entries one List returns.
const MaxLimit = 10000

// Log appends entries to the store and reads them back.
type Log struct {
	store store.Store
	now   func() time.Time
}

// New returns a log over s; now is the clock that dates entries.
func New(s store.Store, now func() time.Time) *Log {
	return &Log{store: s, now: now}
}

// Record appends e, dated now.
func (l *Log) Record(ctx context.Context, e Entry) (Entry, error) {
	e.Time = l.now().UTC()
	var out Entry
	err := l.store.Write(ctx, func(tx store.Tx) (err error) {
		out, err = tx.AppendAudit(ctx, e)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return out, nil
}

// List returns the newest entries matching q, oldest first.
func (l *Log) List(ctx context.Context, q Query) ([]Entry, error) {
	q.Limit = min(max(q.Limit, 0), MaxLimit) // 0: the store's default
	var out []Entry
	err := l.store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ListAudit(ctx, q)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}

// Call is what the decision to record a call looks at.
type Call struct {
	// Method is the request's method.
	Method string
	// Status is the answer's status.
	Status int
	// Privileged is true for routes that need the write or admin
	// permission: the ones that can change something or reveal what only
	// admins see. Evaluation and read routes are not, even when they are
	// POSTs (a flag evaluation changes nothing).
	Privileged bool
	// SecretRead is true for a route that answers with secret values.
	SecretRead bool
}

// Recorded decides whether a call gets an entry: every call to a
// privileged route that may change something (any method but GET, HEAD and
// OPTIONS), every read of a secret value, and every call refused for who
// made it (401, 403, 429), whatever its route and method.
func Recorded(c Call) bool {
	switch c.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return true
	}
	if c.SecretRead {
		return true
	}
	switch c.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return c.Privileged
}

// ErrBadSince is matched when a since value is neither a duration nor a
// time.
var ErrBadSince = errors.New("since must be a duration such as 90m or 7d, or a time such as 2026-01-02T15:04:05Z")

// ParseSince reads how far back to look: a duration before now (`90m`,
// `12h`, `7d`) or an RFC 3339 time. Empty means the beginning.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return time.Time{}, fmt.Errorf("%q: %w", s, ErrBadSince)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q: %w", s, ErrBadSince)
		}
	}
	return now.Add(-d).UTC(), nil
}
