package process

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// Config configures a Driver.
type Config struct {
	// LogDir is the directory under which instance logs are kept, as
	// LogDir/APP/REVISION/INSTANCE.log. Required; created if missing.
	LogDir string
	// LogMaxBytes caps each instance's current log file, in bytes; one
	// older file of the same cap is kept. Default DefaultLogMaxBytes
	// (10 MiB).
	LogMaxBytes int64
	// Backoff is the restart schedule for crashed instances. The zero value
	// means 1s doubling up to 30s, reset after 1m of stable running.
	Backoff Backoff
	// BaseEnv is the environment every instance starts from, as
	// "KEY=VALUE" strings. Nil means sluice's own environment, so that PATH
	// and HOME reach the app; use an empty, non-nil slice for none.
	BaseEnv []string
	// OnEvent receives every instance event; nil drops them.
	OnEvent runtime.EventFunc
	// BeforeStop, when set, is called for each instance that Ensure scales
	// away while its process runs, before the process is signalled, so
	// that the caller can take it out of service and let its requests in
	// flight finish (see Driver.Ensure). The instance is already listed
	// as Stopping and no longer counts towards the revision's replicas.
	// It is called from the instance's own goroutine, with none of the
	// driver's locks held; the signal waits until it returns. Its context
	// ends when the instance must stop at once: its revision is stopped,
	// Run's context ends, or its process exits by itself; BeforeStop
	// should then return promptly. Nil: scaled-away instances are
	// signalled at once. Stop and the end of Run never call it.
	BeforeStop func(ctx context.Context, in runtime.Instance)
	// Ready, when set, tells whether a running instance is ready to serve
	// (its health checks pass). Scaling down stops the instances that are
	// not running first, then those that are not ready, then the newest.
	// It is called with the driver's lock held and must not call the
	// driver. Nil: every running instance counts as ready.
	Ready func(id string) bool
	// Now tells the time for instance start times and events. Default
	// time.Now.
	Now func() time.Time
}

// Driver runs revisions of apps as local processes. Create it with New and
// start Run in a goroutine; Ensure and Stop may be called before Run starts
// and while it runs. All methods are safe for concurrent use. When Run's context ends, every instance is stopped
// before Run returns.
type Driver struct {
	cfg     Config
	logs    *LogReader
	spawner *spawner
	wg      sync.WaitGroup // one per supervisor goroutine

	mu        sync.Mutex
	phase     phase
	revisions map[revisionKey]*revision
	live      map[string]*instance // every instance whose supervisor runs, by ID
	ports     map[int]bool         // ports held by live instances
}

// phase is where the driver is in its life.
type phase int

const (
	phaseIdle phase = iota
	phaseRunning
	phaseClosed
)

type revisionKey struct {
	app      string
	revision int
}

// revision is the desired state of one revision.
type revision struct {
	workload runtime.Process
	active   []*instance // instances not asked to stop, oldest first
}

