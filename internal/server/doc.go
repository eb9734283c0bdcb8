// Package server is sluice's composition root: it turns a Config into
// running parts (store, API, and the parts later issues add), wires them
// together, and runs them under one context until it ends.
package server
