// Package e2e holds black-box tests of the built sluice binary: each test
// starts a real server on a free port in a temporary data directory and
// drives it with the real CLI and the Go client.
package e2e
