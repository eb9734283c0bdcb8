package browser

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// Binaries built once for all tests: sluice (with the race detector, so
// the dashboard's handlers run under it) and examples/hello.
var sluiceBinary, helloBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBinary, helloBinary = filepath.Join(dir, "sluice"), filepath.Join(dir, "hello")
	for _, args := range [][]string{
		{"build", "-race", "-o", sluiceBinary, "../../cmd/sluice"},
		{"build", "-o", helloBinary, "../../examples/hello"},
	} {
		build := exec.Command("go", args...)
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "go %s: %v\n", strings.Join(args, " "), err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
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
	// url is the API's (and the dashboard's) base URL; token the first
	// admin token.
	url, token string
}

// startServer starts sluice on a free port in a new data directory. The
// test's cleanup stops it.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), logs: &syncBuffer{}}
	s.cmd = exec.Command(sluiceBinary, "server", "--listen", "127.0.0.1:0", "--data-dir", s.dataDir, "--log-format", "json")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	eventually(t, 20*time.Second, "the server writes its URL", func() bool {
		b, err := os.ReadFile(filepath.Join(s.dataDir, "server.url"))
		s.url = strings.TrimSpace(string(b))
		return err == nil && s.url != ""
	})
	tok, err := os.ReadFile(filepath.Join(s.dataDir, "admin.token"))
	if err != nil {
		t.Fatalf("admin token: %v\n%s", err, s.logs)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// stop ends the server (SIGTERM, then SIGKILL after 15s) and, when the
// test failed, logs what the server wrote.
func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", s.logs)
	}
}

// client is a Go API client with the admin token.
func (s *server) client() *client.Client {
	return s.clientWith(s.token)
}

// clientWith is a Go API client presenting token.
func (s *server) clientWith(token string) *client.Client {
	c, err := client.New(s.url, token)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// apply applies YAML documents as the admin.
func (s *server) apply(docs string) {
	s.t.Helper()
	if _, err := s.client().Apply(s.t.Context(), []byte(docs)); err != nil {
		s.t.Fatalf("apply: %v\n%s", err, docs)
	}
}

// createToken makes a token and returns its secret.
func (s *server) createToken(req apiv1.TokenRequest) string {
	s.t.Helper()
	tok, err := s.client().CreateToken(s.t.Context(), req)
	if err != nil {
		s.t.Fatalf("create token %+v: %v", req, err)
	}
	return tok.Secret
}

// waitStatus polls an app's status until cond holds.
func (s *server) waitStatus(app, what string, within time.Duration, cond func(apiv1.AppStatus) bool) apiv1.AppStatus {
	s.t.Helper()
	var st apiv1.AppStatus
	var err error
	deadline := time.Now().Add(within)
	for {
		st, err = s.client().AppStatus(s.t.Context(), app)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting until %s; status %+v, error %v", within, what, st, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stableAt holds once rev serves alone and is healthy.
func stableAt(rev int) func(apiv1.AppStatus) bool {
	return func(st apiv1.AppStatus) bool {
		return st.StableRevision == rev && st.CandidateRevision == 0 && st.Phase == apiv1.PhaseHealthy
	}
}

// helloApp is an App running one instance of examples/hello (version v1)
// on listen, with the canary strategy whose mapping's body (indented by six
// spaces) is canary.
func helloApp(name, listen, canary string) string { return helloAppWith(name, listen, 1, "", canary) }

// helloAppWith is helloApp with replicas instances and more env entries
// (lines indented by eight spaces).
func helloAppWith(name, listen string, replicas int, env, canary string) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata:
  name: %s
spec:
  listen: %s
  version: v1
  runtime:
    process:
      command: [%q]
      replicas: %d
      stopGracePeriod: 2s
      env:
        - {name: VERSION, value: v1}
%s  healthCheck: {path: /health, interval: 200ms, timeout: 200ms}
  strategy:
    canary:
      scaleDownDelay: 1h
%s`, name, listen, helloBinary, replicas, env, canary)
}

// deployV2 rolls out version v2 of an app through the API, as
// `sluice deploy NAME --set-env VERSION=v2 --version v2` does.
func (s *server) deployV2(app string) {
	s.t.Helper()
	if _, err := s.client().Deploy(s.t.Context(), app, apiv1.DeployRequest{Env: map[string]string{"VERSION": "v2"}, Version: "v2"}); err != nil {
		s.t.Fatalf("deploy %s v2: %v", app, err)
	}
}

// freePort returns a local address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startLoad sends steady GETs to http://addr/ (about 80 a second, from four
// workers) until the test ends, and returns how many got an answer.
func startLoad(t *testing.T, addr string) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var answered atomic.Int64
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for range 4 {
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
				if resp, err := c.Do(req); err == nil {
					resp.Body.Close()
					answered.Add(1)
				}
			}
		})
	}
	t.Cleanup(func() { cancel(); wg.Wait(); c.CloseIdleConnections() })
	return &answered
}

// eventually polls cond every 20ms until it holds or within passes.
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
