package e2e

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOneServerPerDataDirectory: a second server on a data directory in use
// stops at once and says which process holds it; once the first is gone,
// even by kill -9, the directory is free again.
func TestOneServerPerDataDirectory(t *testing.T) {
	s := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "server", "--listen", "127.0.0.1:0", "--data-dir", s.dataDir).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() == 0 {
		t.Fatalf("a second server on the same data directory: %v\n%s", err, out)
	}
	want := "in use by another sluice server (" + s.dataDir + ", held by process " + strconv.Itoa(s.cmd.Process.Pid) + ")"
	if !strings.Contains(string(out), want) {
		t.Fatalf("the second server said:\n%s\nwant %q", out, want)
	}
	// The first one still serves.
	if _, err := s.client().Version(ctx); err != nil {
		t.Fatalf("the first server after the second one's attempt: %v", err)
	}
	s.stop(syscall.SIGKILL)
	again := startServer(t, s.dataDir)
	if _, err := again.client().Version(ctx); err != nil {
		t.Fatalf("a server after kill -9 of the first: %v", err)
	}
}
