// Package storetest is the conformance suite of the store contract. Every
// backend runs it from its own tests with a function that opens a fresh,
// empty store:
//
//	storetest.Run(t, func(t *testing.T) store.Store { ... })
package storetest
