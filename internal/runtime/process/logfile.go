package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// DefaultLogMaxBytes caps one instance log file when Config.LogMaxBytes is
// unset: 10 MiB.
const DefaultLogMaxBytes = 10 << 20

// Log files live at LOGDIR/APP/REVISION/INSTANCE.log; when one would grow
// past its cap it is renamed to INSTANCE.log.1 (replacing the older one) and
// a new, empty INSTANCE.log takes its place. So an instance keeps at most
// twice the cap on disk, newest output in the .log file.
const (
	logSuffix     = ".log"
	oldLogSuffix  = ".log.1"
	logDirPerm    = 0o755
	logFilePerm   = 0o644
	logOpenFlags  = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	logResetFlags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC | os.O_APPEND
)

// logPath is where the current log of an instance lives.
func logPath(dir, app string, revision int, id string) string {
	return filepath.Join(dir, app, strconv.Itoa(revision), id+logSuffix)
}

// logWriter appends to an instance's log file and rotates it at its cap. It
// is safe for concurrent use. A single write larger than the cap is kept
// whole; the file rotates before the next one.
type logWriter struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

// openLog opens (creating it and its directories if need be) the log file at
// path for appending, with a cap of max bytes.
func openLog(path string, max int64) (*logWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), logDirPerm); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	f, err := os.OpenFile(path, logOpenFlags, logFilePerm)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logWriter{path: path, max: max, f: f, size: info.Size()}, nil
}

// Write appends p, rotating first when p would take the file past its cap.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	if w.size > 0 && w.size+int64(len(p)) > w.max {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write log %s: %w", w.path, err)
	}
	return n, nil
}

// rotate moves the current file to the .1 name and starts an empty one.
// The caller holds w.mu.
func (w *logWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	w.f = nil
	old := w.path[:len(w.path)-len(logSuffix)] + oldLogSuffix
	if err := os.Rename(w.path, old); err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	f, err := os.OpenFile(w.path, logResetFlags, logFilePerm)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	w.f, w.size = f, 0
	return nil
}

// Close closes the file. Later writes fail.
func (w *logWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
