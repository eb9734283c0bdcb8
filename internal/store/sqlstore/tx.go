package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sluice.dev/sluice/internal/store"
)

// tx implements store.Tx on one SQL transaction.
type tx struct {
	tx *sql.Tx
	d  Dialect
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// wrap classifies an error from a write.
func (t *tx) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if t.d.IsUniqueViolation != nil && t.d.IsUniqueViolation(err) {
		return fmt.Errorf("%s: %w", op, store.ErrExists)
	}
	return fmt.Errorf("%s: %w", op, err)
}

const objectColumns = `kind, name, labels, resource_version, generation, spec, status, created_at, updated_at`

func scanObject(s rowScanner) (store.Object, error) {
	var o store.Object
	var labels, spec, status string
	var created, updated int64
	if err := s.Scan(&o.Kind, &o.Name, &labels, &o.ResourceVersion, &o.Generation, &spec, &status, &created, &updated); err != nil {
		return o, err
	}
	if labels != "" && labels != "{}" {
		if err := json.Unmarshal([]byte(labels), &o.Labels); err != nil {
			return o, fmt.Errorf("labels of %s/%s: %w", o.Kind, o.Name, err)
		}
	}
	o.Spec = json.RawMessage(spec)
	if status != "" {
		o.Status = json.RawMessage(status)
	}
	o.CreatedAt, o.UpdatedAt = fromNanos(created), fromNanos(updated)
	return o, nil
}

func (t *tx) Get(ctx context.Context, kind, name string) (store.Object, error) {
	o, err := scanObject(t.queryRow(ctx, `SELECT `+objectColumns+` FROM resources WHERE kind = ? AND name = ?`, kind, name))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("%s %q: %w", kind, name, store.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	return o, nil
}

func (t *tx) List(ctx context.Context, kind string) ([]store.Object, error) {
	out, err := queryAll(ctx, t, scanObject, `SELECT `+objectColumns+` FROM resources WHERE kind = ? ORDER BY name`, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, nil
}

func (t *tx) Create(ctx context.Context, o store.Object) (store.Object, error) {
	now := time.Now().UTC()
	o.ResourceVersion, o.Generation, o.CreatedAt, o.UpdatedAt = 1, 1, now, now
	labels, err := json.Marshal(o.Labels)
	if err != nil {
		return o, fmt.Errorf("create %s %q: labels: %w", o.Kind, o.Name, err)
	}
	_, err = t.exec(ctx, `INSERT INTO resources (`+objectColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Kind, o.Name, string(labels), o.ResourceVersion, o.Generation, string(o.Spec), string(o.Status), nanos(now), nanos(now))
	return o, t.wrap(fmt.Sprintf("create %s %q", o.Kind, o.Name), err)
}

func (t *tx) Update(ctx context.Context, o store.Object) (store.Object, error) {
	cur, err := t.Get(ctx, o.Kind, o.Name)
	if err != nil {
		return o, err
	}
	if cur.ResourceVersion != o.ResourceVersion {
		return o, fmt.Errorf("update %s %q at version %d (stored: %d): %w", o.Kind, o.Name, o.ResourceVersion, cur.ResourceVersion, store.ErrConflict)
	}
	o.Generation = cur.Generation
	if !bytes.Equal(cur.Spec, o.Spec) {
		o.Generation++
	}
	o.CreatedAt, o.UpdatedAt = cur.CreatedAt, time.Now().UTC()
	labels, err := json.Marshal(o.Labels)
	if err != nil {
		return o, fmt.Errorf("update %s %q: labels: %w", o.Kind, o.Name, err)
	}
	res, err := t.exec(ctx, `UPDATE resources SET labels = ?, resource_version = ?, generation = ?, spec = ?, status = ?, updated_at = ?
		WHERE kind = ? AND name = ? AND resource_version = ?`,
		string(labels), o.ResourceVersion+1, o.Generation, string(o.Spec), string(o.Status), nanos(o.UpdatedAt),
		o.Kind, o.Name, o.ResourceVersion)
	if err != nil {
		return o, fmt.Errorf("update %s %q: %w", o.Kind, o.Name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return o, fmt.Errorf("update %s %q: %w", o.Kind, o.Name, store.ErrConflict)
	}
	o.ResourceVersion++
	return o, nil
}

func (t *tx) Delete(ctx context.Context, kind, name string) error {
	res, err := t.exec(ctx, `DELETE FROM resources WHERE kind = ? AND name = ?`, kind, name)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%s %q: %w", kind, name, store.ErrNotFound)
	}
	if kind == "App" {
		if _, err := t.exec(ctx, `DELETE FROM revisions WHERE app = ?`, name); err != nil {
			return fmt.Errorf("delete revisions of %q: %w", name, err)
		}
	}
	return nil
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}
