package process

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// hooks records the calls of Config.BeforeStop and holds each one until
// the test lets it return (release) or its context ends.
type hooks struct {
	mu      sync.Mutex
	calls   []runtime.Instance
	ended   map[string]error // instance ID → why its call returned: nil released, else ctx's error
	release chan struct{}
}

func newHooks() *hooks {
	return &hooks{ended: map[string]error{}, release: make(chan struct{})}
}

func (h *hooks) beforeStop(ctx context.Context, in runtime.Instance) {
	h.mu.Lock()
	h.calls = append(h.calls, in)
	h.mu.Unlock()
	var err error
	select {
	case <-h.release:
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.mu.Lock()
	h.ended[in.ID] = err
	h.mu.Unlock()
}

func (h *hooks) called() []runtime.Instance {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// endedWith reports whether the call for id returned, and with what.
func (h *hooks) endedWith(id string) (error, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	err, ok := h.ended[id]
	return err, ok
}

// answers reports whether an instance's process serves.
func answers(addr string) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/env")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestScaleDownCallsBeforeStopBeforeTheSignal(t *testing.T) {
	h := newHooks()
	d, rec := startDriver(t, Config{BeforeStop: h.beforeStop})
	ctx := context.Background()
	w := childWorkload("web", 1, 3)
	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	three := running(t, d, "web", 1, 3)
	for _, in := range three {
		get(t, in.Address, "/env").Body.Close()
	}

	w.Replicas = 1
	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	// Ensure marks the victims Stopping before it returns.
	var victims []runtime.Instance
	for _, in := range d.RevisionInstances("web", 1) {
		if in.State == runtime.StateStopping {
			victims = append(victims, in)
		}
	}
	if len(victims) != 2 {
		t.Fatalf("after scaling to 1: %+v, want 2 instances Stopping", d.RevisionInstances("web", 1))
	}
	eventually(t, "BeforeStop for both victims", func() bool { return len(h.called()) == 2 })
	if got, want := ids(h.called()), ids(victims); !slices.Equal(got, want) {
		t.Fatalf("BeforeStop called for %v, want the victims %v", got, want)
	}
	for _, in := range h.called() {
		if in.State != runtime.StateStopping || in.App != "web" || in.Revision != 1 || in.Address == "" {
			t.Errorf("BeforeStop got %+v", in)
		}
	}

	// While BeforeStop runs, the victims are not signalled: they serve.
	for _, in := range victims {
		if !answers(in.Address) {
			t.Fatalf("victim %s does not answer while BeforeStop runs", in.ID)
		}
	}
	if n := len(rec.of(runtime.EventStopped)); n != 0 {
		t.Fatalf("%d instances stopped before BeforeStop returned", n)
	}

	// Scaling up meanwhile starts new instances: draining ones do not count.
	w.Replicas = 2
	if err := d.Ensure(ctx, w); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new instance beside the draining ones", func() bool {
		run := 0
		for _, in := range d.RevisionInstances("web", 1) {
			if in.State == runtime.StateRunning {
				run++
				if slices.ContainsFunc(victims, func(v runtime.Instance) bool { return v.ID == in.ID }) {
					t.Fatalf("victim %s is Running again", in.ID)
				}
			}
		}
		return run == 2
	})
	if len(d.RevisionInstances("web", 1)) != 4 {
		t.Fatalf("instances %+v, want 2 running and 2 stopping", d.RevisionInstances("web", 1))
	}

	close(h.release)
	stopped := rec.waitEvents(t, runtime.EventStopped, 2)
	for _, ev := range stopped {
		if !slices.ContainsFunc(victims, func(v runtime.Instance) bool { return v.ID == ev.Instance.ID }) {
			t.Errorf("stopped %s, not a victim", ev.Instance.ID)
		}
		if ev.Exit != "signal: terminated" {
			t.Errorf("victim %s ended with %q, want signal: terminated", ev.Instance.ID, ev.Exit)
		}
		if err, ok := h.endedWith(ev.Instance.ID); !ok || err != nil {
			t.Errorf("victim %s: BeforeStop ended with %v (returned: %v) before the stop", ev.Instance.ID, err, ok)
		}
	}
	running(t, d, "web", 1, 2)
}

