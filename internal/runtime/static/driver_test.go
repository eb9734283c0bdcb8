package static

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

type recorder struct {
	mu     sync.Mutex
	events []runtime.Event
}

func (r *recorder) record(ev runtime.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// take returns the events recorded since the last call, as "Kind address".
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, fmt.Sprintf("%s %s", ev.Kind, ev.Instance.Address))
	}
	r.events = nil
	return out
}

func workload(app string, revision int, addrs ...string) runtime.Workload {
	return runtime.Workload{App: app, Revision: revision, Static: &runtime.Static{Addresses: addrs}}
}

func addresses(list []runtime.Instance) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.Address
	}
	return out
}

func equal(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestEnsureRecordsAddressesAsInstances(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &recorder{}
	d := New(Config{OnEvent: rec.record, Now: func() time.Time { return now }})
	ctx := context.Background()

	steps := []struct {
		name       string
		do         func() error
		wantRev1   []string
		wantEvents []string
	}{
		{
			name:       "first addresses start",
			do:         func() error { return d.Ensure(ctx, workload("web", 1, "10.0.0.2:80", "10.0.0.1:80")) },
			wantRev1:   []string{"10.0.0.1:80", "10.0.0.2:80"},
			wantEvents: []string{"Started 10.0.0.2:80", "Started 10.0.0.1:80"},
		},
		{
			name:     "same addresses change nothing",
			do:       func() error { return d.Ensure(ctx, workload("web", 1, "10.0.0.1:80", "10.0.0.2:80")) },
			wantRev1: []string{"10.0.0.1:80", "10.0.0.2:80"},
		},
		{
			name:       "replacing one address stops it and starts the new one",
			do:         func() error { return d.Ensure(ctx, workload("web", 1, "10.0.0.1:80", "[::1]:8080")) },
			wantRev1:   []string{"10.0.0.1:80", "[::1]:8080"},
			wantEvents: []string{"Started [::1]:8080", "Stopped 10.0.0.2:80"},
		},
		{
			name:       "another revision is separate",
			do:         func() error { return d.Ensure(ctx, workload("web", 2, "10.0.0.9:80")) },
			wantRev1:   []string{"10.0.0.1:80", "[::1]:8080"},
			wantEvents: []string{"Started 10.0.0.9:80"},
		},
		{
			name:       "stop forgets the revision",
			do:         func() error { return d.Stop(ctx, "web", 1) },
			wantEvents: []string{"Stopped 10.0.0.1:80", "Stopped [::1]:8080"},
		},
		{
			name: "stopping an unknown revision is fine",
			do:   func() error { return d.Stop(ctx, "web", 7) },
		},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := addresses(d.RevisionInstances("web", 1)); !equal(got, step.wantRev1) {
			t.Errorf("%s: revision 1 = %v, want %v", step.name, got, step.wantRev1)
		}
		if got := rec.take(); !equal(got, step.wantEvents) {
			t.Errorf("%s: events %v, want %v", step.name, got, step.wantEvents)
		}
	}

	list := d.Instances("web")
	if len(list) != 1 {
		t.Fatalf("Instances(web) = %v, want revision 2's one", list)
	}
	want := runtime.Instance{ID: "web-2-10.0.0.9:80", App: "web", Revision: 2, Address: "10.0.0.9:80", State: runtime.StateRunning, StartedAt: now}
	if list[0] != want {
		t.Errorf("instance = %+v, want %+v", list[0], want)
	}
	if got := d.Instances("api"); len(got) != 0 {
		t.Errorf("Instances(api) = %v", got)
	}
}

func TestEnsureKeepsStartTimeOfKeptAddresses(t *testing.T) {
	now := time.Unix(1000, 0)
	d := New(Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	if err := d.Ensure(ctx, workload("web", 1, "a:1")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := d.Ensure(ctx, workload("web", 1, "a:1", "b:2")); err != nil {
		t.Fatal(err)
	}
	list := d.RevisionInstances("web", 1)
	if !list[0].StartedAt.Equal(time.Unix(1000, 0)) || !list[1].StartedAt.Equal(now) {
		t.Errorf("start times %v, %v", list[0].StartedAt, list[1].StartedAt)
	}
}

func TestEnsureRejectsInvalidWorkloads(t *testing.T) {
	tests := []struct {
		name string
		w    runtime.Workload
	}{
		{"no static section", runtime.Workload{App: "web", Revision: 1}},
		{"no port", workload("web", 1, "10.0.0.1")},
		{"empty host", workload("web", 1, ":80")},
		{"port zero", workload("web", 1, "h:0")},
		{"port too big", workload("web", 1, "h:70000")},
		{"named port", workload("web", 1, "h:http")},
		{"duplicate", workload("web", 1, "h:1", "h:1")},
		{"no app", workload("", 1, "h:1")},
		{"revision zero", workload("web", 0, "h:1")},
	}
	d := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.Ensure(context.Background(), tt.w); !errors.Is(err, runtime.ErrInvalidWorkload) {
				t.Errorf("Ensure = %v, want ErrInvalidWorkload", err)
			}
		})
	}
	if got := d.Instances(""); len(got) != 0 {
		t.Errorf("invalid workloads recorded %v", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	d := New(Config{OnEvent: func(runtime.Event) {}})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				addr := fmt.Sprintf("10.0.%d.%d:80", i, j%5)
				d.Ensure(ctx, workload("web", i%3+1, addr))
				d.Instances("web")
				if j%7 == 0 {
					d.Stop(ctx, "web", i%3+1)
				}
			}
		})
	}
	wg.Wait()
	for _, in := range d.Instances("") {
		if in.State != runtime.StateRunning {
			t.Errorf("instance %+v not running", in)
		}
	}
}
