// Package health decides which instances may take traffic, by probing them
// actively over HTTP.
//
// A Checker is given the current set of Targets (one per instance: its
// address, the path to GET, the interval, the timeout, the thresholds and
// the status codes that pass) and probes each on its own schedule, in a
// goroutine the Checker owns. Each probe result feeds a pure state machine
// (State.Observe): an instance starts Unknown, which is not ready, becomes
// Healthy after HealthyThreshold passes in a row and Unhealthy after
// UnhealthyThreshold failures in a row. Every change of status is delivered
// to an injected callback with the reason, such as "GET /health: 503" or
// "GET /health: timeout after 1s", and the current reports can be read at
// any time.
//
// The Checker knows nothing of apps, drivers or the proxy: whoever owns it
// maps instances to Targets and transitions to route table updates.
package health
