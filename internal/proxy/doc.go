// Package proxy is sluice's data plane: an HTTP reverse proxy that serves
// each app on its own listener and moves traffic between an app's stable and
// candidate revisions.
//
// The proxy knows nothing of the store or of rollouts. It is fed immutable
// route tables ([Table], built with [NewTable]) and swaps them atomically, so
// it can run inside `sluice server` or as its own process that follows a
// control plane.
//
// A request is routed in two pure steps:
//
//  1. the revision: an override route (a tester's header or cookie) wins,
//     else the sticky bucket of the request's key (see [Bucket]), else a
//     per-request draw by weight;
//  2. the instance: a ready instance of that revision that passive health has
//     not ejected, by round robin or least requests.
//
// The request is then forwarded, streamed without buffering, with
// X-Forwarded-* and X-Request-ID set, and retried on another instance only
// when the connection to the first one was never established. Passive
// health ejects instances that fail in a row ([Options].EjectThreshold).
//
// Two paths forward requests, with the same routing and accounting. On
// Linux, plain HTTP/1.1 connections are served by event loops, one per CPU,
// each an epoll set of client and instance connections that it reads,
// parses and writes itself: a few system calls per request and no
// goroutine per connection. Everything else (TLS, protocol upgrades such as
// WebSocket, HTTP/1.0, Expect, chunked request bodies, malformed or
// oversized heads) is served by net/http's server with
// [net/http/httputil.ReverseProxy] over the proxy's own keep-alive client;
// an event loop that meets such a request hands its connection over, with
// the bytes it already read. [Options].DisableEventLoops turns the loops
// off.
//
// Per revision, the proxy keeps a sliding window of requests, errors and
// latencies ([Summary], read with [Server.Stats]) for analysis, and exports
// Prometheus metrics through an injected registerer. Instances that leave a
// table are drained: their in-flight requests finish, and long-lived streams
// are closed when the table's drain timeout passes ([Server.Drain]).
//
// A table with TLS serves its listener over HTTPS; with RedirectHTTP as
// well, the proxy opens a second, plain HTTP listener for the app that
// answers every request with a redirect to the HTTPS one
// ([RedirectHandler]) and follows the tables like the main listener.
package proxy
