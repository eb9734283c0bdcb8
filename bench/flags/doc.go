// Command flagbench measures sluice's feature flags against the real
// binary, over loopback:
//
//   - propagation: the time from a flag change sent to the API (a real
//     conditional PUT of the FlagSet) until each of 1,000 connected OFREP
//     event-stream clients has read the refetchEvaluation event;
//   - evaluation: OFREP single and bulk evaluations per second from 50
//     concurrent keep-alive clients, with latency percentiles;
//   - large sets: applying a FlagSet of 10,000 flags (POST /api/v1/apply),
//     until the API answers and until OFREP serves the new set.
//
// It builds sluice (or uses -sluice), starts `sluice server` on a free
// port in a temporary data directory, creates an SDK key with the CLI, and
// drives everything from its own process. All traffic stays on 127.0.0.1.
//
// Usage:
//
//	go run ./bench/flags [-subscribers 1000] [-changes 50] [-conns 50] [-duration 5s] [-flags 10000] [-rounds 5]
//
// See bench/README.md for recorded results.
package main
