// Package apiv1 holds the wire types of sluice's REST API under /api/v1:
// resources as the server returns them, revisions, events, apply results,
// and problem+json errors. The server and pkg/client share them, and
// programs that talk to sluice may import them.
package apiv1
