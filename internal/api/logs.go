package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"sluice.dev/sluice/internal/runtime/process"
	"sluice.dev/sluice/internal/spec"
)

// InstanceLogs reads the logs the process driver keeps of each instance:
// *process.LogReader satisfies it.
type InstanceLogs interface {
	List(q process.LogQuery) ([]process.LogFile, error)
	Open(f process.LogFile) (io.ReadCloser, error)
	Follow(ctx context.Context, f process.LogFile, w io.Writer, opts process.FollowOptions) error
}

// logScanEvery is how often a followed log stream looks for the logs of
// instances that started after it began.
const logScanEvery = time.Second

// logs streams the output of an app's instances as text:
// ?revision=N and ?instance=ID narrow it, ?follow=true keeps streaming new
// output (and instances that start meanwhile) until the client leaves.
// Unless one instance is asked for, each line starts with "[INSTANCE] ".
func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	if a.opts.Logs == nil {
		a.writeError(w, r, fmt.Errorf("instance logs: %w", errNotConfigured))
		return
	}
	name := r.PathValue("name")
	q := process.LogQuery{App: name, Instance: r.URL.Query().Get("instance")}
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			a.writeError(w, r, &spec.ValidationError{Problems: []spec.FieldError{{Path: "revision", Message: fmt.Sprintf("%q is not a revision number", v)}}})
			return
		}
		q.Revision = n
	}
	if _, err := a.opts.Resources.Get(r.Context(), spec.KindApp, name); err != nil {
		a.writeError(w, r, err)
		return
	}
	files, err := a.opts.Logs.List(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	prefix := q.Instance == ""
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("follow") != "true" {
		w.WriteHeader(http.StatusOK)
		for _, f := range files {
			if err := a.copyLog(w, f, prefix); err != nil {
				return // the client went away or the file vanished mid-read
			}
		}
		return
	}
	a.followLogs(w, r, q, files, prefix)
}

// copyLog writes what an instance's log holds now.
func (a *API) copyLog(w io.Writer, f process.LogFile, prefix bool) error {
	rc, err := a.opts.Logs.Open(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	out := newLineWriter(&lockedWriter{w: w}, f, prefix)
	if _, err := io.Copy(out, rc); err != nil {
		return err
	}
	return out.Close()
}

// followLogs streams the logs in files and of any instance that starts
// later, until the client leaves.
func (a *API) followLogs(w http.ResponseWriter, r *http.Request, q process.LogQuery, files []process.LogFile, prefix bool) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a follow outlives the server's write timeout
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	ctx := r.Context()
	out := &lockedWriter{w: w, flush: rc.Flush}
	var wg sync.WaitGroup
	defer wg.Wait()
	following := map[string]bool{}
	follow := func(f process.LogFile) {
		following[f.Path] = true
		wg.Go(func() {
			lw := newLineWriter(out, f, prefix)
			_ = a.opts.Logs.Follow(ctx, f, lw, process.FollowOptions{})
			_ = lw.Close()
		})
	}
	for _, f := range files {
		follow(f)
	}
	tick := time.NewTicker(logScanEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		more, err := a.opts.Logs.List(q)
		if err != nil {
			continue
		}
		for _, f := range more {
			if !following[f.Path] {
				follow(f)
			}
		}
	}
}

// lockedWriter serialises writes of several followers to one response,
// flushing after each.
type lockedWriter struct {
	mu    sync.Mutex
	w     io.Writer
	flush func() error
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if err == nil && l.flush != nil {
		err = l.flush()
	}
	return n, err
}

// lineWriter passes whole lines on, each prefixed with its instance when
// several are shown, so that lines of different instances never mix.
type lineWriter struct {
	out     io.Writer
	prefix  []byte
	partial []byte
}

func newLineWriter(out io.Writer, f process.LogFile, prefix bool) *lineWriter {
	lw := &lineWriter{out: out}
	if prefix {
		lw.prefix = []byte("[" + f.Instance + "] ")
	}
	return lw
}

// Write passes on the complete lines of partial+p and keeps the rest.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	end := bytes.LastIndexByte(l.partial, '\n')
	if end < 0 {
		return len(p), nil
	}
	if err := l.emit(l.partial[:end+1]); err != nil {
		return 0, err
	}
	l.partial = append(l.partial[:0], l.partial[end+1:]...)
	return len(p), nil
}

// Close passes on a last line that has no newline.
func (l *lineWriter) Close() error {
	if len(l.partial) == 0 {
		return nil
	}
	err := l.emit(append(l.partial, '\n'))
	l.partial = nil
	return err
}

func (l *lineWriter) emit(lines []byte) error {
	if len(l.prefix) == 0 {
		_, err := l.out.Write(lines)
		return err
	}
	var b bytes.Buffer
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		b.Write(l.prefix)
		b.Write(lines[:i+1])
		lines = lines[i+1:]
	}
	_, err := l.out.Write(b.Bytes())
	return err
}
