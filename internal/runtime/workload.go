package runtime

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors shared by every driver, so that callers can tell them apart with
// errors.Is whatever driver they talk to.
var (
	// ErrInvalidWorkload means a Workload lacks what the driver needs or
	// holds a value it cannot use.
	ErrInvalidWorkload = errors.New("invalid workload")
	// ErrClosed means the driver's Run has ended; it starts nothing more.
	ErrClosed = errors.New("driver closed")
)

// DefaultStopGracePeriod is how long a driver waits for an instance to exit
// after asking it to stop, when the Workload does not say.
const DefaultStopGracePeriod = 10 * time.Second

// Workload says what one revision of an app runs and how many copies of it.
// Exactly one of the driver sections (Process, Static) is set; each driver
// reads its own and rejects a Workload without it.
type Workload struct {
	// App is the app's name. It must be non-empty and must not contain a
	// path separator or be "." or "..": drivers use it in file and object
	// names.
	App string `json:"app"`
	// Revision is the revision number, 1 or more.
	Revision int `json:"revision"`
	// Replicas is how many instances of the revision should run; 0 runs
	// none. The static driver ignores it: the user runs what they run.
	Replicas int `json:"replicas"`
	// Process describes a revision run as local processes.
	Process *Process `json:"process,omitempty"`
	// Static describes a revision whose instances the user runs.
	Static *Static `json:"static,omitempty"`
}

// Process describes how to run one instance of a revision as a local process.
type Process struct {
	// Command is the program and its leading arguments, e.g.
	// ["go", "run", "./examples/hello"]. A program name without a slash is
	// looked up in PATH; a relative path is taken relative to Dir.
	Command []string `json:"command"`
	// Args are appended to Command.
	Args []string `json:"args,omitempty"`
	// Env holds resolved "KEY=VALUE" strings (secrets already filled in). They
	// come after the variables the driver sets (PORT, HOST, SLUICE_*), so
	// they can override them; overriding PORT makes the reported address
	// wrong.
	Env []string `json:"env,omitempty"`
	// Dir is the working directory; empty means the sluice server's own.
	Dir string `json:"dir,omitempty"`
	// StopGracePeriod is how long to wait after SIGTERM before SIGKILL.
	// Zero means DefaultStopGracePeriod (10s).
	StopGracePeriod time.Duration `json:"stopGracePeriod,omitempty"`
}

// Static lists the addresses of one revision's instances, which the user
// runs outside sluice.
type Static struct {
	// Addresses are "host:port" strings, one per instance.
	Addresses []string `json:"addresses"`
}

// Validate checks the parts of w every driver relies on: the app name and
// the revision number. Errors wrap ErrInvalidWorkload.
func (w Workload) Validate() error {
	if err := ValidateApp(w.App); err != nil {
		return err
	}
	if w.Revision < 1 {
		return fmt.Errorf("%w: app %q: revision %d: must be 1 or more", ErrInvalidWorkload, w.App, w.Revision)
	}
	if w.Replicas < 0 {
		return fmt.Errorf("%w: app %q revision %d: replicas %d: must not be negative", ErrInvalidWorkload, w.App, w.Revision, w.Replicas)
	}
	return nil
}

// ValidateApp checks that name can name an app in files and objects. Errors
// wrap ErrInvalidWorkload.
func ValidateApp(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: app name is empty", ErrInvalidWorkload)
	case name == "." || name == "..":
		return fmt.Errorf("%w: app name %q", ErrInvalidWorkload, name)
	case strings.ContainsAny(name, `/\`+"\x00"):
		return fmt.Errorf("%w: app name %q contains a path separator", ErrInvalidWorkload, name)
	}
	return nil
}

// StopGrace returns p.StopGracePeriod, or DefaultStopGracePeriod when unset.
func (p *Process) StopGrace() time.Duration {
	if p == nil || p.StopGracePeriod <= 0 {
		return DefaultStopGracePeriod
	}
	return p.StopGracePeriod
}
