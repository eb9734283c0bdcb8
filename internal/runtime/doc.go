// Package runtime holds the vocabulary shared by sluice's runtime drivers:
// the Workload a revision runs, the Instances a driver reports for it, and
// the Events a driver emits as instances start, crash, restart and stop.
//
// A driver runs revisions of apps. It is told what to run and how many
// copies (Ensure), told to stop a revision (Stop), and asked what runs
// (instances per app or per revision, each with an address). It never hands
// out process IDs or the ports it chose: an Instance is a revision, an ID and
// a "host:port" address, so the same rollout controller and proxy work over
// local processes (subpackage process), addresses the user runs themselves
// (subpackage static), and later containers and Kubernetes pods.
//
// Drivers take plain values from this package and never import the store or
// the spec package; the rollout controller maps an app's spec onto a
// Workload. Readiness is not a driver's business: a Running instance is
// alive, and the health package decides whether it may take traffic.
package runtime
