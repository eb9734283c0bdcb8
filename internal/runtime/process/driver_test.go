package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// waitTimeout bounds every wait for a condition in these tests.
const waitTimeout = 15 * time.Second

// recorder collects a driver's events.
type recorder struct {
	mu     sync.Mutex
	events []runtime.Event
}

func (r *recorder) record(ev runtime.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// of returns the events of one kind so far.
func (r *recorder) of(kind runtime.EventKind) []runtime.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.Event
	for _, ev := range r.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvents polls until at least n events of kind were recorded.
func (r *recorder) waitEvents(t *testing.T, kind runtime.EventKind, n int) []runtime.Event {
	t.Helper()
	var evs []runtime.Event
	eventually(t, fmt.Sprintf("%d %s events", n, kind), func() bool {
		evs = r.of(kind)
		return len(evs) >= n
	})
	return evs
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startDriver runs a driver for the test's duration and stops it at the end.
func startDriver(t *testing.T, cfg Config) (*Driver, *recorder) {
	t.Helper()
	rec := &recorder{}
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	cfg.OnEvent = rec.record
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return after cancel")
		}
	})
	return d, rec
}

// running polls until the revision has n Running instances and returns them.
func running(t *testing.T, d *Driver, app string, revision, n int) []runtime.Instance {
	t.Helper()
	var list []runtime.Instance
	eventually(t, fmt.Sprintf("%d running instances of %s/%d", n, app, revision), func() bool {
		list = d.RevisionInstances(app, revision)
		if len(list) != n {
			return false
		}
		for _, in := range list {
			if in.State != runtime.StateRunning {
				return false
			}
		}
		return true
	})
	return list
}

// get fetches a path from an instance, retrying until it answers.
func get(t *testing.T, addr, path string) *http.Response {
	t.Helper()
	var resp *http.Response
	eventually(t, "GET "+addr+path, func() bool {
		var err error
		resp, err = http.Get("http://" + addr + path)
		return err == nil
	})
	return resp
}

func envOf(t *testing.T, addr string) map[string]string {
	t.Helper()
	resp := get(t, addr, "/env")
	defer resp.Body.Close()
	env := map[string]string{}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env
}

// readPID polls for a PID file and returns the PID in it.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(b))
		return err == nil
	})
	return pid
}

// alive reports whether pid runs (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the command name in parentheses.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func waitDead(t *testing.T, what string, pid int) {
	t.Helper()
	eventually(t, what+" to die", func() bool { return !alive(pid) })
}

func TestEnsureStartsInstancesWithEnvironment(t *testing.T) {
	d, rec := startDriver(t, Config{})
	dir := t.TempDir()
	w := childWorkload("web", 3, 2, "GREETING=hi")
	w.Process.Dir = dir
	if err := d.Ensure(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	list := running(t, d, "web", 3, 2)
	if list[0].Address == list[1].Address {
		t.Fatalf("two instances share address %s", list[0].Address)
	}
	for _, in := range list {
		host, port, err := net.SplitHostPort(in.Address)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("address %q: want 127.0.0.1:PORT", in.Address)
		}
		env := envOf(t, in.Address)
		want := map[string]string{
			"PORT": port, "HOST": "127.0.0.1", "SLUICE_APP": "web", "SLUICE_REVISION": "3",
			"SLUICE_INSTANCE": in.ID, "GREETING": "hi", "_CWD": dir,
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("instance %s: %s=%q, want %q", in.ID, k, env[k], v)
			}
		}
		if env["PATH"] == "" {
			t.Errorf("instance %s: PATH not inherited from sluice's environment", in.ID)
		}
		if in.App != "web" || in.Revision != 3 || in.StartedAt.IsZero() || in.Restarts != 0 {
			t.Errorf("instance %+v: wrong fields", in)
		}
	}
	started := rec.waitEvents(t, runtime.EventStarted, 2)
	if len(started) != 2 {
		t.Errorf("got %d Started events, want 2", len(started))
	}
	if got := d.Instances("web"); len(got) != 2 {
		t.Errorf("Instances(web) = %d instances, want 2", len(got))
	}
	if got := d.Instances("other"); len(got) != 0 {
		t.Errorf("Instances(other) = %v, want none", got)
	}
}

