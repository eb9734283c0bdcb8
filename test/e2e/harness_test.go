package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/client"
)

// binary is the sluice binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-race", "-o", binary, "../../cmd/sluice")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running sluice server.
type server struct {
	t       *testing.T
	dataDir string
	cmd     *exec.Cmd
	logs    *syncBuffer
	url     string
	token   string
}

// startServer starts sluice on a free port in dataDir (a new one when ""),
// with more server flags in args.
func startServer(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	os.Remove(filepath.Join(dataDir, "server.url"))
	s := &server{t: t, dataDir: dataDir, logs: &syncBuffer{}}
	s.cmd = exec.Command(binary, append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	eventually(t, 15*time.Second, "server writes its URL", func() bool {
		b, err := os.ReadFile(filepath.Join(dataDir, "server.url"))
		s.url = strings.TrimSpace(string(b))
		return err == nil && s.url != ""
	})
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatalf("admin token: %v\n%s", err, s.logs)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// stop signals the server and waits for it to exit.
func (s *server) stop(sig syscall.Signal) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// client returns a Go API client with the admin token.
func (s *server) client() *client.Client {
	c, err := client.New(s.url, s.token)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// result is a finished CLI run.
type result struct {
	code           int
	stdout, stderr string
}

// sluice runs the CLI against the server, finding it through the data
// directory as a user on the same machine would.
func (s *server) sluice(stdin string, args ...string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "SLUICE_DATA_DIR="+s.dataDir, "SLUICE_SERVER=", "SLUICE_TOKEN=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("run sluice %v: %v", args, err)
	}
	return r
}

// must runs the CLI and fails the test unless it exits 0.
func (s *server) must(stdin string, args ...string) string {
	s.t.Helper()
	r := s.sluice(stdin, args...)
	if r.code != 0 {
		s.t.Fatalf("sluice %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer collects a process's output while tests read it.
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
