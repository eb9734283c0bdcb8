package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sluice.dev/sluice/bench/internal/benchkit"
	"syscall"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// config holds the command line.
type config struct {
	readyRounds int
	apps        int
	idle        time.Duration
	switches    int
}

func main() {
	var c config
	flag.IntVar(&c.readyRounds, "ready-rounds", 10, "server starts on an empty store to time")
	flag.IntVar(&c.apps, "apps", 10, "apps served while measuring idle memory")
	flag.DurationVar(&c.idle, "idle", 5*time.Second, "how long the server idles before its memory is read")
	flag.IntVar(&c.switches, "switches", 10, "promote/undo pairs to time")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bluegreenbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "bluegreenbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := binaries{sluice: filepath.Join(dir, "sluice"), hello: filepath.Join(dir, "hello")}
	for _, b := range []struct{ out, pkg string }{{bins.sluice, "./cmd/sluice"}, {bins.hello, "./examples/hello"}} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	fmt.Printf("sluice blue-green benchmark, %s\n\n", time.Now().UTC().Format(time.RFC3339))

	ready, err := measureReady(ctx, bins, dir, c.readyRounds)
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	fmt.Printf("server ready on an empty store (%d starts):  %s\n", len(ready), summary(ready))

	mem, err := measureIdle(ctx, bins, dir, c.apps, c.idle)
	if err != nil {
		return fmt.Errorf("rss: %w", err)
	}
	fmt.Printf("idle RSS with %d apps serving:             sluice %.1f MiB (apps' own processes: %.1f MiB in %d)\n",
		c.apps, mib(mem.sluice), mib(mem.children), mem.count)

	promote, undo, err := measureSwitch(ctx, bins, dir, c.switches)
	if err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	fmt.Printf("route switch, promote to first new answer:  %s\n", summary(promote))
	fmt.Printf("route switch, undo to first warm answer:    %s\n", summary(undo))
	return nil
}

// binaries are the programs the benchmark runs.
type binaries struct {
	sluice, hello string
}

// appDoc is a blue-green App running hello.
func appDoc(bins binaries, name, listen, strategy string) []byte {
	return fmt.Appendf(nil, `apiVersion: sluice.dev/v1
kind: App
metadata: {name: %s}
spec:
  listen: %s
  runtime:
    process:
      command: [%q]
      stopGracePeriod: 2s
      env: [{name: VERSION, value: v1}]
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
  strategy:
    blueGreen: {%s}
`, name, listen, bins.hello, strategy)
}

// waitApp polls an app's status until cond holds.
func waitApp(ctx context.Context, s *server, app string, within time.Duration, cond func(apiv1.AppStatus) bool) error {
	var last apiv1.AppStatus
	err := poll(ctx, within, 5*time.Millisecond, func() bool {
		st, err := s.Client.AppStatus(ctx, app)
		last = st
		return err == nil && cond(st)
	})
	if err != nil {
		return fmt.Errorf("app %s: %w; status: %s: %s", app, err, last.Phase, last.Message)
	}
	return nil
}

// poll calls cond every interval until it holds.
func poll(ctx context.Context, within, interval time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return nil
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// readyOnce GETs url and reports whether it answered 200.
func readyOnce(ctx context.Context, url string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// summary renders min, median and max.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("min %s  median %s  max %s  (n=%d)", round(s[0]), round(s[len(s)/2]), round(s[len(s)-1]), len(s))
}

func round(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// errStopped means the benchmark was interrupted.
var errStopped = errors.New("stopped")

// server is a running sluice server.
type server = benchkit.Server

// startServer starts sluice on a free port with its state in dataDir and
// returns once it wrote its URL.
func startServer(ctx context.Context, bins binaries, dataDir string) (*server, error) {
	return benchkit.StartServer(ctx, bins.sluice, dataDir, "--log-level", "warn")
}
