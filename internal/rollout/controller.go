package rollout

import (
	"context"
	"crypto/tls"
	"errors"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// DefaultResync is how often the controller looks at every app when
// nothing wakes it sooner.
const DefaultResync = 5 * time.Second

// Store is what the controller needs of the resources: the apps, their
// revisions, status updates with their events, and change notices.
// *resources.Service satisfies it.
type Store interface {
	List(ctx context.Context, kind string) ([]store.Object, error)
	Revisions(ctx context.Context, app string) ([]store.Revision, error)
	UpdateStatus(ctx context.Context, kind, name string, fn resources.StatusFunc) (store.Object, error)
	Record(ctx context.Context, e store.Event) error
	Changed() <-chan struct{}
}

// Runner runs the instances of revisions: the process and static drivers
// satisfy it.
type Runner interface {
	Ensure(ctx context.Context, w runtime.Workload) error
	Stop(ctx context.Context, app string, revision int) error
	Instances(app string) []runtime.Instance
}

// Router serves apps' route tables: *proxy.Server satisfies it.
type Router interface {
	Apply(t *proxy.Table) error
	Remove(ctx context.Context, app string) error
	Drain(ctx context.Context, app, id string) error
}

// HealthWatcher checks instances: *health.Checker satisfies it.
type HealthWatcher interface {
	SetTargets(targets []health.Target) error
	Report(id string) (health.Report, bool)
}

// SecretResolver reads the value of one key of a stored secret, for
// `valueFrom.secret` environment variables: of the given version, or of
// the newest when version is 0. *secrets.Service satisfies it.
type SecretResolver interface {
	ResolveVersion(ctx context.Context, path string, version int64, key string) (string, error)
}

// Options wires a Controller to the rest of sluice.
type Options struct {
	// Store holds apps, revisions and events. Required.
	Store Store
	// Process runs process revisions; nil makes them unrunnable.
	Process Runner
	// Static runs static revisions; nil makes them unrunnable.
	Static Runner
	// Router serves the apps' listeners. Required.
	Router Router
	// Health checks instances. Required.
	Health HealthWatcher
	// Secrets resolves secret references in env; nil: apps that use them
	// cannot run (ErrNoSecrets).
	Secrets SecretResolver
	// Provider takes analysis measurements (providers.Set); nil: analysis
	// runs never measure, so they end Inconclusive or wait forever.
	Provider analysis.Provider
	// Measurements stores the measurements taken; nil keeps them in
	// memory only.
	Measurements Measurements
	// Counters reads the candidate's blast radius; nil: not reported.
	Counters Counters
	// TLS returns the TLS configuration serving an app's spec.tls
	// certificate pair (the same one for the same pair, so that tables
	// compare equal); nil: apps with spec.tls are not served (their
	// listeners fail with a RouteFailed event).
	TLS func(certFile, keyFile string) (*tls.Config, error)
	// TracerProvider makes a span for each reconcile pass that moves a
	// rollout and each round of analysis measurements; nil: no tracing.
	TracerProvider trace.TracerProvider
	// Logger receives what goes wrong; nil discards it.
	Logger *slog.Logger
	// Now tells the time; default time.Now.
	Now func() time.Time
	// Resync is how often every app is looked at without a reason.
	// Default DefaultResync (5s).
	Resync time.Duration
}

// Controller carries out rollouts: for every app it observes, plans (see
// Plan), persists the status, and acts. Create it with New and run it
// with Run; pass RuntimeEvent to the drivers, BeforeStop to the process
// driver and HealthTransition to the health checker so that it wakes when
// instances change and drains the instances a driver scales away.
type Controller struct {
	opts    Options
	log     *slog.Logger
	kick    chan struct{}      // wakes the loop; capacity 1
	ping    chan chan struct{} // readiness probes of the loop
	closing chan struct{}      // closed when the loop has ended
	events  *eventQueue

	// Touched by the loop only.
	apps        map[string]*appState
	lastTargets []health.Target // as last handed to the checker

	mu        sync.Mutex
	stopping  map[revKey]bool          // revisions being drained and stopped
	removing  map[string]bool          // proxy apps being removed
	listenErr map[string]string        // proxy app → why its listener is not bound
	owners    map[string]revKey        // instance ID → its app and revision
	targets   map[string][]target      // app → its health targets
	leaving   map[string]*leaving      // instance ID → scaled away, waiting to leave the tables
	drains    map[string]time.Duration // app → its drain timeout
	running   bool
	work      sync.WaitGroup // stoppers and removals
}

// revKey names one revision of one app.
type revKey struct {
	app      string
	revision int
}

// New returns a Controller; it does nothing until Run.
func New(opts Options) (*Controller, error) {
	if opts.Store == nil || opts.Router == nil || opts.Health == nil {
		return nil, errors.New("rollout controller: Store, Router and Health are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	return &Controller{
		opts:      opts,
		log:       opts.Logger,
		kick:      make(chan struct{}, 1),
		ping:      make(chan chan struct{}),
		closing:   make(chan struct{}),
		events:    newEventQueue(),
		apps:      map[string]*appState{},
		stopping:  map[revKey]bool{},
		removing:  map[string]bool{},
		listenErr: map[string]string{},
		owners:    map[string]revKey{},
		targets:   map[string][]target{},
		leaving:   map[string]*leaving{},
		drains:    map[string]time.Duration{},
	}, nil
}

// Run reconciles apps until ctx ends, then waits for the drains and stops
// it started. It records the events of instances as they come. It may be
// called once.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("rollout controller: Run called twice")
	}
	c.running = true
	c.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		c.events.run(gctx, c.opts.Store.Record, c.log)
		return nil
	})
	g.Go(func() error {
		defer close(c.closing)
		return c.loop(gctx)
	})
	err := g.Wait()
	c.work.Wait()
	return err
}

