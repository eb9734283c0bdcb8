package process

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func readAll(t *testing.T, r *LogReader, f LogFile) string {
	t.Helper()
	rc, err := r.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogWriterRotatesAtCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app", "1", "app-1-x.log")
	w, err := openLog(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write := func(s string) {
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	size := func(p string) int64 {
		info, err := os.Stat(p)
		if err != nil {
			return -1
		}
		return info.Size()
	}
	old := oldPath(path)

	write(strings.Repeat("a", 60))
	write(strings.Repeat("b", 40)) // exactly at the cap: no rotation yet
	if size(path) != 100 || size(old) != -1 {
		t.Fatalf("at cap: sizes %d, %d", size(path), size(old))
	}
	write("c") // past the cap: rotate first
	if size(path) != 1 || size(old) != 100 {
		t.Fatalf("after rotation: sizes %d, %d; want 1, 100", size(path), size(old))
	}
	write(strings.Repeat("d", 250)) // one oversized write is kept whole
	if size(path) != 250 || size(old) != 1 {
		t.Fatalf("oversized write: sizes %d, %d; want 250, 1", size(path), size(old))
	}

	// Reopening appends to what is there and keeps counting.
	w.Close()
	w, err = openLog(path, 300)
	if err != nil {
		t.Fatal(err)
	}
	write(strings.Repeat("e", 50))
	if size(path) != 300 {
		t.Fatalf("reopened: size %d, want 300", size(path))
	}
}

func TestInstanceLogsAreCappedAndReadable(t *testing.T) {
	const limit = 4096
	d, _ := startDriver(t, Config{LogMaxBytes: limit})
	ctx := context.Background()
	if err := d.Ensure(ctx, childWorkload("web", 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(ctx, childWorkload("web", 2, 1)); err != nil {
		t.Fatal(err)
	}
	in := running(t, d, "web", 2, 1)[0]
	running(t, d, "web", 1, 1)
	logs := d.Logs()

	var files []LogFile
	eventually(t, "both logs", func() bool {
		var err error
		files, err = logs.List(LogQuery{App: "web"})
		return err == nil && len(files) == 2
	})
	if files[0].Revision != 1 || files[1].Revision != 2 {
		t.Fatalf("List not ordered by revision: %+v", files)
	}
	mine, err := logs.List(LogQuery{App: "web", Revision: 2, Instance: in.ID})
	if err != nil || len(mine) != 1 || mine[0].Instance != in.ID {
		t.Fatalf("List(instance) = %+v, %v", mine, err)
	}
	if none, err := logs.List(LogQuery{App: "other"}); err != nil || len(none) != 0 {
		t.Fatalf("List(other app) = %+v, %v", none, err)
	}
	eventually(t, "stdout and stderr in the log", func() bool {
		text := readAll(t, logs, mine[0])
		return strings.Contains(text, "child stdout: listening") && strings.Contains(text, "child stderr: pid")
	})

	// Follow from the end sees only new output, across rotations.
	followCtx, stopFollow := context.WithCancel(ctx)
	var followed syncBuffer
	followDone := make(chan error, 1)
	go func() {
		followDone <- logs.Follow(followCtx, mine[0], &followed, FollowOptions{FromEnd: true, Poll: 10 * time.Millisecond})
	}()
	// Follow may begin after a print; print until it has seen one.
	eventually(t, "Follow to begin", func() bool {
		get(t, in.Address, "/print?bytes=0&marker=READY").Body.Close()
		time.Sleep(20 * time.Millisecond)
		return strings.Contains(followed.String(), "READY")
	})
	for _, marker := range []string{"FIRST", "SECOND", "THIRD"} {
		get(t, in.Address, "/print?bytes=3000&marker="+marker).Body.Close()
		eventually(t, "followed "+marker, func() bool { return strings.Contains(followed.String(), marker) })
	}
	stopFollow()
	if err := <-followDone; err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if strings.Contains(followed.String(), "listening") {
		t.Error("Follow with FromEnd copied old output")
	}

	// The log kept on disk is capped: the current file and one older file.
	current, err := os.Stat(mine[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	older, err := os.Stat(oldPath(mine[0].Path))
	if err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	if current.Size() > limit || older.Size() > limit {
		t.Errorf("log files of %d and %d bytes exceed the %d cap", current.Size(), older.Size(), limit)
	}
	all := readAll(t, logs, mine[0])
	if strings.Contains(all, "FIRST") || !strings.Contains(all, "THIRD") {
		t.Errorf("retained log should hold the newest output only")
	}

	// Follow from the start copies what is retained first.
	var full syncBuffer
	fctx, cancel := context.WithCancel(ctx)
	go func() {
		followDone <- logs.Follow(fctx, mine[0], &full, FollowOptions{Poll: 10 * time.Millisecond})
	}()
	eventually(t, "retained output followed", func() bool { return strings.Contains(full.String(), "THIRD") })
	cancel()
	<-followDone

	// Logs outlive their instance.
	if err := d.Stop(ctx, "web", 2); err != nil {
		t.Fatal(err)
	}
	if after, err := logs.List(LogQuery{App: "web", Revision: 2}); err != nil || len(after) != 1 {
		t.Errorf("log of a stopped instance: %+v, %v", after, err)
	}
}

func TestLogReaderRejectsBadQueries(t *testing.T) {
	r := NewLogReader(t.TempDir())
	if _, err := r.List(LogQuery{App: "../x"}); !errors.Is(err, runtime.ErrInvalidWorkload) {
		t.Error("List accepted an app name with a path separator")
	}
	if _, err := r.Open(LogFile{Instance: "x", Path: filepath.Join(t.TempDir(), "x.log")}); err == nil {
		t.Error("Open of a missing log succeeded")
	} else if !errors.Is(err, ErrNoLog) {
		t.Errorf("Open of a missing log = %v, want ErrNoLog", err)
	}
	if files, err := r.List(LogQuery{App: "a*"}); err != nil || len(files) != 0 {
		t.Errorf("List(a*) = %v, %v", files, err)
	}
}
