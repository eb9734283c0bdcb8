// Package server is sluice's composition root: it turns a Config into
// running parts (store, API, the rollout controller with the runtime
// drivers, health checks and proxy it drives, and the parts later issues
// add), wires them together, and runs them under one context until it ends.
package server
