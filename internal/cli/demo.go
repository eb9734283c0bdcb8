package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/internal/server"
	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Ship two versions of a demo service by canary: one is promoted, one rolls back by itself",
		Long: `Start a throwaway sluice server in a temporary directory, run the hello service
(examples/hello, built with 'go build') at v1 under synthetic traffic, ship v2
by canary (its analysis passes and it is promoted), then v3, which fails 30 %
of its requests and is rolled back by its analysis. A timeline of what happens
is printed as it goes; it takes about half a minute. Run it from the root of the
sluice repository (it needs the Go toolchain to build the service).`,
		Example: "  go run ./cmd/sluice demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDemo(cmd.Context(), keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory (data, logs) afterwards")
	return cmd
}

// demo is one run of `sluice demo`.
type demo struct {
	out    io.Writer
	start  time.Time
	c      *client.Client
	listen string
}

// say prints a line of the timeline.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func (a *app) runDemo(ctx context.Context, keep bool) error {
	d := &demo{out: a.io.Out, start: time.Now()}
	dir, err := os.MkdirTemp("", "sluice-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(a.io.Out, "\nThe demo's data and logs are in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	d.say("building the hello service (examples/hello) into %s", dir)
	hello := filepath.Join(dir, "hello")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", hello, "./examples/hello").CombinedOutput(); err != nil {
		return fmt.Errorf("build examples/hello (run the demo from the root of the sluice repository): %v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	srvDone := make(chan error, 1)
	go func() { // ends with ctx; runDemo waits for it below
		srvDone <- server.Run(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, LogFormat: "json", Getenv: a.getenv}, logFile, a.build)
	}()
	defer func() {
		cancel()
		<-srvDone
	}()
	if d.c, err = d.connect(ctx, dir, srvDone); err != nil {
		return err
	}
	d.say("sluice runs in %s; its API is %s", dir, d.c.BaseURL())
	if d.listen, err = freeAddr(); err != nil {
		return err
	}
	if _, err := d.c.Apply(ctx, []byte(demoSpec(d.listen, hello))); err != nil {
		return fmt.Errorf("apply the demo app: %w", err)
	}
	d.say("applied app hello (v1) on http://%s, canary steps 10 %% → analysis → 50 %% → analysis → 100 %%", d.listen)
	if _, err := d.follow(ctx, 1, 45*time.Second); err != nil {
		return err
	}

	tctx, stopTraffic := context.WithCancel(ctx)
	tr := newDemoTraffic()
	var wg sync.WaitGroup
	wg.Go(func() { tr.run(tctx, d.listen) })
	defer func() {
		stopTraffic()
		wg.Wait()
	}()
	d.say("synthetic traffic: about 50 requests a second to http://%s", d.listen)

	d.say("deploying v2 (a good version)")
	if _, err := d.c.Deploy(ctx, "hello", apiv1.DeployRequest{Env: map[string]string{"VERSION": "v2"}, Version: "v2"}); err != nil {
		return err
	}
	if st, err := d.follow(ctx, 2, 90*time.Second); err != nil {
		return err
	} else if st.StableRevision != 2 {
		return fmt.Errorf("v2 was not promoted: %s: %s", st.Phase, st.Message)
	}
	d.say("deploying v3 (it fails 30 %% of its requests: ERROR_RATE=0.3)")
	if _, err := d.c.Deploy(ctx, "hello", apiv1.DeployRequest{Env: map[string]string{"VERSION": "v3", "ERROR_RATE": "0.3"}, Version: "v3"}); err != nil {
		return err
	}
	st, err := d.follow(ctx, 3, 90*time.Second)
	if err != nil {
		return err
	}
	if st.Phase != apiv1.PhaseAborted {
		return fmt.Errorf("v3 was not rolled back: %s: %s", st.Phase, st.Message)
	}
	stopTraffic()
	wg.Wait()
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, "What the traffic saw:")
	tr.report(d.out)
	if b := st.BlastRadius; b != nil {
		fmt.Fprintf(d.out, "v3's blast radius: %d requests, %d errors, before its weight went to 0\n", b.Requests, b.Errors)
	}
	fmt.Fprintf(d.out, "\nThe server was %s; 'sluice server' runs one for good, and 'sluice rollout status APP' shows this view.\n", d.c.BaseURL())
	return nil
}

