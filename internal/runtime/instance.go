package runtime

import (
	"cmp"
	"slices"
	"time"
)

// State is where an instance is in its life, as its driver sees it. It says
// nothing about readiness: health checks decide whether a Running instance
// may take traffic.
type State string

// The states an instance passes through.
const (
	// StateStarting means the instance exists but its process (container,
	// pod) has not been started yet, or is being started.
	StateStarting State = "Starting"
	// StateRunning means the instance's process is alive.
	StateRunning State = "Running"
	// StateExited means the instance's process ended without being asked
	// to; the driver waits out a restart backoff before starting it again.
	// Instance.LastExit says how it ended.
	StateExited State = "Exited"
	// StateStopping means the instance was told to stop and its process is
	// still within its stop grace period, or, scaled away, still finishing
	// its requests in flight before it is signalled. It takes no new
	// traffic. A stopped instance is no longer listed.
	StateStopping State = "Stopping"
)

// Instance is one running copy of a revision: a process, a container, a pod,
// or an address the user runs. Drivers return Instances by value; a value is
// a snapshot and never changes after it is returned.
type Instance struct {
	// ID names the instance uniquely within its driver, e.g. "hello-3-9f2c1a".
	ID string `json:"id"`
	// App is the name of the app the instance belongs to.
	App string `json:"app"`
	// Revision is the revision number the instance runs.
	Revision int `json:"revision"`
	// Address is where the instance serves, as "host:port".
	Address string `json:"address"`
	// State is where the instance is in its life.
	State State `json:"state"`
	// Restarts counts how many times the driver restarted the instance after
	// it exited unexpectedly.
	Restarts int `json:"restarts"`
	// StartedAt is when the instance's current process was started; zero
	// while it has none.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// LastExit says how the instance's previous process ended, e.g.
	// "exit status 3", "signal: killed" or "start: exec: not found"; empty
	// when it never ended.
	LastExit string `json:"lastExit,omitempty"`
}

// SortInstances orders instances by app, then revision, then ID, so that
// listings are stable.
func SortInstances(list []Instance) {
	slices.SortFunc(list, func(a, b Instance) int {
		return cmp.Or(
			cmp.Compare(a.App, b.App),
			cmp.Compare(a.Revision, b.Revision),
			cmp.Compare(a.ID, b.ID),
		)
	})
}

// EventKind says what happened to an instance.
type EventKind string

// The events a driver emits.
const (
	// EventStarted means an instance's process was started for the first
	// time.
	EventStarted EventKind = "Started"
	// EventCrashed means an instance's process ended without being asked
	// to, or could not be started. Event.Exit says how; Event.RestartIn
	// says when the driver will start it again.
	EventCrashed EventKind = "Crashed"
	// EventRestarted means the driver started a crashed instance again.
	// Instance.Restarts counts the restarts so far and Instance.LastExit
	// says how the previous process ended.
	EventRestarted EventKind = "Restarted"
	// EventStopped means an instance was stopped on request and is gone.
	// Event.Exit says how its process ended.
	EventStopped EventKind = "Stopped"
)

// Event reports one change in an instance's life.
type Event struct {
	// Kind says what happened.
	Kind EventKind `json:"kind"`
	// Instance is a snapshot of the instance right after the change.
	Instance Instance `json:"instance"`
	// At is when the change happened.
	At time.Time `json:"at"`
	// Exit says how the process ended, for Crashed and Stopped events, e.g.
	// "exit status 2" or "signal: killed"; empty for the others.
	Exit string `json:"exit,omitempty"`
	// ExitCode is the process's exit code for Crashed and Stopped events,
	// -1 when a signal ended it or it never started, 0 otherwise.
	ExitCode int `json:"exitCode"`
	// RestartIn is how long the driver waits before restarting the
	// instance, for Crashed events; zero for the others.
	RestartIn time.Duration `json:"restartIn,omitempty"`
}

// EventFunc receives a driver's events. A driver calls it from its own
// goroutines, one event at a time per instance, and holds none of its locks
// while doing so, so the function may call back into the driver. It should
// return quickly: the instance it reports on waits for it.
type EventFunc func(Event)
