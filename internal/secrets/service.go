package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"sluice.dev/sluice/internal/store"
)

// ErrUnknownKey means stored data keys are wrapped by a master key the
// service was not given.
var ErrUnknownKey = errors.New("secrets are sealed under a master key that was not given")

// Service stores and opens secrets. It holds the master key in memory
// only; the store sees sealed bytes. All methods are safe for concurrent
// use.
type Service struct {
	store store.Store
	now   func() time.Time

	// mu orders sealing against rotation: writers seal under the current
	// key while holding it for reading; Rotate holds it for writing, so
	// no version is ever wrapped by a key that is being retired.
	mu       sync.RWMutex
	current  Key
	previous []Key
}

// New returns a service over s that seals under master. previous are older
// master keys that may still wrap some data keys (a rotation cut short);
// Reconcile moves those to master. now is the clock.
func New(s store.Store, master Key, previous []Key, now func() time.Time) *Service {
	return &Service{store: s, now: now, current: master, previous: previous}
}

// KeyID is the ID of the current master key.
func (s *Service) KeyID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current.ID()
}

// Info describes a secret without its values.
type Info struct {
	// Path names the secret.
	Path string
	// Latest is its newest version.
	Latest int64
	// CreatedAt is when its first version was written; UpdatedAt when the
	// newest was.
	CreatedAt, UpdatedAt time.Time
}

// Version describes one version without its values.
type Version struct {
	// Version numbers the version from 1.
	Version int64
	// CreatedAt is when it was written, by Actor.
	CreatedAt time.Time
	Actor     string
	// RestoredFrom is the version it copies after a rollback, or 0.
	RestoredFrom int64
}

// Secret is one opened version.
type Secret struct {
	Path string
	Version
	// Data are the key/values. Never log them.
	Data map[string]string
}

