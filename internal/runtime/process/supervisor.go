package process

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// logDrainTimeout bounds how long a stopped process's output may keep
// flowing into its log after its process group was killed. Only a process
// that left the group (setsid) and kept the pipe open could hold it longer.
const logDrainTimeout = 2 * time.Second

// instance is one supervised copy of a revision. The fields down to done
// are fixed at creation; the rest are guarded by the driver's mutex.
type instance struct {
	id       string
	app      string
	revision int
	rev      *revision // the desired state the instance belongs to
	port     int
	addr     string
	logPath  string

	stop       chan struct{} // closed to ask the instance to stop
	stopOnce   sync.Once
	urgent     chan struct{} // closed when the stop may not wait for Config.BeforeStop
	urgentOnce sync.Once
	done       chan struct{} // closed when the supervisor has finished

	// Guarded by Driver.mu.
	state     runtime.State
	restarts  int
	startedAt time.Time
	lastExit  string
	retiring  bool // scaled away: Config.BeforeStop runs before the signal
}

// requestStop asks the instance's supervisor to stop it now, without
// waiting for Config.BeforeStop (ending a call in progress). It is
// idempotent.
func (in *instance) requestStop() {
	in.urgentOnce.Do(func() { close(in.urgent) })
	in.stopOnce.Do(func() { close(in.stop) })
}

// stopRequested reports whether requestStop was called.
func (in *instance) stopRequested() bool {
	select {
	case <-in.stop:
		return true
	default:
		return false
	}
}

// snapshot copies the instance into a runtime.Instance. The caller holds
// Driver.mu.
func (in *instance) snapshot() runtime.Instance {
	return runtime.Instance{
		ID:        in.id,
		App:       in.app,
		Revision:  in.revision,
		Address:   in.addr,
		State:     in.state,
		Restarts:  in.restarts,
		StartedAt: in.startedAt,
		LastExit:  in.lastExit,
	}
}

// exitInfo says how one process ended.
type exitInfo struct {
	text   string
	code   int
	ranFor time.Duration
}

// supervise runs one instance until it is asked to stop: it starts the
// process, restarts it with backoff when it exits unexpectedly, and on a stop
// request terminates it within its grace period. It reports every change
// through the driver's events. The driver owns the goroutine running it.
func (d *Driver) supervise(in *instance) {
	defer d.wg.Done()
	defer close(in.done)
	defer d.forget(in)

	logs := &instanceLog{path: in.logPath, max: d.cfg.LogMaxBytes}
	defer logs.close()

	streak := 0
	for attempt := 0; ; attempt++ {
		if in.stopRequested() {
			d.finish(in, exitInfo{text: d.lastExit(in), code: -1})
			return
		}
		p, err := d.launch(in, logs, attempt)
		var exit exitInfo
		if err != nil && in.stopRequested() {
			d.finish(in, exitInfo{text: d.lastExit(in), code: -1})
			return
		}
		if err != nil {
			exit = exitInfo{text: "start: " + err.Error(), code: -1}
		} else {
			var stopped bool
			exit, stopped = d.await(in, p)
			if stopped {
				d.finish(in, exit)
				return
			}
		}
		var wait time.Duration
		wait, streak = d.cfg.Backoff.Next(streak, exit.ranFor)
		d.crashed(in, exit, wait)
		if !d.sleep(in, wait) {
			d.finish(in, exit)
			return
		}
	}
}

// proc is one started process of an instance.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{} // closed once cmd.Wait returned
	waitErr error
	logs    *os.File      // read end of the output pipe
	copied  chan struct{} // closed once the output is fully copied
}

// instanceLog opens an instance's log file on first use and keeps it open
// across restarts.
type instanceLog struct {
	path string
	max  int64
	w    *logWriter
}

func (l *instanceLog) writer() (*logWriter, error) {
	if l.w == nil {
		w, err := openLog(l.path, l.max)
		if err != nil {
			return nil, err
		}
		l.w = w
	}
	return l.w, nil
}

func (l *instanceLog) close() {
	if l.w != nil {
		l.w.Close()
	}
}

