// Package store is the contract for sluice's state: resources (apps,
// analysis templates, flag sets) with optimistic concurrency, the revisions
// of each app, the event log, and API tokens. It is the only place with state
// that must survive a restart.
//
// Backends live in subpackages (sqlite, and PostgreSQL through the same
// sqlstore core); storetest is the conformance suite every backend passes.
// All work happens inside Read or Write transactions, so that a change and
// its events and revisions land together or not at all.
package store
