package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"sluice.dev/sluice/internal/store"
)

// Sealed bytes are kept as base64 text, which every SQL database stores
// the same way.
var b64 = base64.StdEncoding

const secretPathColumns = `path, latest, created_at, updated_at, deleted_at`

func scanSecretPath(s rowScanner) (store.SecretPath, error) {
	var p store.SecretPath
	var created, updated int64
	var deleted sql.NullInt64
	err := s.Scan(&p.Path, &p.Latest, &created, &updated, &deleted)
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = fromNanos(created), fromNanos(updated), fromNullNanos(deleted)
	return p, err
}

// GetSecretPath returns a path's record, tombstones included.
func (t *tx) GetSecretPath(ctx context.Context, path string) (store.SecretPath, error) {
	p, err := scanSecretPath(t.queryRow(ctx, `SELECT `+secretPathColumns+` FROM secret_paths WHERE path = ?`, path))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("secret %q: %w", path, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("get secret %q: %w", path, err)
	}
	return p, nil
}

// ListSecretPaths returns the live secrets, by path.
func (t *tx) ListSecretPaths(ctx context.Context) ([]store.SecretPath, error) {
	out, err := queryAll(ctx, t, scanSecretPath, `SELECT `+secretPathColumns+` FROM secret_paths WHERE deleted_at IS NULL ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return out, nil
}

// CreateSecretVersion stores the next version of a path and moves the
// path's record along, creating or reviving it.
func (t *tx) CreateSecretVersion(ctx context.Context, v store.SecretVersion) error {
	p, err := t.GetSecretPath(ctx, v.Path)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if v.Version != p.Latest+1 {
		return fmt.Errorf("version %d of secret %q (latest is %d): %w", v.Version, v.Path, p.Latest, store.ErrExists)
	}
	at := nanos(v.CreatedAt)
	if exists {
		res, err := t.exec(ctx, `UPDATE secret_paths SET latest = ?, updated_at = ?, deleted_at = NULL WHERE path = ? AND latest = ?`,
			v.Version, at, v.Path, p.Latest)
		if err != nil {
			return fmt.Errorf("record secret %q: %w", v.Path, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("version %d of secret %q: %w", v.Version, v.Path, store.ErrExists)
		}
	} else {
		_, err := t.exec(ctx, `INSERT INTO secret_paths (`+secretPathColumns+`) VALUES (?, ?, ?, ?, NULL)`, v.Path, v.Version, at, at)
		if err != nil {
			return t.wrap(fmt.Sprintf("record secret %q", v.Path), err)
		}
	}
	_, err = t.exec(ctx, `INSERT INTO secret_versions (path, version, key_id, wrapped_key, ciphertext, actor, restored_from, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Path, v.Version, v.KeyID, b64.EncodeToString(v.WrappedKey), b64.EncodeToString(v.Ciphertext), v.Actor, v.RestoredFrom, at)
	return t.wrap(fmt.Sprintf("store version %d of secret %q", v.Version, v.Path), err)
}

const secretVersionColumns = `path, version, key_id, wrapped_key, ciphertext, actor, restored_from, created_at`

func scanSecretVersion(s rowScanner) (store.SecretVersion, error) {
	var v store.SecretVersion
	var wrapped, sealed string
	var created int64
	if err := s.Scan(&v.Path, &v.Version, &v.KeyID, &wrapped, &sealed, &v.Actor, &v.RestoredFrom, &created); err != nil {
		return v, err
	}
	v.CreatedAt = fromNanos(created)
	var err error
	if v.WrappedKey, err = b64.DecodeString(wrapped); err != nil {
		return v, fmt.Errorf("wrapped key of version %d of secret %q: %w", v.Version, v.Path, err)
	}
	if v.Ciphertext, err = b64.DecodeString(sealed); err != nil {
		return v, fmt.Errorf("ciphertext of version %d of secret %q: %w", v.Version, v.Path, err)
	}
	return v, nil
}

// GetSecretVersion returns one version, or ErrNotFound.
func (t *tx) GetSecretVersion(ctx context.Context, path string, version int64) (store.SecretVersion, error) {
	v, err := scanSecretVersion(t.queryRow(ctx, `SELECT `+secretVersionColumns+` FROM secret_versions WHERE path = ? AND version = ?`,
		path, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("version %d of secret %q: %w", version, path, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("get version %d of secret %q: %w", version, path, err)
	}
	return v, nil
}

// ListSecretVersions returns a secret's versions, oldest first.
func (t *tx) ListSecretVersions(ctx context.Context, path string) ([]store.SecretVersion, error) {
	out, err := queryAll(ctx, t, scanSecretVersion, `SELECT `+secretVersionColumns+` FROM secret_versions WHERE path = ? ORDER BY version`, path)
	if err != nil {
		return nil, fmt.Errorf("versions of secret %q: %w", path, err)
	}
	return out, nil
}

// RewrapSecretVersion replaces one version's wrapped data key.
func (t *tx) RewrapSecretVersion(ctx context.Context, path string, version int64, keyID string, wrappedKey []byte) error {
	res, err := t.exec(ctx, `UPDATE secret_versions SET key_id = ?, wrapped_key = ? WHERE path = ? AND version = ?`,
		keyID, b64.EncodeToString(wrappedKey), path, version)
	if err != nil {
		return fmt.Errorf("rewrap version %d of secret %q: %w", version, path, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("version %d of secret %q: %w", version, path, store.ErrNotFound)
	}
	return nil
}

// DeleteSecret destroys a live secret's versions and leaves a tombstone.
func (t *tx) DeleteSecret(ctx context.Context, path string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE secret_paths SET deleted_at = ?, updated_at = ? WHERE path = ? AND deleted_at IS NULL`,
		nanos(at), nanos(at), path)
	if err != nil {
		return fmt.Errorf("delete secret %q: %w", path, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("secret %q: %w", path, store.ErrNotFound)
	}
	if _, err := t.exec(ctx, `DELETE FROM secret_versions WHERE path = ?`, path); err != nil {
		return fmt.Errorf("delete versions of secret %q: %w", path, err)
	}
	return nil
}

// SecretKeyIDs returns the distinct master key IDs in use, sorted.
func (t *tx) SecretKeyIDs(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `SELECT DISTINCT key_id FROM secret_versions ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("master key IDs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("master key IDs: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