// connect waits for the server's URL and admin token and returns a client.
func (d *demo) connect(ctx context.Context, dir string, srvDone <-chan error) (*client.Client, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		url, uerr := os.ReadFile(filepath.Join(dir, server.URLFile))
		tok, terr := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
		if uerr == nil && terr == nil && len(url) > 0 {
			return client.New(strings.TrimSpace(string(url)), strings.TrimSpace(string(tok)))
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the demo server did not start within 30s")
		}
		select {
		case err := <-srvDone:
			return nil, fmt.Errorf("the demo server stopped: %v", err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// follow prints the rollout of revision rev as it goes, until it ends.
func (d *demo) follow(ctx context.Context, rev int, within time.Duration) (apiv1.AppStatus, error) {
	deadline := time.Now().Add(within)
	last, lastWeight := "", -1
	verdicts := map[string]string{}
	for {
		st, err := d.c.AppStatus(ctx, "hello")
		if err != nil {
			return st, err
		}
		if st.CandidateRevision == rev && st.Weight != lastWeight {
			lastWeight = st.Weight
			if st.Weight > 0 {
				d.say("v%d gets %s of the traffic", rev, percentOf(st.Weight))
			}
		}
		for _, run := range st.Analyses {
			if run.Candidate == rev && run.Verdict != apiv1.VerdictRunning && run.Verdict != apiv1.VerdictSkipped && verdicts[run.Name] != run.Verdict {
				verdicts[run.Name] = run.Verdict
				d.say("analysis %s: %s %s", runLabel(run), run.Verdict, demoEvidence(run))
			}
		}
		ours := st.CandidateRevision == rev || st.StableRevision == rev || st.RejectedRevision >= rev
		if line := st.Phase + " " + st.Reason; ours && line != last && (st.Phase != apiv1.PhaseProgressing || last == "") {
			last = line
			d.say("%s", describeOutcome(st))
		}
		done := st.CandidateRevision == 0 && (st.StableRevision == rev || st.Phase == apiv1.PhaseAborted || st.Phase == apiv1.PhaseFailed)
		if done {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("revision %d did not finish within %s: %s: %s", rev, within, st.Phase, st.Message)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func runLabel(r apiv1.AnalysisRun) string {
	if r.Kind == apiv1.AnalysisStep {
		return fmt.Sprintf("of step %d", r.Step)
	}
	return r.Kind
}

// demoEvidence quotes the last measurement of each metric of a run.
func demoEvidence(r apiv1.AnalysisRun) string {
	var parts []string
	for _, m := range r.Metrics {
		if m.Last != nil && m.Last.Message != "" {
			parts = append(parts, fmt.Sprintf("%s (%d measured): %s", m.Metric, m.Measurements, m.Last.Message))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "— " + strings.Join(parts, "; ")
}

func percentOf(bp int) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", float64(bp)/100), "0"), ".0") + " %"
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// demoSpec is the demo app and its analysis: quick steps and a quick
// error and latency comparison against stable, so the demo takes about a
// minute.
func demoSpec(listen, hello string) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata:
  name: hello
spec:
  listen: %s
  version: v1
  runtime:
    process:
      command: [%q]
      replicas: 2
      stopGracePeriod: 2s
      env:
        - {name: VERSION, value: v1}
  healthCheck: {path: /health, interval: 200ms, timeout: 200ms}
  strategy:
    canary:
      scaleDownDelay: 1m
      steps:
        - setWeight: 10
        - analysis: {templates: [{name: golden-signals}]}
        - setWeight: 50
        - analysis: {templates: [{name: golden-signals}]}
      analysis: {templates: [{name: golden-signals}]}
---
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: golden-signals
spec:
  metrics:
    - name: errors
      interval: 2s
      initialDelay: 2s
      count: 3
      inconclusiveLimit: 5
      provider:
        builtin: {window: 10s, minRequests: 10}
      successCondition: candidate.successRate >= stable.successRate - 0.05
    - name: latency
      interval: 2s
      initialDelay: 2s
      count: 3
      failureLimit: 1
      inconclusiveLimit: 5
      provider:
        builtin: {window: 10s, minRequests: 10}
      successCondition: candidate.p99 <= stable.p99 * 1.5 + 0.05
`, listen, hello)
}

// demoTraffic sends steady requests and counts the answers by version.
type demoTraffic struct {
	mu     sync.Mutex
	ok     map[string]int
	failed map[string]int
}

func newDemoTraffic() *demoTraffic {
	return &demoTraffic{ok: map[string]int{}, failed: map[string]int{}}
}

// run sends about 50 requests a second until ctx ends.
func (t *demoTraffic) run(ctx context.Context, addr string) {
	c := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		resp, err := c.Do(req)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		version := "?"
		if i := strings.Index(string(body), `"version":"`); i >= 0 {
			rest := string(body[i+len(`"version":"`):])
			if j := strings.IndexByte(rest, '"'); j >= 0 {
				version = rest[:j]
			}
		}
		t.mu.Lock()
		if resp.StatusCode >= 500 {
			t.failed[version]++
		} else {
			t.ok[version]++
		}
		t.mu.Unlock()
	}
}

// report prints the answers by version.
func (t *demoTraffic) report(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tw := newTable(w, "VERSION", "ANSWERED", "FAILED")
	for _, v := range []string{"v1", "v2", "v3"} {
		tw.row(v, t.ok[v], t.failed[v])
	}
	_ = tw.flush()
}
