package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"sluice.dev/sluice/internal/store"
)

// defaultAuditLimit is how many entries ListAudit returns when the filter
// sets no limit.
const defaultAuditLimit = 1000

const auditColumns = `time, actor, role, source, action, resource, status, body_digest, request_id`

// AppendAudit adds an entry. Nothing in this package updates or deletes
// audit rows.
func (t *tx) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	err := t.queryRow(ctx, `INSERT INTO audit (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nanos(e.Time), e.Actor, e.Role, e.Source, e.Action, e.Resource, e.Status, e.BodyDigest, e.RequestID).Scan(&e.ID)
	if err != nil {
		return e, fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	return e, nil
}

// ListAudit returns the newest f.Limit matching entries, oldest first.
func (t *tx) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := `SELECT id, ` + auditColumns + ` FROM audit WHERE id > ?`
	args := []any{f.AfterID}
	if !f.Since.IsZero() {
		q += ` AND time >= ?`
		args = append(args, nanos(f.Since))
	}
	if r := f.Resource; r != "" {
		// The resource itself, or anything under it. substr counts
		// characters and compares exactly, where LIKE folds case on some
		// databases and treats '_' and '%' as wildcards.
		q += ` AND (resource = ? OR substr(resource, 1, ?) = ?)`
		args = append(args, r, utf8.RuneCountInString(r)+1, r+"/")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Role, &e.Source, &e.Action, &e.Resource, &e.Status, &e.BodyDigest, &e.RequestID); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		e.Time = fromNanos(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}