func TestEnsureIsIdempotentAndScales(t *testing.T) {
	d, rec := startDriver(t, Config{})
	ctx := context.Background()
	w := childWorkload("web", 1, 3)
	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	three := running(t, d, "web", 1, 3)

	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	if again := running(t, d, "web", 1, 3); !slices.Equal(ids(again), ids(three)) {
		t.Fatalf("repeated Ensure changed instances: %v -> %v", ids(three), ids(again))
	}

	w.Replicas = 1
	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	one := running(t, d, "web", 1, 1)
	if !slices.Contains(ids(three), one[0].ID) {
		t.Fatalf("scale down kept %s, not one of %v", one[0].ID, ids(three))
	}
	if stopped := rec.waitEvents(t, runtime.EventStopped, 2); len(stopped) != 2 {
		t.Errorf("got %d Stopped events, want 2", len(stopped))
	}

	w.Replicas = 2
	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	two := running(t, d, "web", 1, 2)
	if !slices.Contains(ids(two), one[0].ID) {
		t.Fatalf("scale up replaced the running instance %s: %v", one[0].ID, ids(two))
	}
	for _, in := range two {
		resp := get(t, in.Address, "/env")
		resp.Body.Close()
	}
}

func ids(list []runtime.Instance) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.ID
	}
	slices.Sort(out)
	return out
}

func TestCrashedInstanceRestartsWithBackoff(t *testing.T) {
	backoff := Backoff{Initial: 100 * time.Millisecond, Max: 300 * time.Millisecond, ResetAfter: time.Hour}
	d, rec := startDriver(t, Config{Backoff: backoff})
	pidFile := filepath.Join(t.TempDir(), "pid")
	if err := d.Ensure(context.Background(), childWorkload("web", 1, 1, "PID_FILE="+pidFile)); err != nil {
		t.Fatal(err)
	}
	first := running(t, d, "web", 1, 1)[0]
	get(t, first.Address, "/env").Body.Close()

	wantWaits := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i, wantWait := range wantWaits {
		http.Get("http://" + first.Address + "/crash?code=3") // the process exits before answering

		crash := rec.waitEvents(t, runtime.EventCrashed, i+1)[i]
		if crash.Exit != "exit status 3" || crash.ExitCode != 3 {
			t.Errorf("crash %d: exit %q code %d, want exit status 3", i+1, crash.Exit, crash.ExitCode)
		}
		if crash.RestartIn != wantWait {
			t.Errorf("crash %d: restart in %v, want %v", i+1, crash.RestartIn, wantWait)
		}
		restart := rec.waitEvents(t, runtime.EventRestarted, i+1)[i]
		if gap := restart.At.Sub(crash.At); gap < wantWait {
			t.Errorf("restart %d came %v after the crash, before the %v backoff", i+1, gap, wantWait)
		}
		if restart.Instance.Restarts != i+1 || restart.Instance.LastExit != "exit status 3" {
			t.Errorf("restart %d: instance %+v", i+1, restart.Instance)
		}
		again := running(t, d, "web", 1, 1)[0]
		if again.ID != first.ID || again.Address != first.Address {
			t.Fatalf("restart changed the instance: %+v -> %+v", first, again)
		}
		get(t, again.Address, "/env").Body.Close()
	}

	// A process killed from outside is a crash too. The current process
	// wrote its PID before it started answering.
	pid := readPID(t, pidFile)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	crash := rec.waitEvents(t, runtime.EventCrashed, 4)[3]
	if crash.Exit != "signal: killed" || crash.ExitCode != -1 {
		t.Errorf("killed process: exit %q code %d, want signal: killed, -1", crash.Exit, crash.ExitCode)
	}
	rec.waitEvents(t, runtime.EventRestarted, 4)
}

func TestStopWaitsGraceThenKills(t *testing.T) {
	d, rec := startDriver(t, Config{})
	ctx := context.Background()
	const grace = 500 * time.Millisecond

	stubborn := childWorkload("stubborn", 1, 1, "IGNORE_TERM=1")
	stubborn.Process.StopGracePeriod = grace
	polite := childWorkload("polite", 1, 1)
	polite.Process.StopGracePeriod = time.Minute
	for _, w := range []runtime.Workload{stubborn, polite} {
		if err := d.Ensure(ctx, w); err != nil {
			t.Fatal(err)
		}
		get(t, running(t, d, w.App, 1, 1)[0].Address, "/env").Body.Close()
	}

	start := time.Now()
	if err := d.Stop(ctx, "stubborn", 1); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < grace {
		t.Errorf("a TERM-ignoring instance stopped after %v, before its %v grace", took, grace)
	}
	if ev := rec.waitEvents(t, runtime.EventStopped, 1)[0]; ev.Exit != "signal: killed" {
		t.Errorf("TERM-ignoring instance ended with %q, want signal: killed", ev.Exit)
	}
	if got := d.Instances("stubborn"); len(got) != 0 {
		t.Errorf("stopped revision still lists %v", got)
	}

	start = time.Now()
	if err := d.Stop(ctx, "polite", 1); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("an instance that honours SIGTERM took %v to stop", took)
	}
	if ev := rec.waitEvents(t, runtime.EventStopped, 2)[1]; ev.Exit != "signal: terminated" {
		t.Errorf("instance ended with %q, want signal: terminated", ev.Exit)
	}
	if err := d.Stop(ctx, "polite", 1); err != nil {
		t.Errorf("stopping a stopped revision: %v", err)
	}
}

