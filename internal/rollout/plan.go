package rollout

import (
	"encoding/json"
	"time"

	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// Input is everything the planner decides from. It is a plain value: the
// controller fills it from the store, the runtime drivers and the health
// checker.
type Input struct {
	// App is the app's name.
	App string
	// Spec is the app's spec with defaults applied.
	Spec spec.App
	// Status is the app's status as persisted.
	Status apiv1.AppStatus
	// Revisions describes the revisions the planner may run or report, by
	// number. The controller includes at least the latest, stable,
	// candidate and previous revisions, and every revision that has
	// instances.
	Revisions map[int]RevisionInfo
	// Observed is what runs now.
	Observed Observed
	// Analyses are the analysis runs the controller measured, by run
	// name, with their verdicts and metrics; runs not in it stand as the
	// status says.
	Analyses map[string]apiv1.AnalysisRun
	// Blast is what the candidate served so far, as the proxy counted it;
	// nil when unknown.
	Blast *apiv1.BlastRadius
	// Now is the time of the decision.
	Now time.Time
}

// RevisionInfo is what the planner needs to know of one revision.
type RevisionInfo struct {
	// Version is the revision's version label, for messages.
	Version string
	// Size is how many instances make the revision whole: the spec's
	// replicas for processes, the number of addresses for static
	// revisions.
	Size int
}

// Observed is what the drivers and the health checker report about an app.
type Observed struct {
	// Instances are every instance of the app that a driver runs,
	// including those stopping.
	Instances []Instance
	// Unrunnable maps revisions that cannot run to why: an invalid
	// workload, a secret that cannot be resolved.
	Unrunnable map[int]string
	// Since is when the controller began to watch the app. Deadlines are
	// never counted from earlier, so that time sluice was down does not
	// fail a rollout.
	Since time.Time
}

// Instance is one observed instance and its health.
type Instance struct {
	// ID names the instance; Address is its host:port.
	ID, Address string
	// Revision is the revision it runs.
	Revision int
	// State is where it is in its life, as its driver says.
	State runtime.State
	// Health is what the health checks say.
	Health health.Status
	// Restarts counts restarts after crashes.
	Restarts int
	// Reason is the last check's result, or how its process last ended.
	Reason string
}

// Ready reports whether the instance may take traffic: running and
// healthy.
func (i Instance) Ready() bool {
	return i.State == runtime.StateRunning && i.Health == health.StatusHealthy
}

// Decision is the planner's output: the next status, the events that
// explain it, and the actions that make the world match it.
type Decision struct {
	// Status is the app's next status.
	Status apiv1.AppStatus
	// Events are recorded with the status, in the same transaction.
	Events []Event
	// Actions: SetRoutes is carried out before the status is persisted (so
	// the stored status is never ahead of the traffic), the rest after it,
	// in order: Ensure first, then Stop.
	Actions []Action
	// WakeAt is when a timed transition (a deadline, the end of a pause, a
	// scale-down) is due; zero when none is pending.
	WakeAt time.Time
}

// Event explains a change of an app's rollout.
type Event struct {
	// Warning marks events that need attention.
	Warning bool
	// Revision is the revision the event is about.
	Revision int
	// Reason is a short CamelCase cause, such as Promoted.
	Reason string
	// Message says what happened, for a human.
	Message string
	// Data is structured evidence as JSON (the measurements that decided
	// an abort or a promotion); nil for none.
	Data json.RawMessage
}

// Action is one thing the controller does to carry out a plan: [Ensure],
// [SetRoutes], [Stop] or [Analyze].
type Action interface{ isAction() }

// Analyze measures a running analysis run on its schedule: the controller
// takes the measurements that are due, stores them, and reports the run's
// verdict in the next plan's Input.Analyses.
type Analyze struct {
	Run apiv1.AnalysisRun
}

// Ensure makes Replicas instances of a revision run (starting or stopping
// some); it is harmless to repeat.
type Ensure struct {
	Revision int
	Replicas int
}

// Stop drains the instances of a revision, which are out of every route
// table, then stops them.
type Stop struct {
	Revision int
}

// SetRoutes gives the app's listeners their route tables. A nil table
// means the listener should not exist.
type SetRoutes struct {
	// Main serves spec.listen.
	Main *Table
	// Preview serves the candidate alone on the blue-green preview
	// listener.
	Preview *Table
}

func (Ensure) isAction()    {}
func (Stop) isAction()      {}
func (SetRoutes) isAction() {}
func (Analyze) isAction()   {}

// Table is the route table of one listener.
type Table struct {
	// Listen is the listener's host:port.
	Listen string
	// Stable serves what the candidate does not.
	Stable Backend
	// Candidate, when set, gets Weight basis points of the traffic.
	Candidate *Backend
	// Weight is the candidate's share, 0–10000 basis points.
	Weight int
	// Stickiness is where a request's sticky key comes from; empty: a
	// cookie the proxy sets itself.
	Stickiness StickyKey
	// Override, when set, is a header or cookie whose value `candidate`
	// or `stable` forces that revision.
	Override *StickyKey
}

// Backend is a revision and its ready instances.
type Backend struct {
	Revision  int
	Endpoints []Endpoint
}

// Endpoint is one ready instance.
type Endpoint struct {
	ID, Address string
}
