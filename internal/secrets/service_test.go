package secrets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
)

// open a fresh store in dir.
func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func newService(t *testing.T) (*Service, store.Store, Key) {
	st := openStore(t, t.TempDir())
	k := NewKey()
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(st, k, nil, c.now), st, k
}

func TestPutGetVersions(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	v1, err := svc.Put(ctx, "web/db", map[string]string{"password": "one", "user": "web"}, "alice")
	if err != nil || v1.Version != 1 || v1.Actor != "alice" {
		t.Fatalf("put = %+v, %v", v1, err)
	}
	if _, err := svc.Put(ctx, "web/db", map[string]string{"password": "two"}, "bob"); err != nil {
		t.Fatal(err)
	}
	latest, err := svc.Get(ctx, "web/db", 0)
	if err != nil || latest.Version.Version != 2 || latest.Data["password"] != "two" || len(latest.Data) != 1 {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	first, err := svc.Get(ctx, "web/db", 1)
	if err != nil || first.Data["password"] != "one" || strings.Join(first.Keys(), ",") != "password,user" {
		t.Fatalf("version 1 = %+v, %v", first, err)
	}
	for _, c := range []struct {
		path    string
		version int64
		want    error
	}{
		{"web/db", 3, ErrNotFound}, {"web/nope", 0, ErrNotFound}, {"Web/DB", 0, ErrInvalid}, {"web/db", -1, ErrInvalid},
	} {
		if _, err := svc.Get(ctx, c.path, c.version); !errors.Is(err, c.want) {
			t.Errorf("Get(%q, %d) = %v, want %v", c.path, c.version, err, c.want)
		}
	}
	info, versions, err := svc.Versions(ctx, "web/db")
	if err != nil || info.Latest != 2 || len(versions) != 2 || versions[1].Actor != "bob" || !versions[0].CreatedAt.Before(versions[1].CreatedAt) {
		t.Fatalf("versions = %+v %+v, %v", info, versions, err)
	}
	if _, err := svc.Put(ctx, "api/key", map[string]string{"token": "t"}, "alice"); err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(ctx)
	if err != nil || len(list) != 2 || list[0].Path != "api/key" || list[1].Latest != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func TestPutRejectsBadInputWithoutQuotingValues(t *testing.T) {
	svc, _, _ := newService(t)
	cases := []struct {
		path  string
		data  map[string]string
		field string
	}{
		{"", map[string]string{"a": "b"}, "path"},
		{"../etc", map[string]string{"a": "b"}, "path"},
		{"a//b", map[string]string{"a": "b"}, "path"},
		{"web/db", nil, "data"},
		{"web/db", map[string]string{"bad key": "s3cr3t-value"}, "data"},
		{"web/db", map[string]string{"big": strings.Repeat("s3cr3t-value", MaxValueBytes)}, "data.big"},
		{"web/db", map[string]string{"bin": "s3cr3t-value\xff"}, "data.bin"},
	}
	for _, c := range cases {
		_, err := svc.Put(context.Background(), c.path, c.data, "alice")
		var ie *InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || ie.Problems[0].Field != c.field {
			t.Errorf("Put(%q) = %v, want a problem with %s", c.path, err, c.field)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t-value") {
			t.Errorf("the error quotes a value: %v", err)
		}
	}
}

func TestRollbackAndDelete(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	for _, pw := range []string{"one", "two", "three"} {
		if _, err := svc.Put(ctx, "web/db", map[string]string{"password": pw}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	v, err := svc.Rollback(ctx, "web/db", 1, "bob")
	if err != nil || v.Version != 4 || v.RestoredFrom != 1 || v.Actor != "bob" {
		t.Fatalf("rollback = %+v, %v", v, err)
	}
	if got, _ := svc.Get(ctx, "web/db", 0); got.Data["password"] != "one" {
		t.Fatalf("after rollback the newest is %+v", got)
	}
	if got, _ := svc.Get(ctx, "web/db", 3); got.Data["password"] != "three" {
		t.Fatalf("rollback lost version 3: %+v", got)
	}
	if _, err := svc.Rollback(ctx, "web/db", 9, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rollback to a missing version = %v", err)
	}
	if _, err := svc.Rollback(ctx, "web/db", 0, "bob"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rollback to version 0 = %v", err)
	}
	if err := svc.Delete(ctx, "web/db"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "web/db"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	for _, version := range []int64{0, 1, 4} {
		if _, err := svc.Get(ctx, "web/db", version); !errors.Is(err, ErrNotFound) {
			t.Fatalf("version %d of a removed secret: %v", version, err)
		}
	}
	if _, _, err := svc.Versions(ctx, "web/db"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("versions of a removed secret: %v", err)
	}
	v, err = svc.Put(ctx, "web/db", map[string]string{"password": "five"}, "alice")
	if err != nil || v.Version != 5 {
		t.Fatalf("a put after removal = %+v, %v; want version 5 (numbers are never reused)", v, err)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	if _, err := svc.Put(ctx, "hello/db", map[string]string{"password": "s3cr3t"}, "alice"); err != nil {
		t.Fatal(err)
	}
	env := []spec.EnvVar{
		{Name: "VERSION", Value: "v1"},
		{Name: "DB_PASSWORD", ValueFrom: &spec.EnvSource{Secret: &spec.SecretKeyRef{Path: "hello/db", Key: "password"}}},
	}
	got, err := ResolveEnv(ctx, svc, env)
	if err != nil || strings.Join(got, " ") != "VERSION=v1 DB_PASSWORD=s3cr3t" {
		t.Fatalf("ResolveEnv = %v, %v", got, err)
	}
	for _, ref := range []spec.SecretKeyRef{{Path: "hello/db", Key: "user"}, {Path: "hello/nope", Key: "password"}} {
		env[1].ValueFrom.Secret = &ref
		_, err := ResolveEnv(ctx, svc, env)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "DB_PASSWORD") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("unresolvable %+v: %v", ref, err)
		}
	}
}

func TestResolveVersion(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	for _, v := range []string{"first", "second"} {
		if _, err := svc.Put(ctx, "hello/db", map[string]string{"password": v}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	for version, want := range map[int64]string{0: "second", 1: "first", 2: "second"} {
		if got, err := svc.ResolveVersion(ctx, "hello/db", version, "password"); err != nil || got != want {
			t.Errorf("version %d: %q, %v; want %q", version, got, err, want)
		}
	}
	_, err := svc.ResolveVersion(ctx, "hello/db", 3, "password")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "version 3") {
		t.Fatalf("a version that does not exist: %v", err)
	}
	if err := svc.Delete(ctx, "hello/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResolveVersion(ctx, "hello/db", 1, "password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a version of a removed secret: %v", err)
	}
}

func TestRotateAndReconcile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, dir)
	old := NewKey()
	svc := New(st, old, nil, time.Now)
	for _, p := range []string{"a", "b/c"} {
		for range 2 {
			if _, err := svc.Put(ctx, p, map[string]string{"k": "v-" + p}, "alice"); err != nil {
				t.Fatal(err)
			}
		}
	}
	next := NewKey()
	n, err := svc.Rotate(ctx, next)
	if err != nil || n != 4 || svc.KeyID() != next.ID() {
		t.Fatalf("rotate = %d, %v (key %s)", n, err, svc.KeyID())
	}
	if got, err := svc.Get(ctx, "b/c", 1); err != nil || got.Data["k"] != "v-b/c" {
		t.Fatalf("after rotation: %+v, %v", got, err)
	}

	// A server started with only the old key refuses to run.
	if _, err := New(st, old, nil, time.Now).Reconcile(ctx); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), next.ID()) {
		t.Fatalf("reconcile with the retired key = %v", err)
	}
	if _, err := New(st, old, nil, time.Now).Get(ctx, "a", 0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("get with the retired key = %v", err)
	}
	// A rotation cut short: some data keys under the old key, some under
	// the new one. Reconcile with both finishes it.
	if _, err := New(st, next, nil, time.Now).Put(ctx, "d", map[string]string{"k": "v"}, "x"); err != nil {
		t.Fatal(err)
	}
	partial := New(st, next, nil, time.Now)
	if _, err := partial.Rotate(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := New(st, old, nil, time.Now).Put(ctx, "e", map[string]string{"k": "v"}, "x"); err != nil {
		t.Fatal(err)
	}
	third := NewKey()
	if _, err := New(st, old, nil, time.Now).Rotate(ctx, third); err != nil {
		t.Fatal(err)
	}
	both := New(st, old, []Key{third}, time.Now)
	if n, err := both.Reconcile(ctx); err != nil || n != 6 {
		t.Fatalf("reconcile = %d, %v; want the 6 data keys moved back under the current key", n, err)
	}
	if n, err := New(st, old, nil, time.Now).Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("a second reconcile = %d, %v", n, err)
	}
}

func TestConcurrentPutsAndRotation(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := newService(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 10 {
				if _, err := svc.Put(ctx, "p", map[string]string{"k": "v"}, "w"); err != nil {
					t.Error(err)
				}
			}
		})
		if i%2 == 0 {
			wg.Go(func() {
				if _, err := svc.Rotate(ctx, NewKey()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if n, err := New(st, svc.current, nil, time.Now).Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("after racing rotations some data key is not under the current key: %d, %v", n, err)
	}
}

// TestTheDatabaseFileHoldsNoValue writes a known value and searches the raw
// bytes of the SQLite file and its write-ahead log for it, and for the key
// name, which is sealed too.
func TestTheDatabaseFileHoldsNoValue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, dir)
	svc := New(st, NewKey(), nil, time.Now)
	const value = "correct-horse-battery-staple-4417"
	const key = "passphrase_key_name"
	for i := range 3 {
		if _, err := svc.Put(ctx, "team/vault", map[string]string{key: value, "n": string(rune('a' + i))}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Rotate(ctx, NewKey()); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, name := range []string{"sluice.db", "sluice.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if !bytes.Contains(raw, []byte("team/vault")) {
		t.Fatal("the search is blind: the path itself is not in the files")
	}
	for _, needle := range []string{value, key, "correct-horse", strings.ToUpper(value)} {
		if bytes.Contains(raw, []byte(needle)) {
			t.Errorf("the database files hold %q", needle)
		}
	}
}
