package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// MasterKeyEnv names the environment variable that may hold the secrets'
// master key: the standard base64 of 32 random bytes.
const MasterKeyEnv = "SLUICE_MASTER_KEY"

// MasterKeyFile is the default key file in the data directory, made on the
// first start when MasterKeyEnv is not set.
const MasterKeyFile = "master.key"

// rotatingSuffix marks the key file of a rotation under way: it is written
// before the store changes and renamed over the key file after, so a crash
// in between leaves both keys for the next start to finish the rotation.
const rotatingSuffix = ".new"

// keySource says where the master key is kept.
type keySource struct {
	// fromEnv is true when the key came from MasterKeyEnv.
	fromEnv bool
	// file is the key file, when it did not.
	file string
}

// loadedKey is the master key and, after a rotation cut short, the key it
// was replacing.
type loadedKey struct {
	current  secrets.Key
	previous []secrets.Key
	source   keySource
	// created is true when the key file was made just now.
	created bool
}

// loadMasterKey reads the master key from the environment, else from the
// key file, which it creates (mode 0600) when there is none. A key file
// that others may read is refused.
func loadMasterKey(getenv func(string) string, file string) (loadedKey, error) {
	if v := getenv(MasterKeyEnv); v != "" {
		k, err := secrets.ParseKey(v)
		if err != nil {
			return loadedKey{}, fmt.Errorf("%s: %w", MasterKeyEnv, err)
		}
		return loadedKey{current: k, source: keySource{fromEnv: true}}, nil
	}
	out := loadedKey{source: keySource{file: file}}
	next, err := readKeyFile(file + rotatingSuffix)
	switch {
	case err == nil:
		// A rotation was cut short: the new key leads, the old one may
		// still wrap some data keys.
		out.current = next
		if old, err := readKeyFile(file); err == nil {
			out.previous = []secrets.Key{old}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return loadedKey{}, err
		}
		return out, nil
	case !errors.Is(err, fs.ErrNotExist):
		return loadedKey{}, err
	}
	out.current, err = readKeyFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		out.current, out.created = secrets.NewKey(), true
		err = writeKeyFile(file, out.current, true)
	}
	return out, err
}

// readKeyFile reads a key file that only its owner may read.
func readKeyFile(path string) (secrets.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return secrets.Key{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return secrets.Key{}, fmt.Errorf("master key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return secrets.Key{}, fmt.Errorf("master key file %s may be read by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b := make([]byte, 256)
	n, err := f.Read(b)
	defer clear(b)
	if err != nil {
		return secrets.Key{}, fmt.Errorf("read master key file %s: %w", path, err)
	}
	k, err := secrets.ParseKey(string(b[:n]))
	if err != nil {
		return secrets.Key{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// writeKeyFile writes a key durably with mode 0600; with exclusive it
// fails rather than replace a file that is there.
func writeKeyFile(path string, k secrets.Key, exclusive bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("master key directory: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if exclusive {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	_, err = f.WriteString(k.Encode() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		return fmt.Errorf("write master key file %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openSecrets loads the master key, builds the secrets service, checks
// that the key opens what the store holds, and finishes a rotation that a
// crash cut short.
func openSecrets(ctx context.Context, st store.Store, getenv func(string) string, keyFile string, log *slog.Logger) (*secrets.Service, *keyRotator, error) {
	key, err := loadMasterKey(getenv, keyFile)
	if err != nil {
		return nil, nil, err
	}
	svc := secrets.New(st, key.current, key.previous, time.Now)
	moved, err := svc.Reconcile(ctx)
	if err != nil {
		where := "the key file " + keyFile
		if key.source.fromEnv {
			where = MasterKeyEnv
		}
		return nil, nil, fmt.Errorf("secrets: %w; the master key comes from %s", err, where)
	}
	if !key.source.fromEnv {
		if _, err := os.Stat(keyFile + rotatingSuffix); err == nil {
			if err := os.Rename(keyFile+rotatingSuffix, keyFile); err != nil {
				return nil, nil, fmt.Errorf("finish the master key rotation: %w", err)
			}
			_ = syncDir(filepath.Dir(keyFile)) // the rename is redone at the next start if lost
		}
	}
	switch {
	case key.created:
		log.Info("created the secrets master key", "file", keyFile, "key_id", key.current.ID())
	case moved > 0:
		log.Warn("finished a master key rotation that was cut short", "rewrapped", moved, "key_id", key.current.ID())
	}
	return svc, &keyRotator{svc: svc, source: key.source, log: log}, nil
}

// keyRotator rotates the master key where it is kept; it implements
// api.MasterKeyRotator.
type keyRotator struct {
	svc    *secrets.Service
	source keySource
	log    *slog.Logger
	mu     sync.Mutex // one rotation at a time
}

// RotateMasterKey makes a new key and re-wraps every data key under it.
// For a key file, the new key is written beside it first and renamed over
// it once the store has changed; for a key from the environment, the new
// key is returned for the caller to keep.
func (k *keyRotator) RotateMasterKey(ctx context.Context) (apiv1.MasterKeyRotation, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	next := secrets.NewKey()
	out := apiv1.MasterKeyRotation{KeyID: next.ID(), Source: apiv1.MasterKeyFromEnv}
	if !k.source.fromEnv {
		out.Source, out.KeyFile = apiv1.MasterKeyFromFile, k.source.file
		if err := writeKeyFile(k.source.file+rotatingSuffix, next, false); err != nil {
			return out, err
		}
	}
	n, err := k.svc.Rotate(ctx, next)
	if err != nil {
		if !k.source.fromEnv {
			_ = os.Remove(k.source.file + rotatingSuffix) // the store did not change: the old key stays
		}
		return out, err
	}
	out.Rewrapped = n
	if k.source.fromEnv {
		out.NewKey = next.Encode()
		k.log.Warn("rotated the secrets master key; set "+MasterKeyEnv+" to the new key before the next start",
			"key_id", next.ID(), "rewrapped", n)
		return out, nil
	}
	if err := os.Rename(k.source.file+rotatingSuffix, k.source.file); err != nil {
		// The store is already under the new key; the next start finishes
		// the rename from the .new file.
		return out, fmt.Errorf("rotated, but could not replace %s (the next start will): %w", k.source.file, err)
	}
	_ = syncDir(filepath.Dir(k.source.file)) // redone at the next start if lost
	k.log.Info("rotated the secrets master key", "key_id", next.ID(), "rewrapped", n, "file", k.source.file)
	return out, nil
}
