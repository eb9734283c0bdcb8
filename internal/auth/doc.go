// Package auth decides who may do what: API tokens (random secrets of which
// the store keeps only a SHA-256 hash), the roles they carry, and the
// permissions each role grants. The role table is pure; token lookups go
// through the store.
package auth
