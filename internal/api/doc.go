// Package api is sluice's HTTP API: REST+JSON under /api/v1, server-sent
// events for watches, the /livez and /readyz probes, and problem+json
// (RFC 9457) errors with field paths. Every route declares the permission it
// needs in one table; middleware adds request IDs, recovers panics, limits
// bodies and authenticates tokens.
package api
