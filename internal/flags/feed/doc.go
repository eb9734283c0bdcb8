// Package feed holds the live flag sets of every environment and tells
// subscribers when one changes.
//
// A [Feed] keeps, per environment, the current [flags.Set] and the version
// string it was published under (the server passes the store's resource
// version). Readers call [Feed.Current] on the hot path of every flag
// evaluation: it loads an immutable snapshot through an atomic pointer and
// never takes a lock. Writers ([Feed.Publish], [Feed.Remove]) are serialised
// and rare.
//
// [Feed.Subscribe] returns a channel of [Change] notifications for one
// environment. Each channel holds at most one pending notification: when a
// subscriber is slow, a newer change replaces the pending one, so publishing
// never blocks, memory never grows with the backlog, and the subscriber still
// learns the latest version. The channel is closed when the subscription's
// context ends.
package feed
