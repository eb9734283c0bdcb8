package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const waitTimeout = 10 * time.Second

// flipServer is a real HTTP server whose /health answers as its mode says:
// "ok" (200), "fail" (503), "hang" (never answers until the client gives
// up), or any number, answered as that status code.
type flipServer struct {
	*httptest.Server
	mode     atomic.Value
	requests atomic.Int64
}

func newFlipServer(t *testing.T, mode string) *flipServer {
	s := &flipServer{}
	s.mode.Store(mode)
	release := make(chan struct{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		switch m := s.mode.Load().(string); m {
		case "ok":
			w.WriteHeader(http.StatusOK)
		case "fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
			var code int
			fmt.Sscan(m, &code)
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(func() {
		close(release)
		s.Close()
	})
	return s
}

func (s *flipServer) set(mode string) { s.mode.Store(mode) }

func (s *flipServer) addr() string { return strings.TrimPrefix(s.URL, "http://") }

// transitions collects a checker's transitions.
type transitions struct {
	mu   sync.Mutex
	list []Transition
}

func (tr *transitions) record(t Transition) {
	tr.mu.Lock()
	tr.list = append(tr.list, t)
	tr.mu.Unlock()
}

// wait polls until the n-th transition (1-based) arrived and returns it.
func (tr *transitions) wait(t *testing.T, n int) Transition {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		tr.mu.Lock()
		if len(tr.list) >= n {
			got := tr.list[n-1]
			tr.mu.Unlock()
			return got
		}
		tr.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for transition %d", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runChecker runs a checker until the test ends.
func runChecker(t *testing.T) (*Checker, *transitions) {
	t.Helper()
	tr := &transitions{}
	c := NewChecker(Config{OnTransition: tr.record})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Error("Run did not return")
		}
	})
	return c, tr
}

func target(id, addr string) Target {
	return Target{
		ID: id, Address: addr, Path: "/health",
		Interval: 30 * time.Millisecond, Timeout: 30 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 3,
	}
}

func expect(t *testing.T, got Transition, from, to Status, reason string) {
	t.Helper()
	if got.From != from || got.To != to || got.Reason != reason {
		t.Errorf("transition %s -> %s (%q), want %s -> %s (%q)", got.From, got.To, got.Reason, from, to, reason)
	}
}

func TestCheckerFollowsAnInstanceThroughFailures(t *testing.T) {
	srv := newFlipServer(t, "ok")
	c, tr := runChecker(t)
	if err := c.SetTargets([]Target{target("web-1", srv.addr())}); err != nil {
		t.Fatal(err)
	}
	if c.Ready("web-1") {
		t.Error("a new instance is ready before any check")
	}

	expect(t, tr.wait(t, 1), StatusUnknown, StatusHealthy, "GET /health: 200")
	if !c.Ready("web-1") {
		t.Error("healthy instance not ready")
	}

	srv.set("fail")
	expect(t, tr.wait(t, 2), StatusHealthy, StatusUnhealthy, "GET /health: 503")
	r, ok := c.Report("web-1")
	if !ok || r.State.Failures != 3 || r.LastChange.IsZero() || r.Target.Address != srv.addr() {
		t.Errorf("report after failing: %+v", r)
	}

	srv.set("ok")
	expect(t, tr.wait(t, 3), StatusUnhealthy, StatusHealthy, "GET /health: 200")

	srv.set("hang")
	start := time.Now()
	expect(t, tr.wait(t, 4), StatusHealthy, StatusUnhealthy, "GET /health: timeout after 30ms")
	// Three timeouts in a row, each cut at 30ms, not an endless wait.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("hung endpoint took %v to be marked unhealthy", took)
	}
}

func TestCheckerReasons(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		mode   string
		tweak  func(*Target)
		to     Status
		reason string
	}{
		{"service unavailable", "fail", nil, StatusUnhealthy, "GET /health: 503"},
		{"redirect passes unfollowed", "302", nil, StatusHealthy, "GET /health: 302"},
		{"not found fails", "404", nil, StatusUnhealthy, "GET /health: 404"},
		{"custom codes", "404", func(tg *Target) { tg.StatusCodes = []StatusRange{{404, 404}} }, StatusHealthy, "GET /health: 404"},
		{"custom codes exclude 200", "ok", func(tg *Target) { tg.StatusCodes = []StatusRange{{204, 204}} }, StatusUnhealthy, "GET /health: 200"},
		{"wrong path", "ok", func(tg *Target) { tg.Path = "/nope" }, StatusUnhealthy, "GET /nope: 404"},
		{"nothing listening", "ok", func(tg *Target) { tg.Address = refused }, StatusUnhealthy, "GET /health: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFlipServer(t, tt.mode)
			c, tr := runChecker(t)
			tg := target("x", srv.addr())
			if tt.tweak != nil {
				tt.tweak(&tg)
			}
			if err := c.SetTargets([]Target{tg}); err != nil {
				t.Fatal(err)
			}
			expect(t, tr.wait(t, 1), StatusUnknown, tt.to, tt.reason)
		})
	}
}

