package process

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"syscall"

	"sluice.dev/sluice/internal/runtime"
)

// spawner starts every child process from one goroutine that is locked to
// its OS thread for the spawner's whole life.
//
// Why: on Linux the parent-death signal (Pdeathsig) is sent when the
// *thread* that forked the child exits, not when the process does. Go moves
// goroutines between threads and may end a thread whose goroutine exits while
// locked to it, so a child forked from an ordinary goroutine could be killed
// at a random moment while sluice is healthy. Forking only from this locked
// thread ties the signal to the spawner's life instead. The spawner's
// goroutine returns without unlocking, so the runtime ends its thread when
// the driver shuts down: any child still alive then (none should be, Run
// stops them first) gets SIGKILL. If sluice itself dies, the thread dies with
// it and so do the children.
type spawner struct {
	reqs chan spawnRequest
	done chan struct{}
}

// spawnRequest asks the spawner to start cmd and answer on reply.
type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	return &spawner{reqs: make(chan spawnRequest), done: make(chan struct{})}
}

// run serves start requests until ctx is done. It must run in its own
// goroutine; it locks that goroutine to its thread and never unlocks it.
func (s *spawner) run(ctx context.Context) {
	defer close(s.done)
	goruntime.LockOSThread()
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-s.reqs:
			if req.cmd == nil { // a liveness probe
				req.reply <- nil
				continue
			}
			req.reply <- req.cmd.Start()
		}
	}
}

// start starts cmd on the spawner's thread and waits for the outcome. Until
// the spawner runs, it waits; it gives up when cancel is closed first.
func (s *spawner) start(cmd *exec.Cmd, cancel <-chan struct{}) error {
	req := spawnRequest{cmd: cmd, reply: make(chan error, 1)}
	select {
	case s.reqs <- req:
		return <-req.reply
	case <-s.done:
		return runtime.ErrClosed
	case <-cancel:
		return errStartCanceled
	}
}

// ping reports whether the spawner's thread answers before ctx ends.
func (s *spawner) ping(ctx context.Context) error {
	req := spawnRequest{reply: make(chan error, 1)}
	select {
	case s.reqs <- req:
		return <-req.reply
	case <-s.done:
		return runtime.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("the process starter does not answer: %w", ctx.Err())
	}
}

// errStartCanceled means an instance was asked to stop before its process
// could be started.
var errStartCanceled = errors.New("start canceled")

// processEnv builds the environment of one instance: the base environment,
// then the variables sluice sets, then the workload's own, so that later
// entries win (os/exec keeps the last value of a duplicated key).
func processEnv(base []string, inst *instance, wl *runtime.Process) []string {
	env := make([]string, 0, len(base)+len(wl.Env)+5)
	env = append(env, base...)
	env = append(env,
		"PORT="+strconv.Itoa(inst.port),
		"HOST="+loopback,
		"SLUICE_APP="+inst.app,
		"SLUICE_REVISION="+strconv.Itoa(inst.revision),
		"SLUICE_INSTANCE="+inst.id,
	)
	return append(env, wl.Env...)
}

// command builds the exec.Cmd for one start of an instance. out receives
// both standard output and standard error; standard input is /dev/null.
func command(base []string, inst *instance, wl *runtime.Process, out *os.File) *exec.Cmd {
	argv := append(append([]string{}, wl.Command[1:]...), wl.Args...)
	cmd := exec.Command(wl.Command[0], argv...)
	cmd.Dir = wl.Dir
	cmd.Env = processEnv(base, inst, wl)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

// loopback is the host every instance listens on.
const loopback = "127.0.0.1"

// freePort asks the kernel for a free TCP port on the loopback address. The
// port is free when freePort returns; nothing reserves it afterwards.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// signalGroup sends sig to every process in the group led by pid. A group
// that no longer exists is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("signal process group %d: %w", pid, err)
	}
	return nil
}

// describeExit tells how a process ended, as text and as an exit code (-1
// when a signal ended it).
func describeExit(state *os.ProcessState, err error) (string, int) {
	if state == nil {
		if err == nil {
			return "unknown", -1
		}
		return err.Error(), -1
	}
	return state.String(), state.ExitCode()
}
