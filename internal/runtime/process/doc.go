// Package process is sluice's embedded runtime driver: it runs each instance
// of a revision as a local child process.
//
// A Driver keeps the desired number of instances of every revision it was
// told about (Ensure, Stop) and supervises each one in its own goroutine:
//
//   - Every instance gets a free port on 127.0.0.1 for its whole life and
//     starts with PORT and HOST=127.0.0.1, plus SLUICE_APP, SLUICE_REVISION
//     and SLUICE_INSTANCE, then the workload's own environment. Its address,
//     "127.0.0.1:PORT", does not change across restarts.
//   - A process that exits without being asked to is restarted after an
//     exponential backoff (see Backoff); every crash and restart is reported
//     through Config.OnEvent.
//   - Stopping sends SIGTERM to the instance's process group, waits the
//     stop grace period, then sends SIGKILL to the group; whatever is left in
//     the group after its leader ends is killed too.
//   - Scaling down (Ensure with fewer replicas) lists each running extra
//     instance as Stopping at once and calls Config.BeforeStop for it
//     before the signal, so that the caller can drain it first; the rollout
//     controller takes it out of the route tables there and waits for its
//     requests in flight. Stop and the end of Run never wait for it.
//   - Children never outlive the driver: each runs in its own process group
//     with a parent-death signal (SIGKILL, on Linux), and when Run returns
//     every instance has been stopped.
//   - Standard output and standard error of an instance go, interleaved, to
//     one log file capped in size, with one older file kept (see LogReader).
//
// The driver hands out instance IDs and addresses, never process IDs. It
// supports Unix systems; the parent-death signal exists only on Linux.
package process