func TestStopHonoursContext(t *testing.T) {
	d, _ := startDriver(t, Config{})
	w := childWorkload("stubborn", 1, 1, "IGNORE_TERM=1")
	w.Process.StopGracePeriod = time.Second
	if err := d.Ensure(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	get(t, running(t, d, "stubborn", 1, 1)[0].Address, "/env").Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Stop(ctx, "stubborn", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a short deadline = %v, want deadline exceeded", err)
	}
	eventually(t, "the instance to finish stopping", func() bool { return len(d.Instances("stubborn")) == 0 })
}

func TestGrandchildrenDieWithTheGroup(t *testing.T) {
	for _, how := range []string{"stop", "crash"} {
		t.Run(how, func(t *testing.T) {
			d, rec := startDriver(t, Config{Backoff: Backoff{Initial: time.Hour}})
			pidFile := filepath.Join(t.TempDir(), "grandchild")
			if err := d.Ensure(context.Background(), childWorkload("web", 1, 1, "GRANDCHILD_PID_FILE="+pidFile)); err != nil {
				t.Fatal(err)
			}
			in := running(t, d, "web", 1, 1)[0]
			grandchild := readPID(t, pidFile)
			if !alive(grandchild) {
				t.Fatal("grandchild not running")
			}
			if how == "stop" {
				if err := d.Stop(context.Background(), "web", 1); err != nil {
					t.Fatal(err)
				}
			} else {
				get(t, in.Address, "/env").Body.Close()
				http.Get("http://" + in.Address + "/crash?code=1")
				rec.waitEvents(t, runtime.EventCrashed, 1)
			}
			waitDead(t, "grandchild", grandchild)
		})
	}
}

func TestRunEndStopsEveryInstance(t *testing.T) {
	d, err := New(Config{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// Ensure before Run: the instances start once Run runs.
	for i, app := range []string{"a", "b"} {
		w := childWorkload(app, i+1, 2, "PID_FILE="+filepath.Join(dir, app), "IGNORE_TERM=1")
		w.Process.StopGracePeriod = 200 * time.Millisecond
		if err := d.Ensure(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	pids := []int{readPID(t, filepath.Join(dir, "a")), readPID(t, filepath.Join(dir, "b"))}
	running(t, d, "a", 1, 2)
	running(t, d, "b", 2, 2)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d outlived Run", pid)
		}
	}
	if got := d.Instances(""); len(got) != 0 {
		t.Errorf("instances after Run: %v", got)
	}
	if err := d.Ensure(context.Background(), childWorkload("a", 1, 1)); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Ensure after Run = %v, want ErrClosed", err)
	}
}

func TestChildrenDieWhenSluiceIsKilled(t *testing.T) {
	if !fileExists("/proc/self/stat") {
		t.Skip("needs Linux: the parent-death signal")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	cmd := startSelf(t, "driver", "LOG_DIR="+filepath.Join(dir, "logs"), "PID_FILE="+pidFile)
	child := readPID(t, pidFile)
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) }) // should it survive
	if !alive(child) {
		t.Fatal("child not running")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitDead(t, "child of a killed driver", child)
}

func TestEnsureRejectsInvalidWorkloads(t *testing.T) {
	d, _ := startDriver(t, Config{})
	base := childWorkload("web", 1, 1)
	tests := []struct {
		name   string
		mutate func(w *runtime.Workload)
	}{
		{"no process section", func(w *runtime.Workload) { w.Process = nil }},
		{"empty command", func(w *runtime.Workload) { w.Process.Command = nil }},
		{"unknown program", func(w *runtime.Workload) { w.Process.Command = []string{"no-such-program-sluice"} }},
		{"missing file", func(w *runtime.Workload) { w.Process.Command = []string{"./no-such-file"} }},
		{"missing dir", func(w *runtime.Workload) { w.Process.Dir = "/no/such/dir" }},
		{"bad app name", func(w *runtime.Workload) { w.App = "../etc" }},
		{"revision zero", func(w *runtime.Workload) { w.Revision = 0 }},
		{"negative replicas", func(w *runtime.Workload) { w.Replicas = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := base
			p := cloneProcess(*base.Process)
			w.Process = &p
			tt.mutate(&w)
			if err := d.Ensure(context.Background(), w); !errors.Is(err, runtime.ErrInvalidWorkload) {
				t.Errorf("Ensure = %v, want ErrInvalidWorkload", err)
			}
		})
	}
	if got := d.Instances(""); len(got) != 0 {
		t.Errorf("invalid workloads started %v", got)
	}
}