// Keys returns the secret's key names, sorted.
func (s Secret) Keys() []string {
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func versionOf(v store.SecretVersion) Version {
	return Version{Version: v.Version, CreatedAt: v.CreatedAt, Actor: v.Actor, RestoredFrom: v.RestoredFrom}
}

// Put writes data as the path's next version.
func (s *Service) Put(ctx context.Context, path string, data map[string]string, actor string) (Version, error) {
	if err := CheckData(path, data); err != nil {
		return Version{}, err
	}
	return s.write(ctx, path, data, actor, 0)
}

// write seals data as the path's next version in one transaction.
func (s *Service) write(ctx context.Context, path string, data map[string]string, actor string, restoredFrom int64) (Version, error) {
	plaintext, err := json.Marshal(data)
	if err != nil {
		return Version{}, fmt.Errorf("secret %q: encode: %w", path, err)
	}
	defer clear(plaintext)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out store.SecretVersion
	err = s.store.Write(ctx, func(tx store.Tx) error {
		latest := int64(0)
		p, err := tx.GetSecretPath(ctx, path)
		switch {
		case err == nil:
			latest = p.Latest
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		out = store.SecretVersion{Path: path, Version: latest + 1, Actor: actor, RestoredFrom: restoredFrom, CreatedAt: s.now().UTC()}
		env := seal(s.current, path, out.Version, plaintext)
		out.KeyID, out.WrappedKey, out.Ciphertext = env.keyID, env.wrappedKey, env.ciphertext
		return tx.CreateSecretVersion(ctx, out)
	})
	if err != nil {
		return Version{}, fmt.Errorf("put secret %q: %w", path, err)
	}
	return versionOf(out), nil
}

// Get opens one version of a live secret; version 0 means the newest.
// ErrNotFound when the secret or the version does not exist.
func (s *Service) Get(ctx context.Context, path string, version int64) (Secret, error) {
	if msg := CheckPath(path); msg != "" {
		return Secret{}, invalid("path", "%s", msg)
	}
	if version < 0 {
		return Secret{}, invalid("version", "must be a positive number, got %d", version)
	}
	var row store.SecretVersion
	err := s.store.Read(ctx, func(tx store.Tx) error {
		p, err := livePath(ctx, tx, path)
		if err != nil {
			return err
		}
		if version == 0 {
			version = p.Latest
		}
		row, err = tx.GetSecretVersion(ctx, path, version)
		return err
	})
	if err != nil {
		return Secret{}, fmt.Errorf("get secret %q: %w", path, err)
	}
	data, err := s.open(row)
	if err != nil {
		return Secret{}, fmt.Errorf("get version %d of secret %q: %w", row.Version, path, err)
	}
	return Secret{Path: path, Version: versionOf(row), Data: data}, nil
}

// livePath returns the record of a secret that was not removed.
func livePath(ctx context.Context, tx store.Tx, path string) (store.SecretPath, error) {
	p, err := tx.GetSecretPath(ctx, path)
	if err != nil {
		return p, err
	}
	if p.DeletedAt != nil {
		return p, fmt.Errorf("secret %q was removed: %w", path, store.ErrNotFound)
	}
	return p, nil
}

// open decrypts a stored version with whichever known master key wrapped it.
func (s *Service) open(row store.SecretVersion) (map[string]string, error) {
	key, err := s.keyFor(row.KeyID)
	if err != nil {
		return nil, err
	}
	plaintext, err := open(key, row.Path, row.Version, sealed{keyID: row.KeyID, wrappedKey: row.WrappedKey, ciphertext: row.Ciphertext})
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	var data map[string]string
	if err := json.Unmarshal(plaintext, &data); err != nil {
		return nil, fmt.Errorf("%w: the opened data is not key/values", ErrSealed)
	}
	return data, nil
}

// keyFor finds the master key with this ID.
func (s *Service) keyFor(id string) (Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lookup(id)
}

// List returns every live secret, by path.
func (s *Service) List(ctx context.Context) ([]Info, error) {
	var paths []store.SecretPath
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		paths, err = tx.ListSecretPaths(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	out := make([]Info, 0, len(paths))
	for _, p := range paths {
		out = append(out, Info{Path: p.Path, Latest: p.Latest, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt})
	}
	return out, nil
}

// Versions describes every version of a live secret, oldest first.
func (s *Service) Versions(ctx context.Context, path string) (Info, []Version, error) {
	if msg := CheckPath(path); msg != "" {
		return Info{}, nil, invalid("path", "%s", msg)
	}
	var p store.SecretPath
	var rows []store.SecretVersion
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		if p, err = livePath(ctx, tx, path); err != nil {
			return err
		}
		rows, err = tx.ListSecretVersions(ctx, path)
		return err
	})
	if err != nil {
		return Info{}, nil, fmt.Errorf("versions of secret %q: %w", path, err)
	}
	out := make([]Version, 0, len(rows))
	for _, r := range rows {
		out = append(out, versionOf(r))
	}
	return Info{Path: p.Path, Latest: p.Latest, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}, out, nil
}

// Rollback writes the data of an earlier version as the newest version;
// the versions in between stay readable.
func (s *Service) Rollback(ctx context.Context, path string, version int64, actor string) (Version, error) {
	if version <= 0 {
		return Version{}, invalid("version", "must be a positive number, got %d", version)
	}
	old, err := s.Get(ctx, path, version)
	if err != nil {
		return Version{}, fmt.Errorf("roll back: %w", err)
	}
	defer clear(old.Data)
	return s.write(ctx, path, old.Data, actor, version)
}

// Delete destroys every version of a secret: their ciphertexts and wrapped
// data keys are deleted from the store. The path's version numbers are
// never reused.
func (s *Service) Delete(ctx context.Context, path string) error {
	if msg := CheckPath(path); msg != "" {
		return invalid("path", "%s", msg)
	}
	err := s.store.Write(ctx, func(tx store.Tx) error { return tx.DeleteSecret(ctx, path, s.now().UTC()) })
	if err != nil {
		return fmt.Errorf("remove secret %q: %w", path, err)
	}
	return nil
}
