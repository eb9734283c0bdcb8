// Package edit changes flag-definition documents (the flagd format that a
// FlagSet's spec holds) the way people change flags in a hurry: enable or
// disable one, change its default variant, roll a variant out to a
// percentage of users, and see what changed between two versions.
//
// It works on the document as JSON, so everything it does not touch (other
// flags, $evaluators, metadata, numbers as they were written, the array
// form of "flags") stays as it was. It does not validate: the server parses
// every document it is sent and refuses a bad one whole.
//
// # Rollouts
//
// [Document.Rollout] writes a fractional rule that sends a share of users
// to a variant and the rest to the flag's default variant:
//
//	{"fractional": [["on", 2500], ["off", 7500]]}
//
// Weights are basis points (0.01 %), so the total is always 10000. A user's
// bucket is fixed by the hash of the flag key and their targeting key; the
// variant listed first owns the lowest buckets. Raising the share therefore
// only adds buckets to the variant: a user who has it keeps it. When the
// flag already has a rollout between the same two variants, its order (and
// any bucketing rule) is kept, and only the weights change, so that the
// same holds across every later change. Weights written over another total
// (such as 10 and 90) select the same users when rescaled to 10000, since
// a user's bucket is the same fraction of any total.
//
// A flag whose targeting is something else is not overwritten unless the
// caller asks for it.
package edit
