package secrets

import (
	"context"
	"fmt"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// ErrNotFound is matched when a secret, a version or a key does not exist.
// It is the store's sentinel, so either may be tested.
var ErrNotFound = store.ErrNotFound

// Resolver turns a reference to one key of a secret into its value. The
// rollout controller calls it when it starts an instance whose env has
// `valueFrom: {secret: {path, key}}`; *Service is the implementation.
type Resolver interface {
	Resolve(ctx context.Context, path, key string) (string, error)
}

var _ Resolver = (*Service)(nil)

// Resolve returns the value of key in the newest version of the secret at
// path. The error names the reference, never a value.
func (s *Service) Resolve(ctx context.Context, path, key string) (string, error) {
	return s.ResolveVersion(ctx, path, 0, key)
}

// ResolveVersion returns the value of key in one version of the secret at
// path; version 0 means the newest. The error names the reference, never
// a value.
func (s *Service) ResolveVersion(ctx context.Context, path string, version int64, key string) (string, error) {
	sec, err := s.Get(ctx, path, version)
	if err != nil {
		if version > 0 {
			return "", fmt.Errorf("resolve secret %q version %d key %q: %w", path, version, key, err)
		}
		return "", fmt.Errorf("resolve secret %q key %q: %w", path, key, err)
	}
	v, ok := sec.Data[key]
	clear(sec.Data)
	if !ok {
		return "", fmt.Errorf("resolve secret %q: version %d has no key %q: %w", path, sec.Version.Version, key, ErrNotFound)
	}
	return v, nil
}

// ResolveEnv turns an instance's env into NAME=value strings, resolving
// every secret reference through r. It fails on the first reference that
// does not resolve, naming the variable; values appear only in the result.
func ResolveEnv(ctx context.Context, r Resolver, env []spec.EnvVar) ([]string, error) {
	out := make([]string, 0, len(env))
	for _, e := range env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.Secret != nil {
			ref := e.ValueFrom.Secret
			var err error
			if v, err = r.Resolve(ctx, ref.Path, ref.Key); err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
		}
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}
