package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"sluice.dev/sluice/internal/store"
)

// SecretPrefix starts every token secret, so that leaked tokens are easy to
// recognise and scan for.
const SecretPrefix = "sluice_"

// ErrUnauthenticated means no valid token was presented.
var ErrUnauthenticated = errors.New("missing, unknown or expired token")

// touchEvery bounds how often a token's last use is written.
const touchEvery = time.Minute

// Tokens creates and checks API tokens.
type Tokens struct {
	store store.Store
	now   func() time.Time

	mu      sync.Mutex
	touched map[string]time.Time
}

// NewTokens returns a token service over s; now is the clock.
func NewTokens(s store.Store, now func() time.Time) *Tokens {
	return &Tokens{store: s, now: now, touched: map[string]time.Time{}}
}

// NewSecret returns a fresh random token secret.
func NewSecret() string {
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

// Hash is the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

// NewToken describes a token to create.
type NewToken struct {
	Name    string
	Role    Role
	Env     string
	Expires time.Duration // 0: never
}

// Create stores a new token and returns its secret, which is shown once.
func (t *Tokens) Create(ctx context.Context, nt NewToken) (string, store.Token, error) {
	if nt.Name == "" {
		return "", store.Token{}, errors.New("a token needs a name")
	}
	if nt.Role == RoleSDK && nt.Env == "" {
		return "", store.Token{}, errors.New("an sdk token needs an environment")
	}
	secret := NewSecret()
	tok := store.Token{
		ID: hex.EncodeToString(randomBytes(6)), Name: nt.Name, Role: string(nt.Role), Env: nt.Env,
		Hash: Hash(secret), CreatedAt: t.now().UTC(),
	}
	if nt.Expires > 0 {
		exp := tok.CreatedAt.Add(nt.Expires)
		tok.ExpiresAt = &exp
	}
	err := t.store.Write(ctx, func(tx store.Tx) error { return tx.CreateToken(ctx, tok) })
	if err != nil {
		return "", store.Token{}, fmt.Errorf("create token %q: %w", nt.Name, err)
	}
	return secret, tok, nil
}

// Any reports whether any token exists.
func (t *Tokens) Any(ctx context.Context) (bool, error) {
	var n int
	err := t.store.Read(ctx, func(tx store.Tx) error {
		list, err := tx.ListTokens(ctx)
		n = len(list)
		return err
	})
	return n > 0, err
}

// Authenticate finds the identity behind a secret. The lookup is by hash,
// so the secret itself is never compared byte by byte.
func (t *Tokens) Authenticate(ctx context.Context, secret string) (Identity, error) {
	if !strings.HasPrefix(secret, SecretPrefix) {
		return Identity{}, ErrUnauthenticated
	}
	var tok store.Token
	err := t.store.Read(ctx, func(tx store.Tx) (err error) {
		tok, err = tx.TokenByHash(ctx, Hash(secret))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, ErrUnauthenticated
	}
	if err != nil {
		return Identity{}, fmt.Errorf("authenticate: %w", err)
	}
	now := t.now()
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return Identity{}, ErrUnauthenticated
	}
	t.touch(ctx, tok.ID, now)
	return Identity{TokenID: tok.ID, Name: tok.Name, Role: Role(tok.Role), Env: tok.Env}, nil
}

// touch records a token's use, at most once per touchEvery. A failure to
// record is not a reason to refuse the request.
func (t *Tokens) touch(ctx context.Context, id string, now time.Time) {
	t.mu.Lock()
	last, ok := t.touched[id]
	if ok && now.Sub(last) < touchEvery {
		t.mu.Unlock()
		return
	}
	t.touched[id] = now
	t.mu.Unlock()
	_ = t.store.Write(ctx, func(tx store.Tx) error { return tx.TouchToken(ctx, id, now) })
}
