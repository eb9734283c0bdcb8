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

// defaultHistoryLimit is how many entries ListHistory returns when the
// filter sets no limit.
const defaultHistoryLimit = 1000

const historyColumns = `kind, name, version, resource_version, action, spec, actor, time`

// AppendHistory stores h as the resource's next entry. The version is read
// and written in the same transaction; on a database that runs writers
// side by side, two racing writers of one resource meet on the primary key
// and one fails with ErrExists.
func (t *tx) AppendHistory(ctx context.Context, h store.HistoryEntry) (store.HistoryEntry, error) {
	var latest int64
	err := t.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM history WHERE kind = ? AND name = ?`, h.Kind, h.Name).Scan(&latest)
	if err != nil {
		return h, fmt.Errorf("latest history entry of %s %q: %w", h.Kind, h.Name, err)
	}
	h.Version = latest + 1
	if h.Time.IsZero() {
		h.Time = time.Now().UTC()
	}
	_, err = t.exec(ctx, `INSERT INTO history (`+historyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		h.Kind, h.Name, h.Version, h.ResourceVersion, h.Action, string(h.Spec), h.Actor, nanos(h.Time))
	return h, t.wrap(fmt.Sprintf("record version %d of %s %q", h.Version, h.Kind, h.Name), err)
}

// scanHistory reads one row of historyColumns.
func scanHistory(s rowScanner) (store.HistoryEntry, error) {
	var h store.HistoryEntry
	var spec string
	var at int64
	if err := s.Scan(&h.Kind, &h.Name, &h.Version, &h.ResourceVersion, &h.Action, &spec, &h.Actor, &at); err != nil {
		return h, err
	}
	if spec != "" {
		h.Spec = json.RawMessage(spec)
	}
	h.Time = fromNanos(at)
	return h, nil
}

// ListHistory returns the newest f.Limit entries of a resource, oldest
// first.
func (t *tx) ListHistory(ctx context.Context, f store.HistoryFilter) ([]store.HistoryEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultHistoryLimit
	}
	out, err := queryAll(ctx, t, scanHistory, `SELECT `+historyColumns+` FROM history WHERE kind = ? AND name = ? ORDER BY version DESC LIMIT ?`,
		f.Kind, f.Name, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %s %q: %w", f.Kind, f.Name, err)
	}
	slices.Reverse(out)
	return out, nil
}

// GetHistory returns one entry, or ErrNotFound.
func (t *tx) GetHistory(ctx context.Context, kind, name string, version int64) (store.HistoryEntry, error) {
	h, err := scanHistory(t.queryRow(ctx, `SELECT `+historyColumns+` FROM history WHERE kind = ? AND name = ? AND version = ?`,
		kind, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("version %d of %s %q: %w", version, kind, name, store.ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("get version %d of %s %q: %w", version, kind, name, err)
	}
	return h, nil
}