func TestCheckerTargetsComeAndGo(t *testing.T) {
	a, b := newFlipServer(t, "ok"), newFlipServer(t, "ok")
	// Targets set before Run are probed once it runs.
	tr := &transitions{}
	c := NewChecker(Config{OnTransition: tr.record})
	if err := c.SetTargets([]Target{target("a", a.addr())}); err != nil {
		t.Fatal(err)
	}
	if r, ok := c.Report("a"); !ok || r.State.Status != StatusUnknown {
		t.Fatalf("report before Run: %+v, %v", r, ok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	tr.wait(t, 1)

	// Adding b keeps a's state; slower checks of a keep it healthy.
	slowA := target("a", a.addr())
	slowA.Interval = time.Hour
	if err := c.SetTargets([]Target{slowA, target("b", b.addr())}); err != nil {
		t.Fatal(err)
	}
	second := tr.wait(t, 2)
	expect(t, second, StatusUnknown, StatusHealthy, "GET /health: 200")
	if got := second.Target.ID; got != "b" {
		t.Errorf("second transition is of %s, want b", got)
	}
	if !c.Ready("a") || !c.Ready("b") {
		t.Error("a and b should both be ready")
	}
	if r, _ := c.Report("a"); r.Target.Interval != time.Hour {
		t.Errorf("a's interval = %v, want the new 1h", r.Target.Interval)
	}

	// Removing b stops its probes.
	if err := c.SetTargets([]Target{slowA}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Report("b"); ok {
		t.Error("b still reported after it left the set")
	}
	if c.Ready("b") {
		t.Error("a target that left the set is ready")
	}
	settled := b.requests.Load()
	time.Sleep(10 * 30 * time.Millisecond) // ten of b's intervals: proving an absence needs some time
	if n := b.requests.Load(); n > settled+1 {
		t.Errorf("b got %d more checks after it left the set", n-settled)
	}

	// A new address under the same ID starts over as Unknown.
	moved := target("a", b.addr())
	if err := c.SetTargets([]Target{moved}); err != nil {
		t.Fatal(err)
	}
	// Had it kept its Healthy state, there would be no transition.
	expect(t, tr.wait(t, 3), StatusUnknown, StatusHealthy, "GET /health: 200")

	if got := c.Reports(); len(got) != 1 || got[0].Target.ID != "a" {
		t.Errorf("Reports() = %+v", got)
	}
}

func TestCheckerRunEndsWhileAProbeHangs(t *testing.T) {
	srv := newFlipServer(t, "hang")
	c := NewChecker(Config{})
	tg := target("x", srv.addr())
	tg.Timeout, tg.Interval = time.Minute, time.Minute
	if err := c.SetTargets([]Target{tg}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(waitTimeout)
	for srv.requests.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no probe arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return while a probe hung")
	}
	if r, _ := c.Report("x"); r.State.Status != StatusUnknown || !r.LastCheck.IsZero() {
		t.Errorf("an interrupted probe changed the report: %+v", r)
	}
}

func TestSetTargetsRejectsInvalidTargets(t *testing.T) {
	c := NewChecker(Config{})
	good := target("a", "127.0.0.1:1")
	if err := c.SetTargets([]Target{good}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		set  []Target
	}{
		{"no id", []Target{{Address: "127.0.0.1:1"}}},
		{"no port", []Target{{ID: "x", Address: "127.0.0.1"}}},
		{"relative path", []Target{{ID: "x", Address: "127.0.0.1:1", Path: "health"}}},
		{"duplicate id", []Target{good, good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.SetTargets(tt.set); !errors.Is(err, ErrInvalidTarget) {
				t.Errorf("SetTargets = %v, want ErrInvalidTarget", err)
			}
		})
	}
	if got := c.Reports(); len(got) != 1 || got[0].Target.ID != "a" {
		t.Errorf("a rejected set changed the targets: %+v", got)
	}
	if r, _ := c.Report("a"); r.Target.Path != "/health" || r.Target.UnhealthyThreshold != 3 {
		t.Errorf("target = %+v", r.Target)
	}
	defaults := Target{ID: "d", Address: "127.0.0.1:1"}.withDefaults()
	if defaults.Path != "/" || defaults.Interval != 2*time.Second || defaults.Timeout != time.Second ||
		defaults.HealthyThreshold != 1 || defaults.UnhealthyThreshold != 3 || len(defaults.StatusCodes) != 1 {
		t.Errorf("defaults = %+v", defaults)
	}
}
