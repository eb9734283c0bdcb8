// Package audit keeps the record of who did what through the API: every
// call that changes something, every read of a secret value, and every
// call that was refused. Entries are appended to the store and never
// changed or removed; they hold a digest of the request body, never the
// body itself, and no secret value.
//
// What deserves an entry is a pure decision ([Recorded]); the API's
// middleware collects the facts and [Log] stores them.
package audit
