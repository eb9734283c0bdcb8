package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sluice.dev/sluice/bench/internal/benchkit"
	"strings"
	"syscall"
	"time"
)

// config holds the command line.
type config struct {
	sluice      string
	logLevel    string
	subscribers int
	changes     int
	conns       int
	duration    time.Duration
	flags       int
	rounds      int
}

func main() {
	var c config
	flag.StringVar(&c.sluice, "sluice", "", "sluice binary; empty builds ./cmd/sluice")
	flag.StringVar(&c.logLevel, "log-level", "warn", "the server's log level (info logs every request)")
	flag.IntVar(&c.subscribers, "subscribers", 1000, "OFREP event-stream clients in the propagation phase")
	flag.IntVar(&c.changes, "changes", 50, "flag changes timed in the propagation phase")
	flag.IntVar(&c.conns, "conns", 50, "concurrent clients in the evaluation phase")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each evaluation run")
	flag.IntVar(&c.flags, "flags", 10000, "flags in the large FlagSet")
	flag.IntVar(&c.rounds, "rounds", 5, "applies of the large FlagSet")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "flagbench:", err)
		os.Exit(1)
	}
}

// run starts the server and runs every phase.
func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "flagbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := c.sluice
	if bin == "" {
		bin = filepath.Join(dir, "sluice")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build sluice (run from the repository root): %w", err)
		}
	}
	srv, err := startServer(ctx, bin, filepath.Join(dir, "data"), c.logLevel)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("sluice server at %s (log level %s), GOMAXPROCS of this driver %d\n\n", srv.URL, c.logLevel, runtimeProcs())

	if _, err := srv.Client.Apply(ctx, []byte(benchFlagSet)); err != nil {
		return fmt.Errorf("apply the bench FlagSet: %w", err)
	}
	key, err := srv.cli(ctx, "tokens", "create", "--name", "bench", "--role", "sdk", "--env", "production")
	if err != nil {
		return err
	}
	if err := propagation(ctx, c, srv, key); err != nil {
		return fmt.Errorf("propagation: %w", err)
	}
	if err := evaluation(ctx, c, srv, key); err != nil {
		return fmt.Errorf("evaluation: %w", err)
	}
	if err := largeSet(ctx, c, srv); err != nil {
		return fmt.Errorf("large FlagSet: %w", err)
	}
	return nil
}

// server is a running `sluice server`.
type server struct{ *benchkit.Server }

// startServer runs sluice server on a free port and waits for its URL.
func startServer(ctx context.Context, bin, dataDir, logLevel string) (*server, error) {
	s, err := benchkit.StartServer(ctx, bin, dataDir, "--log-level", logLevel)
	if err != nil {
		return nil, err
	}
	return &server{s}, nil
}

// cli runs the sluice CLI against the server and returns its output.
func (s *server) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.Bin, args...)
	cmd.Env = append(os.Environ(), "SLUICE_DATA_DIR="+s.DataDir, "SLUICE_SERVER=", "SLUICE_TOKEN=")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sluice %v: %w", args, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// percentiles sorts d and returns its p50, p99 and maximum.
func percentiles(d []time.Duration) (p50, p99, max time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	return at(0.50), at(0.99), d[len(d)-1]
}

// ms renders a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// scanLines is bufio.Scanner with room for long SSE lines.
func scanLines(r interface{ Read([]byte) (int, error) }) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return sc
}
