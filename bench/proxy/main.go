package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"go.opentelemetry.io/otel/sdk/resource"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/telemetry"
)

// config holds the command line.
type config struct {
	role          string
	backend       string
	metrics       bool
	traced        bool
	eventLoops    bool
	moderateRate  int
	moderateConn  int
	conns         int
	duration      time.Duration
	warmup        time.Duration
	rounds        int
	switches      int
	nginx         string
	cpuProfile    string
	profileOf     string
	costRounds    int
	latencyRounds int
	latencySlice  time.Duration
	costSlice     time.Duration
	baseline      string
	proxyProcs    int
}

func main() {
	var c config
	flag.StringVar(&c.role, "role", "", "internal: run as \"backend\" or \"proxy\" child")
	flag.StringVar(&c.backend, "backend", "", "internal: backend address for -role proxy")
	flag.BoolVar(&c.metrics, "metrics", true, "internal: Prometheus metrics on for -role proxy")
	flag.BoolVar(&c.traced, "traced", false, "internal: tracing (proxy spans to a discarding OTLP client) and the JSON access log on for -role proxy")
	flag.BoolVar(&c.eventLoops, "event-loops", true, "internal: serve with the proxy's event loops for -role proxy (false: net/http only)")
	flag.IntVar(&c.moderateRate, "moderate-rate", 2000, "requests per second of the moderate phase")
	flag.IntVar(&c.moderateConn, "moderate-conns", 16, "keep-alive connections of the moderate phase")
	flag.IntVar(&c.conns, "conns", 64, "keep-alive connections of the saturation phase")
	flag.DurationVar(&c.duration, "duration", 4*time.Second, "length of each measured phase")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before each target's phases")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds over all targets; each phase's best round is reported")
	flag.IntVar(&c.switches, "switches", 20, "route switches to time")
	flag.IntVar(&c.costRounds, "cost-rounds", 10, "rounds of the observability cost comparison of the sluice variants; 0 skips it")
	flag.IntVar(&c.latencyRounds, "latency-rounds", 8, "rounds of the added-latency comparison at the moderate rate; 0 skips it")
	flag.DurationVar(&c.latencySlice, "latency-slice", 2*time.Second, "length of each target's moderate slice in a latency round")
	flag.DurationVar(&c.costSlice, "cost-slice", time.Second, "length of each variant's saturation slice in a cost round")
	flag.StringVar(&c.baseline, "baseline", "", "another build of this benchmark (say, of an older commit) whose proxy runs as two more variants, metrics off and everything on, to compare builds in one run")
	flag.StringVar(&c.nginx, "nginx", "nginx", "nginx binary; empty skips nginx")
	flag.IntVar(&c.proxyProcs, "proxy-procs", 0, "GOMAXPROCS of the sluice proxy process; 0 keeps Go's default (all CPUs)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the CPU profile of the sluice proxy variants named by -cpuprofile-variant to FILE.VARIANT")
	flag.StringVar(&c.profileOf, "cpuprofile-variant", "metrics", "comma-separated variants -cpuprofile profiles: \"metrics\" (metrics on), \"off\" (metrics off), \"all\" (metrics, traces, access log), \"nethttp\" (metrics on, event loops off)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch c.role {
	case "backend":
		err = runBackend(ctx)
	case "proxy":
		err = runProxy(ctx, c.backend, c.metrics, c.traced, c.eventLoops, c.cpuProfile)
	case "":
		err = drive(ctx, c)
	default:
		err = fmt.Errorf("unknown role %q", c.role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// body is what the backend answers: a small page with a Content-Length.
const body = "hello from the backend, a small response body of about one hundred bytes for the benchmark run.\n"

// runBackend serves body on a loopback port and prints the address.
func runBackend(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
	})}
	fmt.Println(ln.Addr().String())
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runProxy serves one app through sluice's proxy and prints its address.
func runProxy(ctx context.Context, backend string, metrics, traced, eventLoops bool, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	opts := proxy.Options{DisableEventLoops: !eventLoops}
	if metrics {
		opts.Registerer = prometheus.NewRegistry()
	}
	if traced {
		// Proxy spans as sluice server records them, sampled as its
		// environment says (by default every request without a caller's
		// traceparent, as here), to a client that drops them.
		spans, err := telemetry.NewProxySpans(ctx, discardClient{}, resource.Default(), telemetry.SamplerFromEnv(os.Getenv), telemetry.BatchOptions{})
		if err != nil {
			return err
		}
		defer spans.Shutdown(context.Background())
		opts.Spans = spans
		// The access log as sluice server writes it with JSON logs, to a
		// file that discards it (so the write system calls are counted).
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer null.Close()
		access := proxy.NewAccessLog(null, proxy.DefaultAccessFlush)
		defer access.Close()
		opts.AccessLog = access.Log
	}
	s, err := proxy.New(opts)
	if err != nil {
		return err
	}
	t, err := proxy.NewTable(proxy.TableSpec{
		App:          "bench",
		Listen:       "127.0.0.1:0",
		Stable:       proxy.Revision{Name: "1", Instances: []proxy.Instance{{ID: "b", Addr: backend}}},
		DrainTimeout: time.Second,
	})
	if err != nil {
		return err
	}
	if err := s.Apply(t); err != nil {
		return err
	}
	addr, err := s.Addr("bench")
	if err != nil {
		return err
	}
	fmt.Println(addr.String())
	return s.Run(ctx)
}

// child is a process started by the driver, stopped by stop.
type child struct {
	name string
	cmd  *exec.Cmd
}

// startChild runs bin, or this binary when bin is "", with args (and env,
// when not nil) and reads the address it prints.
func startChild(ctx context.Context, name string, env []string, bin string, args ...string) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	if bin != "" {
		self = bin
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stderr = os.Stderr
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("%s did not print its address: %w", name, err)
	}
	return &child{name: name, cmd: cmd}, strings.TrimSpace(line), nil
}

