package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile in the data directory is held, with an exclusive advisory lock,
// by the one server that uses the directory. A second server on the same
// directory would run every app twice and race the first over the
// embedded store; it stops at start instead, and says which process holds
// the directory. The lock goes with the process, even on kill -9.
const LockFile = "sluice.lock"

// errDataDirLocked is matched when another process holds the data directory.
var errDataDirLocked = errors.New("the data directory is in use by another sluice server")

// lockDataDir takes the data directory's lock; release gives it back.
func lockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s%s); stop it first, or give this one another --data-dir", errDataDirLocked, dir, holder)
		}
		return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
	}
	// Say who holds it, for the next one that tries.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		f.Close() // closing the file releases the lock
	}, nil
}

// readHolder describes the process that wrote its ID into the lock file.
func readHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid := strings.TrimSpace(string(b[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return ", held by process " + pid
}
