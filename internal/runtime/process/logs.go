package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice.dev/sluice/internal/runtime"
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

// DefaultFollowPoll is how often Follow looks for new output when
// FollowOptions.Poll is unset: 250ms.
const DefaultFollowPoll = 250 * time.Millisecond

// ErrNoLog means no log file matches what was asked for.
var ErrNoLog = errors.New("no such log")

// LogFile describes the retained log of one instance.
type LogFile struct {
	// App, Revision and Instance name whose log this is.
	App      string `json:"app"`
	Revision int    `json:"revision"`
	Instance string `json:"instance"`
	// Path is the current (newest) log file; Path+".1" holds older output
	// when the log has rotated.
	Path string `json:"path"`
	// Size is the bytes retained in both files, in bytes.
	Size int64 `json:"size"`
	// ModTime is when the current file was last written.
	ModTime time.Time `json:"modTime"`
}

// LogQuery selects log files. Zero fields match everything.
type LogQuery struct {
	// App selects one app; empty means all apps.
	App string
	// Revision selects one revision; 0 means all.
	Revision int
	// Instance selects one instance by ID; empty means all.
	Instance string
}

// LogReader reads the instance logs kept under one log directory, the
// driver's Config.LogDir. It reads files only, so it works whether or not the
// instances still run, and is safe for concurrent use.
type LogReader struct {
	dir string
}

// NewLogReader returns a reader of the logs under dir.
func NewLogReader(dir string) *LogReader {
	return &LogReader{dir: dir}
}

// List returns the logs matching q, ordered by app, revision and instance.
// It returns an empty list, not an error, when nothing matches.
func (r *LogReader) List(q LogQuery) ([]LogFile, error) {
	if q.App != "" {
		if err := runtime.ValidateApp(q.App); err != nil {
			return nil, fmt.Errorf("list logs: %w", err)
		}
	}
	pattern := filepath.Join(r.dir, globPart(q.App), globRevision(q.Revision), globPart(q.Instance)+logSuffix)
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	var out []LogFile
	for _, p := range paths {
		f, ok, err := r.describe(p)
		if err != nil {
			return nil, fmt.Errorf("list logs: %w", err)
		}
		if ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b LogFile) int {
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		if a.Revision != b.Revision {
			return a.Revision - b.Revision
		}
		return strings.Compare(a.Instance, b.Instance)
	})
	return out, nil
}

// globPart matches one path element: the literal value, or anything.
func globPart(v string) string {
	if v == "" {
		return "*"
	}
	return escapeGlob(v)
}

func globRevision(n int) string {
	if n == 0 {
		return "[0-9]*"
	}
	return strconv.Itoa(n)
}

// escapeGlob makes v match only itself in filepath.Match.
func escapeGlob(v string) string {
	var b strings.Builder
	for _, c := range v {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// describe turns the path of a current log file into a LogFile; ok is false
// when the path does not have the layout of one.
func (r *LogReader) describe(path string) (f LogFile, ok bool, err error) {
	rel, err := filepath.Rel(r.dir, path)
	if err != nil {
		return LogFile{}, false, err
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 3 {
		return LogFile{}, false, nil
	}
	rev, err := strconv.Atoi(parts[1])
	if err != nil || rev < 1 {
		return LogFile{}, false, nil
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return LogFile{}, false, nil
	}
	if err != nil {
		return LogFile{}, false, err
	}
	size := info.Size()
	if old, err := os.Stat(oldPath(path)); err == nil {
		size += old.Size()
	}
	return LogFile{
		App:      parts[0],
		Revision: rev,
		Instance: strings.TrimSuffix(parts[2], logSuffix),
		Path:     path,
		Size:     size,
		ModTime:  info.ModTime(),
	}, true, nil
}

func oldPath(current string) string {
	return strings.TrimSuffix(current, logSuffix) + oldLogSuffix
}

// Open returns the retained output of f as it is now: the older file, then
// the current one. The caller closes it.
func (r *LogReader) Open(f LogFile) (io.ReadCloser, error) {
	cur, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open log of %s: %w", f.Instance, ErrNoLog)
	}
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", f.Instance, err)
	}
	old, err := os.Open(oldPath(f.Path))
	if err != nil {
		return cur, nil
	}
	return &multiFile{Reader: io.MultiReader(old, cur), files: []*os.File{old, cur}}, nil
}

// multiFile reads several files in turn and closes them all.
type multiFile struct {
	io.Reader
	files []*os.File
}

func (m *multiFile) Close() error {
	var errs []error
	for _, f := range m.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// FromEnd skips the output already written: only new output is copied.
	// By default the retained output is copied first.
	FromEnd bool
	// Poll is how often to look for new output. Default DefaultFollowPoll
	// (250ms).
	Poll time.Duration
}

// Follow copies f's output to w as it is written, like tail -f, until ctx
// is done; it then returns nil. It follows the log across rotations. It
// returns early only when reading or writing fails.
func (r *LogReader) Follow(ctx context.Context, f LogFile, w io.Writer, opts FollowOptions) error {
	poll := opts.Poll
	if poll <= 0 {
		poll = DefaultFollowPoll
	}
	t := &tailer{path: f.Path, w: w}
	defer t.close()
	if err := t.begin(opts.FromEnd); err != nil {
		return fmt.Errorf("follow log of %s: %w", f.Instance, err)
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		if err := t.catchUp(); err != nil {
			return fmt.Errorf("follow log of %s: %w", f.Instance, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// tailer keeps the file being followed open and notices rotation.
type tailer struct {
	path string
	w    io.Writer
	f    *os.File
}

// begin opens the current file, first copying the older file unless fromEnd,
// and positions at its start or, with fromEnd, its end.
func (t *tailer) begin(fromEnd bool) error {
	if !fromEnd {
		if err := t.copyFile(oldPath(t.path)); err != nil {
			return err
		}
	}
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // not written yet; catchUp opens it when it appears
	}
	if err != nil {
		return err
	}
	t.f = f
	if fromEnd {
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			return err
		}
	}
	return nil
}

func (t *tailer) copyFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(t.w, f)
	return err
}

// catchUp copies what was written since the last call. When the file was
// rotated, it drains the old handle (now the .1 file) and moves to the new
// current file from its start.
func (t *tailer) catchUp() error {
	for {
		if t.f != nil {
			if _, err := io.Copy(t.w, t.f); err != nil {
				return err
			}
		}
		next, err := os.Open(t.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.f != nil && sameFile(t.f, next) {
			next.Close()
			return nil
		}
		t.close()
		t.f = next
	}
}

func sameFile(a, b *os.File) bool {
	ai, err := a.Stat()
	if err != nil {
		return false
	}
	bi, err := b.Stat()
	if err != nil {
		return false
	}
	return os.SameFile(ai, bi)
}

func (t *tailer) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}
