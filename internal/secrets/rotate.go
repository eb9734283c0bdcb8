package secrets

import (
	"context"
	"fmt"
	"strings"

	"sluice.dev/sluice/internal/store"
)

// Rotate makes next the master key: in one transaction it re-wraps every
// stored data key under next, then forgets the keys it replaced. The data
// ciphertexts are not touched. It returns how many data keys it re-wrapped.
// Writers wait while it runs. If it fails, nothing changed.
func (s *Service) Rotate(ctx context.Context, next Key) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.rewrapAll(ctx, next)
	if err != nil {
		return 0, fmt.Errorf("rotate the master key: %w", err)
	}
	s.current, s.previous = next, nil
	return n, nil
}

// Reconcile checks that the service holds every master key the store's data
// keys are wrapped by, and finishes a rotation that was cut short by moving
// the data keys still under a previous key to the current one. It returns
// how many it moved; ErrUnknownKey when some data key cannot be opened.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	var ids []string
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		ids, err = tx.SecretKeyIDs(ctx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("check master keys: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var unknown []string
	stale := false
	for _, id := range ids {
		switch _, err := s.lookup(id); {
		case err != nil:
			unknown = append(unknown, id)
		case id != s.current.ID():
			stale = true
		}
	}
	if len(unknown) > 0 {
		return 0, fmt.Errorf("%w: the store needs key %s, the given key is %s", ErrUnknownKey, strings.Join(unknown, ", "), s.current.ID())
	}
	if !stale {
		s.previous = nil
		return 0, nil
	}
	n, err := s.rewrapAll(ctx, s.current)
	if err != nil {
		return 0, fmt.Errorf("finish the master key rotation: %w", err)
	}
	s.previous = nil
	return n, nil
}

// rewrapAll re-wraps every data key not already under next, in one
// transaction. s.mu must be held for writing.
func (s *Service) rewrapAll(ctx context.Context, next Key) (int, error) {
	n := 0
	err := s.store.Write(ctx, func(tx store.Tx) error {
		n = 0
		paths, err := tx.ListSecretPaths(ctx)
		if err != nil {
			return err
		}
		for _, p := range paths {
			versions, err := tx.ListSecretVersions(ctx, p.Path)
			if err != nil {
				return err
			}
			for _, v := range versions {
				if v.KeyID == next.ID() {
					continue
				}
				from, err := s.lookup(v.KeyID)
				if err != nil {
					return err
				}
				wrapped, err := rewrap(from, next, v.Path, v.Version, v.WrappedKey)
				if err != nil {
					return fmt.Errorf("version %d of secret %q: %w", v.Version, v.Path, err)
				}
				if err := tx.RewrapSecretVersion(ctx, v.Path, v.Version, next.ID(), wrapped); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// lookup finds a known master key by ID; s.mu must be held.
func (s *Service) lookup(id string) (Key, error) {
	if s.current.ID() == id {
		return s.current, nil
	}
	for _, k := range s.previous {
		if k.ID() == id {
			return k, nil
		}
	}
	return Key{}, fmt.Errorf("%w (key %s)", ErrUnknownKey, id)
}