// stop asks the child to exit and waits for it.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// startNginx runs nginx in the foreground as a keep-alive reverse proxy to
// backend, with its config and temp files in a new directory.
func startNginx(ctx context.Context, bin, backend string) (*child, string, error) {
	dir, err := os.MkdirTemp("", "proxybench-nginx-")
	if err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + port
	conf := strings.NewReplacer("DIR", dir, "BACKEND", backend, "LISTEN", addr).Replace(nginxConf)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", "stderr")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start nginx: %w", err)
	}
	c := &child{name: "nginx", cmd: cmd}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return c, addr, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, "", fmt.Errorf("nginx did not listen on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nginxConf is a reverse proxy configured for a fair comparison: keep-alive
// to clients and to the upstream, no access log, and the same forwarding
// headers sluice sets.
const nginxConf = `daemon off;
master_process on;
worker_processes auto;
pid DIR/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path DIR/client_body;
  proxy_temp_path DIR/proxy;
  fastcgi_temp_path DIR/fastcgi;
  uwsgi_temp_path DIR/uwsgi;
  scgi_temp_path DIR/scgi;
  keepalive_requests 1000000;
  upstream app {
    server BACKEND;
    keepalive 512;
    keepalive_requests 1000000;
  }
  server {
    listen LISTEN;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-ID $request_id;
    }
  }
}
`

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// variant is one configuration of the sluice proxy under test.
type variant struct {
	name, key       string // key names it for -cpuprofile-variant
	metrics, traced bool
	bin             string // the benchmark binary that runs it; "" for this one
	netHTTP         bool   // without the event loops
}

// target is one way of reaching the backend, and the process in between
// (0 for none), whose CPU time is measured.
type target struct {
	name string
	addr string
	pid  int
}

// drive starts everything, measures each target, prints the results.
func drive(ctx context.Context, c config) error {
	be, backend, err := startChild(ctx, "backend", nil, "", "-role", "backend")
	if err != nil {
		return err
	}
	defer be.stop()
	targets := []target{{"direct", backend, 0}}
	if c.nginx != "" {
		ng, addr, err := startNginx(ctx, c.nginx, backend)
		if err != nil {
			return err
		}
		defer ng.stop()
		targets = append(targets, target{"nginx", addr, ng.cmd.Process.Pid})
	}
	variants := []variant{
		{"sluice", "metrics", true, false, "", false},
		{"sluice (metrics off)", "off", false, false, "", false},
		{"sluice (metrics, traces, access log)", "all", true, true, "", false},
		{"sluice (net/http only)", "nethttp", true, false, "", true},
	}
	if c.baseline != "" {
		variants = append(variants,
			variant{"baseline (metrics off)", "baseline-off", false, false, c.baseline, false},
			variant{"baseline (metrics, traces, access log)", "baseline-all", true, true, c.baseline, false})
	}
	for _, v := range variants {
		name, m := v.name, v.metrics
		args := []string{"-role", "proxy", "-backend", backend, fmt.Sprintf("-metrics=%v", m), fmt.Sprintf("-traced=%v", v.traced)}
		if v.netHTTP {
			args = append(args, "-event-loops=false")
		}
		if c.cpuProfile != "" && slices.Contains(strings.Split(c.profileOf, ","), v.key) {
			args = append(args, "-cpuprofile", c.cpuProfile+"."+v.key)
		}
		var env []string
		if c.proxyProcs > 0 {
			env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", c.proxyProcs))
		}
		p, addr, err := startChild(ctx, name, env, v.bin, args...)
		if err != nil {
			return err
		}
		defer p.stop()
		targets = append(targets, target{name, addr, p.cmd.Process.Pid})
	}

	fmt.Printf("# proxybench on %d CPUs, %s, %s\n", runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("moderate: %d req/s over %d connections; saturation: %d connections closed-loop; %v per phase, best of %d rounds\n\n",
		c.moderateRate, c.moderateConn, c.conns, c.duration, c.rounds)
	best := map[string]*phaseResults{}
	for round := range c.rounds {
		for _, t := range targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, err := measureTarget(ctx, c, t)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, t.name, err)
			}
			// The machine is shared and noisy: keep each phase's least
			// disturbed round, the lowest moderate p99 and the highest
			// saturation throughput.
			b := best[t.name]
			if b == nil {
				best[t.name] = r
				continue
			}
			if r.moderate.p99 < b.moderate.p99 {
				b.moderate = r.moderate
			}
			if r.saturation.rps > b.saturation.rps {
				b.saturation = r.saturation
			}
		}
	}
	printResults(targets, best)
	if err := measureAddedLatency(ctx, c, targets); err != nil {
		return err
	}
	if err := measureCost(ctx, c, targets); err != nil {
		return err
	}

	sw, err := measureSwitch(ctx, c.switches)
	if err != nil {
		return fmt.Errorf("route switch: %w", err)
	}
	fmt.Printf("\nroute switch (Apply of a table moving 100%% to another revision, to the first response from it), %d switches under load: p50 %s, max %s\n",
		len(sw), fmtDur(percentile(sw, 0.5)), fmtDur(percentile(sw, 1)))
	return nil
}

