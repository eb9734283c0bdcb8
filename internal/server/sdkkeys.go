package server

import (
	"context"
	"strings"
	"sync"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/store"
)

// Bounds of the SDK key cache.
const (
	// sdkKeyTTL is how long an authenticated SDK key is trusted without
	// asking the store again: how late another server learns that a key
	// was revoked, or that it expired.
	sdkKeyTTL = 5 * time.Second
	// sdkKeyCacheSize caps the keys remembered; past it the cache starts
	// over.
	sdkKeyCacheSize = 10000
)

// sdkKeyCache authenticates tokens like the *auth.Tokens it wraps, but
// remembers SDK keys for sdkKeyTTL. SDK keys authenticate every flag
// evaluation, so without it each OFREP request would cost a store query
// (measured: 40 % of the server's CPU under load). Other roles are checked
// against the store every time. Revoking any token through this server
// forgets every remembered key at once.
type sdkKeyCache struct {
	*auth.Tokens
	ttl time.Duration
	now func() time.Time

	mu   sync.RWMutex
	keys map[string]cachedKey // by auth.Hash of the secret
}

// cachedKey is a remembered SDK key.
type cachedKey struct {
	id    auth.Identity
	until time.Time
}

// newSDKKeyCache wraps tokens; now is the clock.
func newSDKKeyCache(tokens *auth.Tokens, now func() time.Time) *sdkKeyCache {
	return &sdkKeyCache{Tokens: tokens, ttl: sdkKeyTTL, now: now, keys: map[string]cachedKey{}}
}

// Authenticate returns the identity behind secret: a remembered SDK key
// without a store query, anything else as auth.Tokens does.
func (c *sdkKeyCache) Authenticate(ctx context.Context, secret string) (auth.Identity, error) {
	if !strings.HasPrefix(secret, auth.SecretPrefix) {
		return c.Tokens.Authenticate(ctx, secret)
	}
	hash := auth.Hash(secret)
	now := c.now()
	c.mu.RLock()
	k, ok := c.keys[hash]
	c.mu.RUnlock()
	if ok && now.Before(k.until) {
		return k.id, nil
	}
	id, err := c.Tokens.Authenticate(ctx, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		delete(c.keys, hash)
	case id.Role == auth.RoleSDK:
		if len(c.keys) >= sdkKeyCacheSize {
			clear(c.keys)
		}
		c.keys[hash] = cachedKey{id: id, until: now.Add(c.ttl)}
	}
	return id, err
}

// Revoke revokes a token and forgets every remembered key, so that the
// revocation holds at once on this server.
func (c *sdkKeyCache) Revoke(ctx context.Context, idOrName string) (store.Token, error) {
	tok, err := c.Tokens.Revoke(ctx, idOrName)
	if err == nil {
		c.mu.Lock()
		clear(c.keys)
		c.mu.Unlock()
	}
	return tok, err
}
