// Package sqlite is sluice's embedded store: one SQLite file (pure Go,
// modernc.org/sqlite) in WAL mode, with a single writer connection beside a
// small pool of readers so that writes never fight over the lock and reads
// never wait for writes.
package sqlite
