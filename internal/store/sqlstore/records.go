package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"sluice.dev/sluice/internal/store"
)

func (t *tx) CreateRevision(ctx context.Context, r store.Revision) (store.Revision, error) {
	var latest int
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(number), 0) FROM revisions WHERE app = ?`, r.App).Scan(&latest); err != nil {
		return r, fmt.Errorf("latest revision of %q: %w", r.App, err)
	}
	if r.Number != latest+1 {
		return r, fmt.Errorf("revision %d of %q (latest is %d): %w", r.Number, r.App, latest, store.ErrExists)
	}
	r.CreatedAt = time.Now().UTC()
	_, err := t.exec(ctx, `INSERT INTO revisions (app, number, version, workload, cause, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.App, r.Number, r.Version, string(r.Workload), r.Cause, nanos(r.CreatedAt))
	return r, t.wrap(fmt.Sprintf("create revision %d of %q", r.Number, r.App), err)
}

const revisionColumns = `app, number, version, workload, cause, created_at`

func scanRevision(s rowScanner) (store.Revision, error) {
	var r store.Revision
	var workload string
	var created int64
	err := s.Scan(&r.App, &r.Number, &r.Version, &workload, &r.Cause, &created)
	r.Workload, r.CreatedAt = json.RawMessage(workload), fromNanos(created)
	return r, err
}

func (t *tx) GetRevision(ctx context.Context, app string, number int) (store.Revision, error) {
	r, err := scanRevision(t.queryRow(ctx, `SELECT `+revisionColumns+` FROM revisions WHERE app = ? AND number = ?`, app, number))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("revision %d of %q: %w", number, app, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("get revision %d of %q: %w", number, app, err)
	}
	return r, nil
}

func (t *tx) ListRevisions(ctx context.Context, app string) ([]store.Revision, error) {
	out, err := queryAll(ctx, t, scanRevision, `SELECT `+revisionColumns+` FROM revisions WHERE app = ? ORDER BY number`, app)
	if err != nil {
		return nil, fmt.Errorf("list revisions of %q: %w", app, err)
	}
	return out, nil
}

func (t *tx) AppendEvent(ctx context.Context, e store.Event) (store.Event, error) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Type == "" {
		e.Type = store.EventNormal
	}
	err := t.queryRow(ctx, `INSERT INTO events (time, app, revision, type, reason, message, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nanos(e.Time), e.App, e.Revision, e.Type, e.Reason, e.Message, string(e.Data)).Scan(&e.ID)
	if err != nil {
		return e, fmt.Errorf("append event %s: %w", e.Reason, err)
	}
	return e, nil
}

func (t *tx) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT id, time, app, revision, type, reason, message, data FROM events WHERE id > ?`
	args := []any{f.AfterID}
	if f.App != "" {
		q += ` AND app = ?`
		args = append(args, f.App)
	}
	newest := f.AfterID == 0
	if newest {
		q += ` ORDER BY id DESC LIMIT ?`
	} else {
		q += ` ORDER BY id LIMIT ?`
	}
	args = append(args, limit)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at int64
		var data string
		if err := rows.Scan(&e.ID, &at, &e.App, &e.Revision, &e.Type, &e.Reason, &e.Message, &data); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.Time = fromNanos(at)
		if data != "" {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	if newest {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

func (t *tx) CreateToken(ctx context.Context, tok store.Token) error {
	_, err := t.exec(ctx, `INSERT INTO tokens (id, name, role, env, hash, created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tok.ID, tok.Name, tok.Role, tok.Env, tok.Hash, nanos(tok.CreatedAt), nullNanos(tok.ExpiresAt), nullNanos(tok.LastUsedAt))
	return t.wrap(fmt.Sprintf("create token %q", tok.Name), err)
}

const tokenColumns = `id, name, role, env, hash, created_at, expires_at, last_used_at`

func scanToken(s rowScanner) (store.Token, error) {
	var tok store.Token
	var created int64
	var expires, used sql.NullInt64
	err := s.Scan(&tok.ID, &tok.Name, &tok.Role, &tok.Env, &tok.Hash, &created, &expires, &used)
	tok.CreatedAt, tok.ExpiresAt, tok.LastUsedAt = fromNanos(created), fromNullNanos(expires), fromNullNanos(used)
	return tok, err
}

func (t *tx) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	tok, err := scanToken(t.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return tok, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return tok, fmt.Errorf("find token: %w", err)
	}
	return tok, nil
}

func (t *tx) ListTokens(ctx context.Context) ([]store.Token, error) {
	out, err := queryAll(ctx, t, scanToken, `SELECT `+tokenColumns+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

func (t *tx) DeleteToken(ctx context.Context, id string) error {
	res, err := t.exec(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete token %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("token %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) TouchToken(ctx context.Context, id string, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, nanos(at), id); err != nil {
		return fmt.Errorf("touch token %q: %w", id, err)
	}
	return nil
}
