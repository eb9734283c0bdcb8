package static

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// Config configures a Driver.
type Config struct {
	// OnEvent receives a Started event for each address added to a
	// revision and a Stopped event for each one removed; nil drops them.
	OnEvent runtime.EventFunc
	// Now tells the time for instance start times and events. Default
	// time.Now.
	Now func() time.Time
}

// Driver records the addresses of each revision and reports them as
// instances. It is safe for concurrent use and needs no Run.
type Driver struct {
	cfg Config

	mu        sync.Mutex
	revisions map[revisionKey][]runtime.Instance
}

type revisionKey struct {
	app      string
	revision int
}

// New returns an empty Driver.
func New(cfg Config) *Driver {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{cfg: cfg, revisions: make(map[revisionKey][]runtime.Instance)}
}

// Ensure records w.Static.Addresses as the instances of the revision,
// replacing what was recorded before; w.Replicas is ignored. Addresses kept
// from before keep their start time. It fails with an error wrapping
// runtime.ErrInvalidWorkload when w has no static section, or an address is
// not a valid, unique "host:port".
func (d *Driver) Ensure(ctx context.Context, w runtime.Workload) error {
	if err := validate(w); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ensure %s revision %d: %w", w.App, w.Revision, err)
	}
	now := d.cfg.Now()
	key := revisionKey{w.App, w.Revision}

	d.mu.Lock()
	before := d.revisions[key]
	after := make([]runtime.Instance, 0, len(w.Static.Addresses))
	var events []runtime.Event
	for _, addr := range w.Static.Addresses {
		if i := indexOf(before, addr); i >= 0 {
			after = append(after, before[i])
			continue
		}
		in := runtime.Instance{
			ID:        instanceID(w.App, w.Revision, addr),
			App:       w.App,
			Revision:  w.Revision,
			Address:   addr,
			State:     runtime.StateRunning,
			StartedAt: now,
		}
		after = append(after, in)
		events = append(events, runtime.Event{Kind: runtime.EventStarted, Instance: in, At: now})
	}
	for _, in := range before {
		if indexOf(after, in.Address) < 0 {
			events = append(events, stopped(in, now))
		}
	}
	d.revisions[key] = after
	d.mu.Unlock()

	d.emit(events)
	return nil
}

// Stop forgets the revision's addresses. Stopping a revision the driver
// does not know is not an error.
func (d *Driver) Stop(ctx context.Context, app string, revision int) error {
	now := d.cfg.Now()
	key := revisionKey{app, revision}
	d.mu.Lock()
	gone := d.revisions[key]
	delete(d.revisions, key)
	d.mu.Unlock()

	events := make([]runtime.Event, 0, len(gone))
	for _, in := range gone {
		events = append(events, stopped(in, now))
	}
	d.emit(events)
	return nil
}

// Instances returns the instances of app, or of every app when app is
// empty, ordered by revision and ID.
func (d *Driver) Instances(app string) []runtime.Instance {
	return d.list(func(k revisionKey) bool { return app == "" || k.app == app })
}

// RevisionInstances returns the instances of one revision of app, ordered
// by ID.
func (d *Driver) RevisionInstances(app string, revision int) []runtime.Instance {
	return d.list(func(k revisionKey) bool { return k == revisionKey{app, revision} })
}

func (d *Driver) list(keep func(revisionKey) bool) []runtime.Instance {
	d.mu.Lock()
	var out []runtime.Instance
	for k, list := range d.revisions {
		if keep(k) {
			out = append(out, list...)
		}
	}
	d.mu.Unlock()
	runtime.SortInstances(out)
	return out
}

func (d *Driver) emit(events []runtime.Event) {
	if d.cfg.OnEvent == nil {
		return
	}
	for _, ev := range events {
		d.cfg.OnEvent(ev)
	}
}

func stopped(in runtime.Instance, now time.Time) runtime.Event {
	in.State = runtime.StateStopping
	return runtime.Event{Kind: runtime.EventStopped, Instance: in, At: now}
}

func indexOf(list []runtime.Instance, addr string) int {
	return slices.IndexFunc(list, func(in runtime.Instance) bool { return in.Address == addr })
}

// instanceID names the instance at addr, e.g. "hello-2-10.0.0.5:8080".
func instanceID(app string, revision int, addr string) string {
	return app + "-" + strconv.Itoa(revision) + "-" + addr
}

// validate checks that w has a usable static section.
func validate(w runtime.Workload) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if w.Static == nil {
		return fmt.Errorf("%w: app %q revision %d: no static section", runtime.ErrInvalidWorkload, w.App, w.Revision)
	}
	seen := make(map[string]bool, len(w.Static.Addresses))
	for i, addr := range w.Static.Addresses {
		if err := checkAddress(addr); err != nil {
			return fmt.Errorf("%w: app %q revision %d: addresses[%d]: %w", runtime.ErrInvalidWorkload, w.App, w.Revision, i, err)
		}
		if seen[addr] {
			return fmt.Errorf("%w: app %q revision %d: addresses[%d]: %q is listed twice", runtime.ErrInvalidWorkload, w.App, w.Revision, i, addr)
		}
		seen[addr] = true
	}
	return nil
}

// checkAddress accepts "host:port" with a non-empty host and a port from 1
// to 65535.
func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q: host is empty", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 1 to 65535", addr)
	}
	return nil
}
