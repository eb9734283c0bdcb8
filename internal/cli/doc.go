// Package cli is the sluice command line: one file per verb group, built on
// cobra. Every command but `server` talks to a server only through
// pkg/client. Exit codes: 0 success, 1 failure (the server refused or the
// operation failed), 2 a usage error; `deploy --wait` adds 3 (the rollout
// was aborted or failed) and 4 (it timed out).
package cli
