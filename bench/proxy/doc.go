// Command proxybench compares, in one run on one machine, a small HTTP
// backend reached directly, through nginx, and through sluice's proxy (with
// Prometheus metrics on, off, with metrics, traces and the access log, and
// with its event loops off): requests per second and latency percentiles at
// a moderate fixed rate and at saturation over keep-alive connections, then
// short saturation slices of the sluice variants and nginx in alternation,
// each compared with the variant without metrics and with nginx's slice of
// the same round (what observability costs, and how the proxy fares
// against nginx on a noisy machine), moderate slices of every target in
// alternation, each compared with the direct slice of its round (the
// latency each proxy adds), plus the time
// from a route table swap to the first response served by the new
// revision.
//
// It runs the backend and the sluice proxy as child processes of itself
// (-role backend, -role proxy), nginx from Debian's package as a
// foreground process with a generated config in a temporary directory, and
// generates load from its own process with a minimal HTTP/1.1 client. All
// traffic stays on 127.0.0.1. Every phase is bounded in time.
//
// Usage:
//
//	go run ./bench/proxy [-moderate-rate 2000] [-conns 64] [-duration 4s] [-rounds 3] [-cost-rounds 10]
//
// See bench/README.md for recorded results.
package main
