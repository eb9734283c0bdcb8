// Package rollout ships new revisions of apps: it decides which revisions
// run, which serve traffic and when that changes, and carries it out.
//
// It is split in two.
//
// The planner ([Plan]) is pure. Given an app's spec, its persisted status
// (an [apiv1.AppStatus]), what runs now (instances per revision with their
// health, revisions that cannot run) and the time, it returns the next
// status, the events that explain the change, and the actions that make the
// world match: [Ensure] a revision runs at a size, [SetRoutes] for the
// app's listener (and its preview listener), [Stop] a revision that is no
// longer wanted. The actions are declarative: the same input gives the same
// plan, so a plan can be carried out again after a crash. [Command] is the
// pure side of the rollout actions people ask for (promote, abort, undo,
// pause, resume): it changes a status, and the planner acts on it.
//
// A rollout moves an app from its stable revision to a candidate through
// steps. The strategy decides the steps: blue-green runs its pre-promotion
// analysis and waits (autoPromoteAfter, or for `sluice rollout promote`
// when autoPromote is off) while the healthy candidate is served on its
// preview listener only, then switches all traffic at once; canary runs
// its spec's setWeight, pause and analysis steps (1 % → 5 % → 25 % → 100 %
// with the default analysis between when it gives none), scaling the
// candidate with its weight, with an optional background analysis for the
// whole rollout. Analysis runs are started by the planner ([Analyze]) and
// measured by the controller; a Failed or Error verdict aborts at once
// (weight 0), an Inconclusive one pauses for a human. After promotion the
// old stable revision is kept warm for scaleDownDelay, so that undo is
// instant; a candidate that is not healthy (or not scaled) within
// progressDeadline fails the rollout.
//
// The [Controller] is the thin shell around the planner. For each app it
// observes (the store, the runtime drivers, the health checker), plans,
// persists the status conditionally on the resource version it read, then
// acts through small interfaces it owns ([Runner], [Router],
// [HealthWatcher]). Instances leaving the route table are drained before
// they are stopped. It wakes when a resource changes, when an instance's
// health or life changes, and on a timer, and after a restart it reads the
// persisted status and carries on.
package rollout