// New returns a Driver configured by cfg. It creates the log directory.
func New(cfg Config) (*Driver, error) {
	if cfg.LogDir == "" {
		return nil, errors.New("process driver: LogDir is required")
	}
	if err := os.MkdirAll(cfg.LogDir, logDirPerm); err != nil {
		return nil, fmt.Errorf("process driver: create log dir: %w", err)
	}
	if cfg.LogMaxBytes <= 0 {
		cfg.LogMaxBytes = DefaultLogMaxBytes
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	if cfg.BaseEnv == nil {
		cfg.BaseEnv = os.Environ()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{
		cfg:       cfg,
		logs:      NewLogReader(cfg.LogDir),
		spawner:   newSpawner(),
		revisions: make(map[revisionKey]*revision),
		live:      make(map[string]*instance),
		ports:     make(map[int]bool),
	}, nil
}

// Logs returns a reader of the driver's instance logs.
func (d *Driver) Logs() *LogReader {
	return d.logs
}

// Run lets the driver start processes until ctx is done, then stops every
// instance (each within its stop grace period) and returns nil. It may be
// called once.
func (d *Driver) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.phase != phaseIdle {
		d.mu.Unlock()
		return errors.New("process driver: Run called twice")
	}
	d.phase = phaseRunning
	d.mu.Unlock()

	spawnCtx, stopSpawner := context.WithCancel(context.WithoutCancel(ctx))
	go d.spawner.run(spawnCtx)

	<-ctx.Done()

	d.mu.Lock()
	d.phase = phaseClosed
	clear(d.revisions)
	for _, in := range d.live {
		in.requestStop()
	}
	d.mu.Unlock()
	d.wg.Wait()
	stopSpawner()
	<-d.spawner.done
	return nil
}

// Alive reports whether the driver runs and can start processes: its
// starter thread answers before ctx ends. It is a readiness check.
func (d *Driver) Alive(ctx context.Context) error {
	d.mu.Lock()
	ph := d.phase
	d.mu.Unlock()
	switch ph {
	case phaseIdle:
		return errors.New("process driver: not running yet")
	case phaseClosed:
		return runtime.ErrClosed
	}
	return d.spawner.ping(ctx)
}

// Ensure makes w.Replicas instances of the revision run: it starts missing
// ones and stops extra ones, preferring those not running, then the newest.
// Calling it again with the same Workload changes nothing. A changed
// Process section applies to instances started or restarted afterwards.
//
// An extra instance whose process runs is listed as Stopping at once and,
// with Config.BeforeStop set, signalled only once BeforeStop has returned;
// the others are stopped at once. Instances being stopped never count
// towards w.Replicas: scaling up again meanwhile starts new ones.
//
// Ensure returns once new instances are being started and extra ones told
// to stop; it does not wait for them. Called before Run, it records the
// instances, which start once Run runs. It fails with an error wrapping
// runtime.ErrInvalidWorkload when w cannot run, and runtime.ErrClosed once
// Run has returned.
func (d *Driver) Ensure(ctx context.Context, w runtime.Workload) error {
	if err := validate(w); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ensure %s revision %d: %w", w.App, w.Revision, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.phase == phaseClosed {
		return fmt.Errorf("ensure %s revision %d: %w", w.App, w.Revision, runtime.ErrClosed)
	}
	key := revisionKey{w.App, w.Revision}
	rev := d.revisions[key]
	if rev == nil {
		rev = &revision{}
		d.revisions[key] = rev
	}
	rev.workload = cloneProcess(*w.Process)
	for len(rev.active) < w.Replicas {
		in, err := d.newInstance(key, rev)
		if err != nil {
			return fmt.Errorf("ensure %s revision %d: %w", w.App, w.Revision, err)
		}
		rev.active = append(rev.active, in)
		d.live[in.id] = in
		d.ports[in.port] = true
		d.wg.Add(1)
		go d.supervise(in)
	}
	for len(rev.active) > w.Replicas {
		i := victim(rev.active, d.cfg.Ready)
		d.retire(rev.active[i])
		rev.active = slices.Delete(rev.active, i, i+1)
	}
	return nil
}

// retire asks an instance that Ensure scales away to stop. One whose
// process runs is marked Stopping now, and its supervisor calls
// Config.BeforeStop before signalling it; the others stop at once, as
// they have no process that could serve. The caller holds d.mu.
func (d *Driver) retire(in *instance) {
	if d.cfg.BeforeStop == nil || in.state != runtime.StateRunning {
		in.requestStop()
		return
	}
	in.retiring, in.state = true, runtime.StateStopping
	in.stopOnce.Do(func() { close(in.stop) })
}

// victim picks the instance to stop first when scaling down: the newest
// one that is not running, else the newest one that is not ready (when
// ready is set), else the newest.
func victim(active []*instance, ready func(id string) bool) int {
	for i := len(active) - 1; i >= 0; i-- {
		if active[i].state != runtime.StateRunning {
			return i
		}
	}
	if ready != nil {
		for i := len(active) - 1; i >= 0; i-- {
			if !ready(active[i].id) {
				return i
			}
		}
	}
	return len(active) - 1
}

// Stop stops every instance of the revision and forgets it. It waits until
// their processes have ended, or until ctx is done, in which case the
// instances go on stopping and Stop returns ctx's error. Stopping a revision
// the driver does not run is not an error.
func (d *Driver) Stop(ctx context.Context, app string, revision int) error {
	d.mu.Lock()
	delete(d.revisions, revisionKey{app, revision})
	var waits []chan struct{}
	for _, in := range d.live {
		if in.app == app && in.revision == revision {
			in.requestStop()
			waits = append(waits, in.done)
		}
	}
	d.mu.Unlock()
	for _, done := range waits {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("stop %s revision %d: %w", app, revision, ctx.Err())
		}
	}
	return nil
}

