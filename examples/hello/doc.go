// Command hello is sluice's demo service: a small HTTP server, standard
// library only, whose version, errors, latency and health are set by
// environment variables, so that a rollout can be watched succeeding or
// failing.
//
// It listens on HOST:PORT (default 127.0.0.1:8080) and serves:
//
//	GET /        {"version": VERSION, "instance": SLUICE_INSTANCE,
//	             "revision": SLUICE_REVISION, "request": N}
//	GET /health  200 {"status": "ok"}; 503 with FAIL_HEALTH or while stopping
//	GET /events  server-sent "tick" events carrying the version, every
//	             EVENTS_INTERVAL (default 1s) or ?interval=250ms
//
// Knobs: VERSION (default v1), ERROR_RATE (fraction of requests to /
// answered 500, e.g. 0.3), LATENCY and LATENCY_JITTER (Go durations added
// to each request to /), FAIL_HEALTH (true makes /health answer 503),
// START_DELAY (wait before listening), SHUTDOWN_TIMEOUT (default 10s).
//
// On SIGTERM or SIGINT it stops accepting connections, ends event streams,
// and finishes the requests in flight before exiting.
package main