// loop reconciles every app, then sleeps until something changes, a timed
// transition is due, or the resync period passes.
func (c *Controller) loop(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		changed := c.opts.Store.Changed()
		next := c.reconcileAll(ctx)
		wait := c.opts.Resync
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(c.opts.Now()), time.Millisecond))
		}
		timer.Reset(wait) // since Go 1.23 a reset timer never delivers a stale tick
		if !c.sleep(ctx, changed, timer.C) {
			return nil
		}
	}
}

// sleep waits for a reason to reconcile, answering readiness probes
// meanwhile. It returns false when ctx ended.
func (c *Controller) sleep(ctx context.Context, changed <-chan struct{}, timer <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-changed:
			return true
		case <-c.kick:
			return true
		case <-timer:
			return true
		case reply := <-c.ping:
			close(reply)
		}
	}
}

// wake asks the loop for another pass soon; wakes coalesce.
func (c *Controller) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Alive reports whether the control loop answers within ctx: a readiness
// check.
func (c *Controller) Alive(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case c.ping <- reply:
	case <-ctx.Done():
		return errors.New("the rollout controller's loop does not answer")
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return errors.New("the rollout controller's loop does not answer")
	}
}

// Listening reports the apps whose listeners the proxy could not bind: a
// readiness check.
func (c *Controller) Listening(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.listenErr) == 0 {
		return nil
	}
	var msgs []string
	for _, m := range c.listenErr {
		msgs = append(msgs, m)
	}
	slices.Sort(msgs)
	return errors.New(strings.Join(msgs, "; "))
}

// RuntimeEvent records a driver's instance event and wakes the
// controller. Pass it as the drivers' OnEvent; it returns at once.
func (c *Controller) RuntimeEvent(ev runtime.Event) {
	c.events.push(runtimeEvent(ev))
	c.wake()
}

// HealthTransition records a change of an instance's health and wakes the
// controller. Pass it as the checker's OnTransition; it returns at once.
func (c *Controller) HealthTransition(tr health.Transition) {
	c.mu.Lock()
	owner, ok := c.owners[tr.Target.ID]
	c.mu.Unlock()
	if ok {
		c.events.push(healthEvent(owner, tr))
	}
	c.wake()
}

// reconcileAll looks at every app and returns when the next timed
// transition is due (zero: none).
func (c *Controller) reconcileAll(ctx context.Context) time.Time {
	objs, err := c.opts.Store.List(ctx, spec.KindApp)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("rollout: list apps", "error", err)
		}
		return c.opts.Now().Add(time.Second)
	}
	var next time.Time
	seen := map[string]bool{}
	for _, o := range objs {
		seen[o.Name] = true
		at, err := c.reconcile(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return next
			}
			c.log.Error("rollout: reconcile", "app", o.Name, "error", err)
			at = c.opts.Now().Add(time.Second)
		}
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	for name := range c.apps {
		if !seen[name] {
			c.forget(ctx, name)
		}
	}
	c.syncTargets()
	return next
}

// now is the controller's clock, in UTC and to the millisecond, so that
// statuses stay small and compare equal after a round trip.
func (c *Controller) now() time.Time {
	return c.opts.Now().UTC().Truncate(time.Millisecond)
}

// describeErr shortens an error for a status message.
func describeErr(err error) string {
	return strings.TrimPrefix(err.Error(), runtime.ErrInvalidWorkload.Error()+": ")
}