// Instances returns the instances of app, or of every app when app is
// empty, including those still stopping, ordered by revision and ID.
func (d *Driver) Instances(app string) []runtime.Instance {
	return d.list(func(in *instance) bool { return app == "" || in.app == app })
}

// RevisionInstances returns the instances of one revision of app,
// including those still stopping, ordered by ID.
func (d *Driver) RevisionInstances(app string, revision int) []runtime.Instance {
	return d.list(func(in *instance) bool { return in.app == app && in.revision == revision })
}

func (d *Driver) list(keep func(*instance) bool) []runtime.Instance {
	d.mu.Lock()
	out := make([]runtime.Instance, 0, len(d.live))
	for _, in := range d.live {
		if keep(in) {
			out = append(out, in.snapshot())
		}
	}
	d.mu.Unlock()
	runtime.SortInstances(out)
	return out
}

// newInstance creates an instance of rev with a fresh ID and port. The
// caller holds d.mu.
func (d *Driver) newInstance(key revisionKey, rev *revision) (*instance, error) {
	var id string
	for {
		suffix, err := randomHex(3)
		if err != nil {
			return nil, err
		}
		id = fmt.Sprintf("%s-%d-%s", key.app, key.revision, suffix)
		if d.live[id] == nil {
			break
		}
	}
	port, err := d.unusedPort()
	if err != nil {
		return nil, err
	}
	return &instance{
		id:       id,
		app:      key.app,
		revision: key.revision,
		rev:      rev,
		port:     port,
		addr:     net.JoinHostPort(loopback, strconv.Itoa(port)),
		logPath:  logPath(d.cfg.LogDir, key.app, key.revision, id),
		stop:     make(chan struct{}),
		urgent:   make(chan struct{}),
		done:     make(chan struct{}),
		state:    runtime.StateStarting,
	}, nil
}

// unusedPort returns a free port that no live instance holds. The caller
// holds d.mu.
func (d *Driver) unusedPort() (int, error) {
	for range 100 {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		if !d.ports[port] {
			return port, nil
		}
	}
	return 0, errors.New("find a free port: every port offered is taken by an instance")
}

// forget removes a finished instance. It runs as its supervisor ends.
func (d *Driver) forget(in *instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.live, in.id)
	delete(d.ports, in.port)
	if i := slices.Index(in.rev.active, in); i >= 0 {
		in.rev.active = slices.Delete(in.rev.active, i, i+1)
	}
}

// workloadOf returns what in runs now. The caller holds d.mu.
func (d *Driver) workloadOf(in *instance) *runtime.Process {
	wl := in.rev.workload
	return &wl
}

// graceOf returns in's stop grace period.
func (d *Driver) graceOf(in *instance) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return in.rev.workload.StopGrace()
}

// validate checks that w can run as local processes.
func validate(w runtime.Workload) error {
	if err := w.Validate(); err != nil {
		return err
	}
	p := w.Process
	if p == nil {
		return fmt.Errorf("%w: app %q revision %d: no process section", runtime.ErrInvalidWorkload, w.App, w.Revision)
	}
	if len(p.Command) == 0 || p.Command[0] == "" {
		return fmt.Errorf("%w: app %q revision %d: command is empty", runtime.ErrInvalidWorkload, w.App, w.Revision)
	}
	if p.Dir != "" {
		info, err := os.Stat(p.Dir)
		if err != nil || !info.IsDir() {
			return fmt.Errorf("%w: app %q revision %d: working directory %q is not a directory", runtime.ErrInvalidWorkload, w.App, w.Revision, p.Dir)
		}
	}
	if err := findProgram(p.Command[0], p.Dir); err != nil {
		return fmt.Errorf("%w: app %q revision %d: %w", runtime.ErrInvalidWorkload, w.App, w.Revision, err)
	}
	return nil
}

// findProgram checks that name can be executed: looked up in PATH when it
// has no slash, else taken relative to dir.
func findProgram(name, dir string) error {
	if !strings.Contains(name, "/") {
		_, err := exec.LookPath(name)
		return err
	}
	path := name
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("command %q: %w", name, err)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return fmt.Errorf("command %q: not an executable file", name)
	}
	return nil
}

func cloneProcess(p runtime.Process) runtime.Process {
	p.Command = slices.Clone(p.Command)
	p.Args = slices.Clone(p.Args)
	p.Env = slices.Clone(p.Env)
	return p
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return hex.EncodeToString(b), nil
}
