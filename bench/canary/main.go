package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sluice.dev/sluice/bench/internal/benchkit"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// config holds the command line.
type config struct {
	weights []float64
	rounds  int
	rate    int
}

func main() {
	var c config
	var weights string
	flag.StringVar(&weights, "weights", "1,5,25", "step weights to measure, in percent")
	flag.IntVar(&c.rounds, "rounds", 3, "bad candidates per weight")
	flag.IntVar(&c.rate, "rate", 300, "requests per second sent to the app")
	flag.Parse()
	for _, w := range strings.Split(weights, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if err != nil || f <= 0 || f > 100 {
			fmt.Fprintf(os.Stderr, "canarybench: bad weight %q\n", w)
			os.Exit(2)
		}
		c.weights = append(c.weights, f)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "canarybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "canarybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sluice, hello := filepath.Join(dir, "sluice"), filepath.Join(dir, "hello")
	for _, b := range []struct{ out, pkg string }{{sluice, "./cmd/sluice"}, {hello, "./examples/hello"}} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	srv, err := startServer(ctx, sluice, filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("sluice canary benchmark, %s: %d req/s, candidate ERROR_RATE=0.3, analysis every 1s over 10s, minRequests 10\n\n",
		time.Now().UTC().Format(time.RFC3339), c.rate)
	fmt.Printf("%-7s %-6s %-10s %-10s %-11s %-9s %-12s %s\n", "weight", "round", "detection", "cand reqs", "cand fails", "all reqs", "fail share", "of 1 min")
	for i, w := range c.weights {
		for r := range c.rounds {
			res, err := measure(ctx, srv, hello, fmt.Sprintf("canary-%d", i), w, r, c.rate)
			if err != nil {
				return fmt.Errorf("weight %v%% round %d: %w", w, r+1, err)
			}
			fmt.Printf("%-7s %-6d %-10s %-10d %-11d %-9d %-12s %.3f %%\n", fmt.Sprintf("%g %%", w), r+1,
				res.detection.Round(10*time.Millisecond), res.candidate, res.failed, res.all,
				fmt.Sprintf("%.2f %%", 100*float64(res.failed)/float64(max(res.all, 1))), 100*float64(res.failed)/float64(60*c.rate))
		}
	}
	return nil
}

// result is one bad candidate's outcome.
type result struct {
	detection              time.Duration
	candidate, failed, all int
}

// measure deploys one bad candidate of app at weight and times it out.
func measure(ctx context.Context, srv *server, hello, app string, weight float64, round, rate int) (result, error) {
	var res result
	listen := srv.listens[app]
	if listen == "" {
		addr, err := freeAddr()
		if err != nil {
			return res, err
		}
		srv.listens[app], listen = addr, addr
		if _, err := srv.Client.Apply(ctx, appDoc(app, listen, hello, weight)); err != nil {
			return res, fmt.Errorf("apply: %w", err)
		}
	}
	if err := waitApp(ctx, srv.Client, app, 30*time.Second, func(st apiv1.AppStatus) bool {
		return st.CandidateRevision == 0 && st.StableRevision != 0 && len(st.Revisions) > 0 && st.Revisions[0].Ready > 0
	}); err != nil {
		return res, err
	}
	l := startLoad(ctx, listen, rate)
	time.Sleep(time.Second) // a second of stable-only traffic for the window
	version := fmt.Sprintf("bad-%d", round+1)
	dep, err := srv.Client.Deploy(ctx, app, apiv1.DeployRequest{Env: map[string]string{"VERSION": version, "ERROR_RATE": "0.3"}, Version: version})
	if err != nil {
		l.stop()
		return res, err
	}
	err = waitApp(ctx, srv.Client, app, 60*time.Second, func(st apiv1.AppStatus) bool {
		return st.Phase == apiv1.PhaseAborted && st.CandidateRevision == 0 && st.RejectedRevision >= dep.Revision
	})
	time.Sleep(time.Second) // let requests in flight finish and show there are no more
	samples := l.stop()
	if err != nil {
		return res, err
	}
	var first, last time.Time
	for _, s := range samples {
		if s.version == version {
			if first.IsZero() {
				first = s.start
			}
			last = s.end
		}
	}
	if first.IsZero() {
		return res, fmt.Errorf("the candidate never answered")
	}
	res.detection = last.Sub(first)
	for _, s := range samples {
		if s.start.Before(first) || s.start.After(last) {
			continue
		}
		res.all++
		if s.version == version {
			res.candidate++
			if s.status >= 500 || s.err != nil {
				res.failed++
			}
		}
	}
	return res, nil
}

// appDoc is the benchmark's app: setWeight W then a pause, with a quick
// background analysis of the success rate.
func appDoc(app, listen, hello string, weight float64) []byte {
	return fmt.Appendf(nil, `apiVersion: sluice.dev/v1
kind: App
metadata:
  name: %s
spec:
  listen: %s
  version: v1
  runtime:
    process:
      command: [%q]
      replicas: 1
      stopGracePeriod: 1s
      env:
        - {name: VERSION, value: v1}
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
  strategy:
    canary:
      scaleDownDelay: 1m
      steps: [{setWeight: %g}, {pause: {}}]
      analysis: {templates: [{name: bench-errors}]}
---
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: bench-errors
spec:
  metrics:
    - name: success-rate
      interval: 1s
      inconclusiveLimit: 100
      provider:
        builtin: {window: 10s, minRequests: 10}
      successCondition: candidate.successRate >= stable.successRate - 0.05
`, app, listen, hello, weight)
}

// waitApp polls an app's status until cond holds.
func waitApp(ctx context.Context, c *client.Client, app string, within time.Duration, cond func(apiv1.AppStatus) bool) error {
	deadline := time.Now().Add(within)
	for {
		st, err := c.AppStatus(ctx, app)
		if err == nil && cond(st) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("app %s: timed out after %s; phase %s: %s (%v)", app, within, st.Phase, st.Message, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is a running sluice server and the listen addresses of its apps.
type server struct {
	*benchkit.Server
	listens map[string]string // app → its listen address
}

// startServer starts sluice on a free port with its state in dataDir.
func startServer(ctx context.Context, bin, dataDir string) (*server, error) {
	s, err := benchkit.StartServer(ctx, bin, dataDir, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	return &server{Server: s, listens: map[string]string{}}, nil
}