// launch starts one process for in. attempt 0 is the first start; later
// ones are restarts.
func (d *Driver) launch(in *instance, logs *instanceLog, attempt int) (*proc, error) {
	d.mu.Lock()
	wl := d.workloadOf(in)
	if attempt > 0 {
		in.restarts++
	}
	in.state = runtime.StateStarting
	d.mu.Unlock()

	logw, err := logs.writer()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	cmd := command(d.cfg.BaseEnv, in, wl, w)
	err = d.spawner.start(cmd, in.stop)
	w.Close() // the child holds its own copy
	if err != nil {
		r.Close()
		return nil, err
	}
	now := d.cfg.Now()
	p := &proc{cmd: cmd, started: now, exited: make(chan struct{}), logs: r, copied: make(chan struct{})}
	go func() { // owned by this supervisor: it waits on p.exited
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	go func() { // owned by this supervisor: it waits on p.copied
		defer close(p.copied)
		io.Copy(keepDraining{logw}, r)
	}()

	d.mu.Lock()
	in.state = runtime.StateRunning
	in.startedAt = now
	snap := in.snapshot()
	d.mu.Unlock()
	kind := runtime.EventStarted
	if attempt > 0 {
		kind = runtime.EventRestarted
	}
	d.emit(runtime.Event{Kind: kind, Instance: snap, At: now})
	return p, nil
}

// await waits for p to exit on its own, or for a stop request, in which case
// it terminates p's process group: SIGTERM, the grace period, then SIGKILL.
// stopped says which happened. Either way, nothing of the group is left
// running when await returns.
func (d *Driver) await(in *instance, p *proc) (exit exitInfo, stopped bool) {
	pid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	case <-in.stop:
		stopped = true
		d.setState(in, runtime.StateStopping)
		d.beforeStop(in, p.exited)
		select {
		case <-p.exited: // it ended by itself meanwhile
		default:
			d.terminate(pid, d.graceOf(in), p.exited)
		}
	}
	signalGroup(pid, syscall.SIGKILL) // whatever the leader left behind
	p.drain()
	text, code := describeExit(p.cmd.ProcessState, p.waitErr)
	return exitInfo{text: text, code: code, ranFor: d.cfg.Now().Sub(p.started)}, stopped
}

// beforeStop calls Config.BeforeStop for an instance that Ensure scaled
// away, before its process p is signalled. The call's context ends when
// the instance must stop at once or p exits.
func (d *Driver) beforeStop(in *instance, exited <-chan struct{}) {
	d.mu.Lock()
	retiring, snap := in.retiring, in.snapshot()
	d.mu.Unlock()
	if !retiring || d.cfg.BeforeStop == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // owned by beforeStop: cancel ends it at the latest
		select {
		case <-in.urgent:
		case <-exited:
		case <-ctx.Done():
		}
		cancel()
	}()
	d.cfg.BeforeStop(ctx, snap)
}

// terminate sends SIGTERM to the group led by pid and, if the leader has
// not exited within grace, SIGKILL. It returns once the leader has exited.
func (d *Driver) terminate(pid int, grace time.Duration, exited <-chan struct{}) {
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		signalGroup(pid, syscall.SIGKILL)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
		signalGroup(pid, syscall.SIGKILL)
		<-exited
	}
}

// drain waits for the process's output to reach the log, giving up after
// logDrainTimeout.
func (p *proc) drain() {
	timer := time.NewTimer(logDrainTimeout)
	defer timer.Stop()
	select {
	case <-p.copied:
	case <-timer.C:
		p.logs.Close() // unblocks the copier
		<-p.copied
	}
	p.logs.Close()
}

// sleep waits out a restart backoff. It returns false when a stop request
// came first.
func (d *Driver) sleep(in *instance, wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-in.stop:
		return false
	}
}

// crashed records an unexpected exit and reports it.
func (d *Driver) crashed(in *instance, exit exitInfo, wait time.Duration) {
	d.mu.Lock()
	in.state = runtime.StateExited
	in.startedAt = time.Time{}
	in.lastExit = exit.text
	snap := in.snapshot()
	d.mu.Unlock()
	d.emit(runtime.Event{
		Kind:      runtime.EventCrashed,
		Instance:  snap,
		At:        d.cfg.Now(),
		Exit:      exit.text,
		ExitCode:  exit.code,
		RestartIn: wait,
	})
}

// finish records that in was stopped on request and reports it.
func (d *Driver) finish(in *instance, exit exitInfo) {
	d.mu.Lock()
	in.state = runtime.StateStopping
	in.startedAt = time.Time{}
	if exit.text != "" {
		in.lastExit = exit.text
	}
	snap := in.snapshot()
	d.mu.Unlock()
	d.emit(runtime.Event{Kind: runtime.EventStopped, Instance: snap, At: d.cfg.Now(), Exit: exit.text, ExitCode: exit.code})
}

func (d *Driver) setState(in *instance, s runtime.State) {
	d.mu.Lock()
	in.state = s
	d.mu.Unlock()
}

func (d *Driver) lastExit(in *instance) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return in.lastExit
}

func (d *Driver) emit(ev runtime.Event) {
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(ev)
	}
}

// keepDraining writes to a log but reports success even when the log fails
// (a full disk), so that the output pipe keeps draining and the instance
// never blocks on a write to its standard output.
type keepDraining struct {
	w io.Writer
}

func (k keepDraining) Write(p []byte) (int, error) {
	k.w.Write(p)
	return len(p), nil
}
