package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
)

// secretTests are the conformance cases of sealed secrets.
var secretTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"SecretVersionsInOrder", testSecretVersions},
	{"SecretDeleteKeepsNumbering", testSecretDelete},
	{"SecretRewrap", testSecretRewrap},
	{"SecretRollsBackWithItsWrite", testSecretRollback},
}

// sealed is a version with recognisable opaque bytes.
func sealed(path string, version int64, keyID string) store.SecretVersion {
	return store.SecretVersion{
		Path: path, Version: version, KeyID: keyID, Actor: "alice",
		WrappedKey: []byte{0, 1, 2, byte(version), 0xff}, Ciphertext: []byte("\x00sealed\xfe" + fmt.Sprint(version)),
		CreatedAt: time.Date(2030, 1, 2, 3, 4, 5, int(version)*1000, time.UTC),
	}
}

func testSecretVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for v := int64(1); v <= 3; v++ {
			if err := tx.CreateSecretVersion(ctx, sealed("web/db", v, "k1")); err != nil {
				return err
			}
		}
		if err := tx.CreateSecretVersion(ctx, sealed("web/db", 3, "k1")); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("version 3 twice: %v, want ErrExists", err)
		}
		if err := tx.CreateSecretVersion(ctx, sealed("web/db", 5, "k1")); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("version 5 after 3: %v, want ErrExists", err)
		}
		if err := tx.CreateSecretVersion(ctx, sealed("api/key", 2, "k1")); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("a first version 2: %v, want ErrExists", err)
		}
		restored := sealed("api/key", 1, "k2")
		restored.RestoredFrom = 7
		return tx.CreateSecretVersion(ctx, restored)
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		paths, err := tx.ListSecretPaths(ctx)
		if err != nil {
			return err
		}
		if len(paths) != 2 || paths[0].Path != "api/key" || paths[1].Path != "web/db" || paths[1].Latest != 3 {
			return fmt.Errorf("paths = %+v", paths)
		}
		if !paths[1].CreatedAt.Equal(sealed("", 1, "").CreatedAt) || !paths[1].UpdatedAt.Equal(sealed("", 3, "").CreatedAt) {
			return fmt.Errorf("path times = %+v", paths[1])
		}
		got, err := tx.GetSecretVersion(ctx, "web/db", 2)
		if err != nil {
			return err
		}
		want := sealed("web/db", 2, "k1")
		if !bytes.Equal(got.WrappedKey, want.WrappedKey) || !bytes.Equal(got.Ciphertext, want.Ciphertext) ||
			got.KeyID != "k1" || got.Actor != "alice" || !got.CreatedAt.Equal(want.CreatedAt) {
			return fmt.Errorf("version 2 = %+v, want %+v", got, want)
		}
		if _, err := tx.GetSecretVersion(ctx, "web/db", 4); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing version: %v", err)
		}
		list, err := tx.ListSecretVersions(ctx, "web/db")
		if err != nil {
			return err
		}
		if len(list) != 3 || list[0].Version != 1 || list[2].Version != 3 {
			return fmt.Errorf("versions = %+v", list)
		}
		if v, err := tx.GetSecretVersion(ctx, "api/key", 1); err != nil || v.RestoredFrom != 7 {
			return fmt.Errorf("restored version = %+v, %v", v, err)
		}
		ids, err := tx.SecretKeyIDs(ctx)
		if err != nil || len(ids) != 2 || ids[0] != "k1" || ids[1] != "k2" {
			return fmt.Errorf("key IDs = %v, %v", ids, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testSecretDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	gone := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, s, func(tx store.Tx) error {
		for v := int64(1); v <= 2; v++ {
			if err := tx.CreateSecretVersion(ctx, sealed("web/db", v, "k1")); err != nil {
				return err
			}
		}
		if err := tx.DeleteSecret(ctx, "web/db", gone); err != nil {
			return err
		}
		if err := tx.DeleteSecret(ctx, "web/db", gone); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if err := tx.DeleteSecret(ctx, "never/there", gone); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete of nothing: %v, want ErrNotFound", err)
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		if paths, err := tx.ListSecretPaths(ctx); err != nil || len(paths) != 0 {
			return fmt.Errorf("a removed secret is listed: %+v, %v", paths, err)
		}
		p, err := tx.GetSecretPath(ctx, "web/db")
		if err != nil || p.DeletedAt == nil || !p.DeletedAt.Equal(gone) || p.Latest != 2 {
			return fmt.Errorf("tombstone = %+v, %v", p, err)
		}
		if list, err := tx.ListSecretVersions(ctx, "web/db"); err != nil || len(list) != 0 {
			return fmt.Errorf("versions survived the delete: %d, %v", len(list), err)
		}
		if ids, err := tx.SecretKeyIDs(ctx); err != nil || len(ids) != 0 {
			return fmt.Errorf("wrapped keys survived the delete: %v, %v", ids, err)
		}
		if _, err := tx.GetSecretPath(ctx, "never/there"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("unknown path: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateSecretVersion(ctx, sealed("web/db", 1, "k1")); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("a removed secret's numbers were reused: %v", err)
		}
		if err := tx.CreateSecretVersion(ctx, sealed("web/db", 3, "k1")); err != nil {
			return err
		}
		p, err := tx.GetSecretPath(ctx, "web/db")
		if err != nil || p.DeletedAt != nil || p.Latest != 3 {
			return fmt.Errorf("revived path = %+v, %v", p, err)
		}
		return nil
	})
}

func testSecretRewrap(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateSecretVersion(ctx, sealed("web/db", 1, "old")); err != nil {
			return err
		}
		if err := tx.RewrapSecretVersion(ctx, "web/db", 1, "new", []byte("rewrapped")); err != nil {
			return err
		}
		if err := tx.RewrapSecretVersion(ctx, "web/db", 2, "new", []byte("x")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("rewrap of a missing version: %v, want ErrNotFound", err)
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		v, err := tx.GetSecretVersion(ctx, "web/db", 1)
		if err != nil || v.KeyID != "new" || string(v.WrappedKey) != "rewrapped" || !bytes.Equal(v.Ciphertext, sealed("", 1, "").Ciphertext) {
			return fmt.Errorf("after rewrap: %+v, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testSecretRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateSecretVersion(ctx, sealed("web/db", 1, "k1")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write = %v", err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSecretPath(ctx, "web/db"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("a rolled back secret is there: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
