package server

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
)

// countingStore counts read transactions.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *countingStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	c.reads.Add(1)
	return c.Store.Read(ctx, fn)
}

// fakeClock is a settable clock.
type fakeClock struct{ t atomic.Int64 }

func (f *fakeClock) now() time.Time          { return time.Unix(0, f.t.Load()) }
func (f *fakeClock) advance(d time.Duration) { f.t.Add(int64(d)) }
func newFakeClock() *fakeClock               { f := &fakeClock{}; f.t.Store(time.Now().UnixNano()); return f }

func newKeyCache(t *testing.T) (*sdkKeyCache, *auth.Tokens, *countingStore, *fakeClock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &countingStore{Store: db}
	clock := newFakeClock()
	tokens := auth.NewTokens(st, clock.now)
	return newSDKKeyCache(tokens, clock.now), tokens, st, clock
}

func TestSDKKeysAreRememberedBriefly(t *testing.T) {
	ctx := context.Background()
	c, tokens, st, clock := newKeyCache(t)
	key, _, err := tokens.Create(ctx, auth.NewToken{Name: "web", Role: auth.RoleSDK, Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Authenticate(ctx, key)
	if err != nil || id.Env != "production" || id.Role != auth.RoleSDK {
		t.Fatalf("first use: %+v, %v", id, err)
	}
	reads := st.reads.Load()
	for range 100 {
		if _, err := c.Authenticate(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if st.reads.Load() != reads {
		t.Fatalf("100 evaluations read the store %d times, want 0", st.reads.Load()-reads)
	}
	clock.advance(sdkKeyTTL)
	if _, err := c.Authenticate(ctx, key); err != nil || st.reads.Load() == reads {
		t.Fatalf("after the TTL the store was not asked again: %v", err)
	}

	// Revoked elsewhere (straight in the store): refused within the TTL.
	if _, err := tokens.Revoke(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, key); err != nil {
		t.Fatalf("a key revoked elsewhere was refused before the TTL: %v", err)
	}
	clock.advance(sdkKeyTTL)
	if _, err := c.Authenticate(ctx, key); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("a revoked key after the TTL: %v", err)
	}
}

func TestRevokingThroughTheCacheTakesEffectAtOnce(t *testing.T) {
	ctx := context.Background()
	c, tokens, _, _ := newKeyCache(t)
	key, _, err := tokens.Create(ctx, auth.NewToken{Name: "web", Role: auth.RoleSDK, Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, key); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("a key revoked here: %v", err)
	}
}

func TestOtherRolesAreNotRemembered(t *testing.T) {
	ctx := context.Background()
	c, tokens, st, _ := newKeyCache(t)
	admin, _, err := tokens.Create(ctx, auth.NewToken{Name: "ops", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	before := st.reads.Load()
	for range 3 {
		if _, err := c.Authenticate(ctx, admin); err != nil {
			t.Fatal(err)
		}
	}
	if st.reads.Load()-before != 3 {
		t.Fatalf("3 admin requests read the store %d times, want 3", st.reads.Load()-before)
	}
	if _, err := c.Authenticate(ctx, "sluice_unknown"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := c.Authenticate(ctx, "no-prefix"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("malformed key: %v", err)
	}
}
