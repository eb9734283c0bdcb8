package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

func noEnv(string) string { return "" }

func openTestStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestMasterKeyFileIsMadeOnceAndPrivate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys", MasterKeyFile)
	first, err := loadMasterKey(noEnv, file)
	if err != nil || !first.created || first.source.fromEnv {
		t.Fatalf("first load = %+v, %v", first, err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	again, err := loadMasterKey(noEnv, file)
	if err != nil || again.created || !again.current.Equal(first.current) {
		t.Fatalf("second load made another key: %+v, %v", again, err)
	}
	os.Chmod(file, 0o644)
	if _, err := loadMasterKey(noEnv, file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key file others may read was accepted: %v", err)
	}
	os.Chmod(file, 0o600)
	os.WriteFile(file, []byte("not a key\n"), 0o600)
	if _, err := loadMasterKey(noEnv, file); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}

func TestMasterKeyFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, MasterKeyFile)
	k := secrets.NewKey()
	got, err := loadMasterKey(func(n string) string {
		if n == MasterKeyEnv {
			return k.Encode()
		}
		return ""
	}, file)
	if err != nil || !got.current.Equal(k) || !got.source.fromEnv {
		t.Fatalf("env key: %+v, %v", got, err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a key file was written although the key came from the environment")
	}
	_, err = loadMasterKey(func(string) string { return "c2hvcnQ=" }, file)
	if err == nil || !strings.Contains(err.Error(), MasterKeyEnv) || strings.Contains(err.Error(), "c2hvcnQ=") {
		t.Fatalf("a bad env key: %v", err)
	}
}

func TestRotationWithAKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, MasterKeyFile)
	st := openTestStore(t, dir)
	log := slog.New(slog.DiscardHandler)
	svc, rot, err := openSecrets(ctx, st, noEnv, file, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Put(ctx, "web/db", map[string]string{"password": "p"}, "t"); err != nil {
		t.Fatal(err)
	}
	res, err := rot.RotateMasterKey(ctx)
	if err != nil || res.Rewrapped != 1 || res.Source != apiv1.MasterKeyFromFile || res.KeyFile != file || res.NewKey != "" {
		t.Fatalf("rotate = %+v, %v", res, err)
	}
	onDisk, err := readKeyFile(file)
	if err != nil || onDisk.ID() != res.KeyID {
		t.Fatalf("the key file holds %v, %v; want key %s", onDisk, err, res.KeyID)
	}
	if _, err := os.Stat(file + rotatingSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the rotation left its .new file")
	}
	// A restart reads the new key and opens the secret.
	svc2, _, err := openSecrets(ctx, st, noEnv, file, log)
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := svc2.Get(ctx, "web/db", 0); err != nil || sec.Data["password"] != "p" {
		t.Fatalf("after restart: %+v, %v", sec, err)
	}
}

func TestAStartFinishesARotationCutShort(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, MasterKeyFile)
	st := openTestStore(t, dir)
	log := slog.New(slog.DiscardHandler)
	svc, _, err := openSecrets(ctx, st, noEnv, file, log)
	if err != nil {
		t.Fatal(err)
	}
	svc.Put(ctx, "a", map[string]string{"k": "v"}, "t")
	// Crash after the new key was written and the store changed, before
	// the rename.
	next := secrets.NewKey()
	if err := writeKeyFile(file+rotatingSuffix, next, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rotate(ctx, next); err != nil {
		t.Fatal(err)
	}
	svc2, _, err := openSecrets(ctx, st, noEnv, file, log)
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := svc2.Get(ctx, "a", 0); err != nil || sec.Data["k"] != "v" {
		t.Fatalf("after the interrupted rotation: %+v, %v", sec, err)
	}
	if k, err := readKeyFile(file); err != nil || !k.Equal(next) {
		t.Fatal("the start did not move the new key into place")
	}

	// Crash after the new key was written, before the store changed.
	third := secrets.NewKey()
	writeKeyFile(file+rotatingSuffix, third, false)
	svc3, _, err := openSecrets(ctx, st, noEnv, file, log)
	if err != nil {
		t.Fatal(err)
	}
	if svc3.KeyID() != third.ID() {
		t.Fatal("the start did not finish the rotation to the new key")
	}
	if sec, err := svc3.Get(ctx, "a", 0); err != nil || sec.Data["k"] != "v" {
		t.Fatalf("after the rotation finished at start: %+v, %v", sec, err)
	}
}

func TestAWrongKeyRefusesToStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, MasterKeyFile)
	st := openTestStore(t, dir)
	log := slog.New(slog.DiscardHandler)
	svc, _, err := openSecrets(ctx, st, noEnv, file, log)
	if err != nil {
		t.Fatal(err)
	}
	svc.Put(ctx, "a", map[string]string{"k": "v"}, "t")
	os.Remove(file)
	_, _, err = openSecrets(ctx, st, noEnv, file, log)
	if !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(err.Error(), file) {
		t.Fatalf("a lost key file: %v", err)
	}
	other := secrets.NewKey()
	_, _, err = openSecrets(ctx, st, func(n string) string { return map[string]string{MasterKeyEnv: other.Encode()}[n] }, file, log)
	if !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(err.Error(), MasterKeyEnv) {
		t.Fatalf("a wrong env key: %v", err)
	}
}

func TestRotationWithAnEnvironmentKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	k := secrets.NewKey()
	env := func(n string) string { return map[string]string{MasterKeyEnv: k.Encode()}[n] }
	svc, rot, err := openSecrets(ctx, st, env, filepath.Join(dir, MasterKeyFile), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc.Put(ctx, "a", map[string]string{"k": "v"}, "t")
	res, err := rot.RotateMasterKey(ctx)
	if err != nil || res.Source != apiv1.MasterKeyFromEnv || res.NewKey == "" || res.KeyFile != "" {
		t.Fatalf("rotate = %+v, %v", res, err)
	}
	next, err := secrets.ParseKey(res.NewKey)
	if err != nil || next.ID() != res.KeyID {
		t.Fatalf("the new key %v does not match its ID %s", err, res.KeyID)
	}
	env2 := func(n string) string { return map[string]string{MasterKeyEnv: res.NewKey}[n] }
	svc2, _, err := openSecrets(ctx, st, env2, filepath.Join(dir, MasterKeyFile), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := svc2.Get(ctx, "a", 0); err != nil || sec.Data["k"] != "v" {
		t.Fatalf("with the new env key: %+v, %v", sec, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), MasterKeyFile) {
				t.Fatalf("a key file %s was written for an environment key", e.Name())
			}
		}
	}
}