func TestBeforeStopEndsWhenTheInstanceMustStopAtOnce(t *testing.T) {
	for _, how := range []string{"revision stopped", "process crashed", "driver stopped"} {
		t.Run(how, func(t *testing.T) {
			h := newHooks()
			d, err := New(Config{LogDir: t.TempDir(), BeforeStop: h.beforeStop, Backoff: Backoff{Initial: 10 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			d.cfg.OnEvent = rec.record
			runCtx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(runCtx) }()
			t.Cleanup(func() { cancel(); <-done })

			w := childWorkload("web", 1, 2)
			if err := d.Ensure(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			for _, in := range running(t, d, "web", 1, 2) {
				get(t, in.Address, "/env").Body.Close()
			}
			w.Replicas = 1
			if err := d.Ensure(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			eventually(t, "BeforeStop for the victim", func() bool { return len(h.called()) == 1 })
			victim := h.called()[0]

			switch how {
			case "revision stopped":
				stopCtx, stopCancel := context.WithTimeout(context.Background(), waitTimeout)
				defer stopCancel()
				if err := d.Stop(stopCtx, "web", 1); err != nil {
					t.Fatalf("Stop while BeforeStop runs: %v", err)
				}
			case "process crashed":
				http.Get("http://" + victim.Address + "/crash?code=4")
			case "driver stopped":
				cancel()
				select {
				case <-done:
					done <- nil // for the cleanup
				case <-time.After(waitTimeout):
					t.Fatal("Run did not return while BeforeStop ran")
				}
			}
			eventually(t, "BeforeStop to return", func() bool {
				err, ok := h.endedWith(victim.ID)
				return ok && err != nil
			})
			var ev runtime.Event
			eventually(t, "the victim's Stopped event", func() bool {
				i := slices.IndexFunc(rec.of(runtime.EventStopped), func(ev runtime.Event) bool { return ev.Instance.ID == victim.ID })
				if i >= 0 {
					ev = rec.of(runtime.EventStopped)[i]
				}
				return i >= 0
			})
			if how == "process crashed" {
				if ev.Exit != "exit status 4" {
					t.Errorf("a victim that crashed while draining ended with %q", ev.Exit)
				}
				if n := len(rec.of(runtime.EventCrashed)) + len(rec.of(runtime.EventRestarted)); n != 0 {
					t.Errorf("a victim that crashed while draining was reported %d times as crashed or restarted", n)
				}
				eventually(t, "the victim is gone", func() bool {
					return !slices.ContainsFunc(d.RevisionInstances("web", 1), func(in runtime.Instance) bool { return in.ID == victim.ID })
				})
				running(t, d, "web", 1, 1)
			}
		})
	}
}

func TestScaleDownStopsInstancesWithoutAProcessAtOnce(t *testing.T) {
	h := newHooks()
	d, rec := startDriver(t, Config{BeforeStop: h.beforeStop, Backoff: Backoff{Initial: time.Hour}})
	w := childWorkload("web", 1, 2)
	if err := d.Ensure(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	list := running(t, d, "web", 1, 2)
	get(t, list[0].Address, "/env").Body.Close()
	http.Get("http://" + list[0].Address + "/crash?code=1")
	rec.waitEvents(t, runtime.EventCrashed, 1) // it waits an hour to restart

	w.Replicas = 1
	if err := d.Ensure(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	ev := rec.waitEvents(t, runtime.EventStopped, 1)[0]
	if ev.Instance.ID != list[0].ID {
		t.Fatalf("stopped %s, want the crashed %s", ev.Instance.ID, list[0].ID)
	}
	if n := len(h.called()); n != 0 {
		t.Fatalf("BeforeStop called %d times for an instance without a process", n)
	}
	running(t, d, "web", 1, 1)
}

// Scaling down stops an instance that is not ready before the ready ones,
// even when it is the oldest.
func TestScaleDownStopsAnInstanceThatIsNotReadyFirst(t *testing.T) {
	var mu sync.Mutex
	notReady := ""
	ready := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return id != notReady
	}
	d, rec := startDriver(t, Config{Ready: ready})
	w := childWorkload("web", 1, 3)
	if err := d.Ensure(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	list := running(t, d, "web", 1, 3)
	mu.Lock()
	notReady = list[0].ID // the oldest; without Ready the newest would go
	mu.Unlock()

	w.Replicas = 2
	if err := d.Ensure(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	ev := rec.waitEvents(t, runtime.EventStopped, 1)[0]
	if ev.Instance.ID != list[0].ID {
		t.Fatalf("stopped %s, want %s, which is not ready", ev.Instance.ID, list[0].ID)
	}
	left := running(t, d, "web", 1, 2)
	for _, in := range left {
		if in.ID == list[0].ID {
			t.Fatalf("the instance that is not ready still runs: %v", left)
		}
	}
}