// phaseResults are one target's moderate and saturation results.
type phaseResults struct {
	moderate, saturation result
}

func measureTarget(ctx context.Context, c config, t target) (*phaseResults, error) {
	if _, err := runLoad(ctx, t.addr, c.conns, 0, c.warmup); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	mod, err := runLoad(ctx, t.addr, c.moderateConn, c.moderateRate, c.duration)
	if err != nil {
		return nil, fmt.Errorf("moderate: %w", err)
	}
	before := cpuTime(t.pid)
	sat, err := runLoad(ctx, t.addr, c.conns, 0, c.duration)
	if err != nil {
		return nil, fmt.Errorf("saturation: %w", err)
	}
	if t.pid != 0 && sat.requests > 0 {
		sat.cpuPerRequest = (cpuTime(t.pid) - before) / time.Duration(sat.requests)
	}
	return &phaseResults{moderate: mod, saturation: sat}, nil
}

func printResults(targets []target, best map[string]*phaseResults) {
	var nginx *phaseResults
	if r, ok := best["nginx"]; ok {
		nginx = r
	}
	fmt.Println("| target | moderate p50 | moderate p99 | saturation req/s | saturation p50 | saturation p99 | req/s vs nginx | proxy CPU per request |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, t := range targets {
		r := best[t.name]
		ratio := "–"
		if nginx != nil && nginx.saturation.rps > 0 {
			ratio = fmt.Sprintf("%.2f×", r.saturation.rps/nginx.saturation.rps)
		}
		cpu := "–"
		if r.saturation.cpuPerRequest > 0 {
			cpu = fmt.Sprintf("%.1f µs", float64(r.saturation.cpuPerRequest)/float64(time.Microsecond))
		}
		fmt.Printf("| %s | %s | %s | %.0f | %s | %s | %s | %s |\n", t.name,
			fmtDur(r.moderate.p50), fmtDur(r.moderate.p99),
			r.saturation.rps, fmtDur(r.saturation.p50), fmtDur(r.saturation.p99), ratio, cpu)
	}
	if d, ok := best["direct"]; ok {
		fmt.Println()
		for _, name := range []string{"nginx", "sluice", "sluice (metrics off)", "sluice (metrics, traces, access log)"} {
			if r, ok := best[name]; ok {
				fmt.Printf("added p99 at moderate load, %s: %s\n", name, fmtDur(r.moderate.p99-d.moderate.p99))
			}
		}
	}
	on, off := best["sluice"], best["sluice (metrics off)"]
	if on != nil && off != nil && off.saturation.rps > 0 {
		fmt.Printf("metrics cost at saturation: %.1f %% fewer req/s with metrics on\n", 100*(1-on.saturation.rps/off.saturation.rps))
	}
	if all := best["sluice (metrics, traces, access log)"]; all != nil && off != nil && off.saturation.rps > 0 {
		fmt.Printf("metrics, traces and access log cost at saturation: %.1f %% fewer req/s than all off\n", 100*(1-all.saturation.rps/off.saturation.rps))
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}
