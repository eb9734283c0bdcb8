package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrInvalidTarget means a Target lacks an ID or a usable address or path.
var ErrInvalidTarget = errors.New("invalid health check target")

// Transition reports that a target's status changed.
type Transition struct {
	// Target is the target whose status changed, with defaults filled in.
	Target Target
	// From and To are the statuses before and after.
	From, To Status
	// Reason is the result of the check that caused the change, e.g.
	// "GET /health: 503" or "GET /health: timeout after 1s".
	Reason string
	// At is when that check ended.
	At time.Time
}

// Report is what the checker knows of one target now.
type Report struct {
	// Target is the target, with defaults filled in.
	Target Target
	// State is its health, including the current run of results.
	State State
	// Reason is the result of the last check; empty before the first.
	Reason string
	// LastCheck is when the last check ended; zero before the first.
	LastCheck time.Time
	// LastChange is when the status last changed; zero while it never did.
	LastChange time.Time
}

// Config configures a Checker.
type Config struct {
	// OnTransition receives every change of a target's status; nil drops
	// them. It is called from the target's goroutine with no lock held,
	// one call at a time per target, so it may call back into the Checker;
	// the target's next check waits for it.
	OnTransition func(Transition)
	// Client makes the checks. Default: a client that ignores proxy
	// settings, opens a new connection per check and follows no redirects.
	Client *http.Client
	// Now tells the time for reports and transitions. Default time.Now.
	Now func() time.Time
}

// Checker probes a changing set of targets, each in its own goroutine, while
// Run runs. Its methods are safe for concurrent use.
type Checker struct {
	cfg Config
	wg  sync.WaitGroup // one per target goroutine

	mu      sync.Mutex
	running context.Context // Run's context while Run runs, else nil
	watches map[string]*watch
}

// watch is one target and the goroutine probing it.
type watch struct {
	target Target
	cancel context.CancelFunc // stops the goroutine; nil while none runs
	done   chan struct{}      // closed when the goroutine has returned
	report Report             // guarded by Checker.mu
}

// NewChecker returns a Checker with no targets.
func NewChecker(cfg Config) *Checker {
	if cfg.Client == nil {
		cfg.Client = newClient()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Checker{cfg: cfg, watches: make(map[string]*watch)}
}

// Run probes the targets until ctx is done, then stops every probe and
// returns nil. Targets set before Run start being probed when it starts. It
// may be called once at a time.
func (c *Checker) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running != nil {
		c.mu.Unlock()
		return errors.New("health checker: Run is already running")
	}
	c.running = ctx
	for _, w := range c.watches {
		c.start(w, nil)
	}
	c.mu.Unlock()

	<-ctx.Done()

	c.mu.Lock()
	c.running = nil
	for _, w := range c.watches {
		w.cancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	for _, w := range c.watches {
		w.cancel = nil
	}
	c.mu.Unlock()
	c.cfg.Client.CloseIdleConnections()
	return nil
}

// SetTargets replaces the set of targets. Targets that left the set stop
// being probed, new ones start Unknown and are probed at once. A target whose
// ID stays keeps its state unless its address changed; a changed check
// (path, interval, …) takes effect from its next probe. It fails with an
// error wrapping ErrInvalidTarget, changing nothing, when a target lacks an
// ID, an address or a path starting with "/", or when two share an ID.
func (c *Checker) SetTargets(targets []Target) error {
	next := make(map[string]Target, len(targets))
	for _, t := range targets {
		t = t.withDefaults()
		if err := t.validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidTarget, err)
		}
		if _, dup := next[t.ID]; dup {
			return fmt.Errorf("%w: two targets with ID %q", ErrInvalidTarget, t.ID)
		}
		next[t.ID] = t
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for id, w := range c.watches {
		if _, keep := next[id]; !keep {
			c.stop(w)
			delete(c.watches, id)
		}
	}
	for id, t := range next {
		old := c.watches[id]
		if old != nil && old.target.equal(t) {
			continue
		}
		w := &watch{target: t, report: Report{Target: t, State: State{Status: StatusUnknown}}}
		var after <-chan struct{}
		if old != nil {
			c.stop(old)
			after = old.done
			if old.target.Address == t.Address {
				w.report = old.report
				w.report.Target = t
			}
		}
		c.watches[id] = w
		if c.running != nil {
			c.start(w, after)
		}
	}
	return nil
}

// start launches w's goroutine under Run's context, after the goroutine
// closing after (if any) has returned. The caller holds c.mu and Run runs.
func (c *Checker) start(w *watch, after <-chan struct{}) {
	ctx, cancel := context.WithCancel(c.running)
	w.cancel = cancel
	w.done = make(chan struct{})
	c.wg.Add(1)
	go c.loop(ctx, w, after)
}

// stop cancels w's goroutine, if it has one. The caller holds c.mu.
func (c *Checker) stop(w *watch) {
	if w.cancel != nil {
		w.cancel()
	}
}

// loop probes w's target every interval until ctx is done.
func (c *Checker) loop(ctx context.Context, w *watch, after <-chan struct{}) {
	defer c.wg.Done()
	defer close(w.done)
	if after != nil {
		select {
		case <-after:
		case <-ctx.Done():
			return
		}
	}
	ticker := time.NewTicker(w.target.Interval)
	defer ticker.Stop()
	for {
		res := probe(ctx, c.cfg.Client, w.target)
		if ctx.Err() != nil {
			return
		}
		if tr, changed := c.record(w, res); changed && c.cfg.OnTransition != nil {
			c.cfg.OnTransition(tr)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// record applies one result to w's state and says whether the status
// changed.
func (c *Checker) record(w *watch, res result) (Transition, bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watches[w.target.ID] != w {
		return Transition{}, false // left the set while the check ran
	}
	from := w.report.State.Status
	w.report.State = w.report.State.Observe(res.pass, w.target.thresholds())
	w.report.Reason = res.reason
	w.report.LastCheck = now
	to := w.report.State.Status
	if from == to {
		return Transition{}, false
	}
	w.report.LastChange = now
	return Transition{Target: w.target.clone(), From: from, To: to, Reason: res.reason, At: now}, true
}

// Report returns what the checker knows of the target with id; ok is false
// when no such target is in the set.
func (c *Checker) Report(id string) (r Report, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.watches[id]
	if w == nil {
		return Report{}, false
	}
	return w.report.clone(), true
}

// Reports returns what the checker knows of every target, ordered by ID.
func (c *Checker) Reports() []Report {
	c.mu.Lock()
	out := make([]Report, 0, len(c.watches))
	for _, w := range c.watches {
		out = append(out, w.report.clone())
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Report) int { return strings.Compare(a.Target.ID, b.Target.ID) })
	return out
}

// Ready reports whether the target with id is Healthy. Unknown targets and
// targets not in the set are not ready.
func (c *Checker) Ready(id string) bool {
	r, ok := c.Report(id)
	return ok && r.State.Ready()
}

// clone returns a copy of r that shares no memory with the checker's.
func (r Report) clone() Report {
	r.Target = r.Target.clone()
	return r
}
