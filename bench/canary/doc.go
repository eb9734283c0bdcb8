// Command canarybench measures how fast sluice's builtin analysis takes a
// bad canary out of traffic, with the real sluice binary on one machine.
//
// For each step weight (1 %, 5 % and 25 % by default) it runs an app of
// examples/hello whose canary is `setWeight W` then a pause, with a
// background analysis comparing the candidate's success rate with stable's
// every second over a 10s window (at least 10 requests each). Under steady
// keep-alive load (about 300 requests a second) it deploys a candidate
// that fails 30 % of its requests (ERROR_RATE=0.3) and records, per round:
//
//   - detection: the time from the candidate's first answered request to
//     its last (after which the proxy sends it nothing: weight 0);
//   - blast radius: the candidate's failed requests in that time, their
//     share of all requests the app answered in the same window, and their
//     share of a minute of the app's traffic at the benchmark's rate.
//
// It builds sluice and examples/hello into a temporary directory, runs them
// as child processes, and sends all traffic to 127.0.0.1. Every phase is
// bounded in time.
//
// Usage:
//
//	go run ./bench/canary [-weights 1,5,25] [-rounds 3] [-rate 300]
//
// See bench/README.md ("Canary") for recorded results.
package main
