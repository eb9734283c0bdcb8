// Command bluegreenbench measures what blue-green shipping costs with the
// real sluice binary, on one machine:
//
//   - ready: the time from starting `sluice server` on an empty data
//     directory to its first 200 from /readyz (the store, the rollout
//     controller's loop and the proxy's listeners all ready);
//   - rss: sluice's resident memory, idle, with ten apps serving one
//     instance each (the apps' own processes are counted apart);
//   - switch: under steady keep-alive load on an app, the time from
//     sending `rollout promote` (and `rollout undo` back to the warm
//     revision) to the first response served by the new revision.
//
// It builds sluice and examples/hello into a temporary directory, runs
// them as child processes, and sends all traffic to 127.0.0.1. Every phase
// is bounded in time.
//
// Usage:
//
//	go run ./bench/bluegreen [-ready-rounds 10] [-apps 10] [-switches 10]
//
// See bench/README.md ("Blue-green") for recorded results.
package main
