// Package flags is sluice's feature-flag evaluator: it compiles flag sets
// written in the flagd flag-definition format (schema 0.2.x) and evaluates
// their flags for an OpenFeature evaluation context, with the results
// flagd gives.
//
// # Loading
//
// Parse compiles a document ("flags", "$evaluators", "metadata",
// "$schema") into an immutable Set. Each flag has a state (ENABLED or
// DISABLED), variants of one type (boolean, string, number or object), an
// optional defaultVariant and optional targeting, a JsonLogic rule. Every
// rule is compiled once, at Parse, into a tree of nodes; $ref to
// $evaluators is resolved then too, and compiled evaluators are shared by
// the flags that use them. Evaluation never parses JSON.
//
// Parse is strict and reports every problem with its field path in a
// *ValidationError. ParseLenient loads what flagd itself would load, so
// that a file written for flagd (such as the flagd testbed's) runs
// unchanged: rules outside the schema keep flagd's runtime meaning, and a
// flag whose targeting cannot be compiled evaluates to PARSE_ERROR.
//
// # Evaluating
//
// Set.Evaluate takes the flag key, the context as a JSON object would
// decode (with the targeting key under "targetingKey") and the time. It
// follows flagd:
//
//   - DISABLED flags give no value, reason DISABLED.
//   - Without targeting, the default variant, reason STATIC.
//   - Targeting that returns a variant name gives that variant, reason
//     TARGETING_MATCH; true and false name the variants "true" and
//     "false", a number names the variant spelled as in JSON.
//   - Targeting that returns null gives the default variant, reason
//     DEFAULT. A flag without a default variant then gives no value
//     (Value nil, reason DEFAULT), and clients use their code default.
//   - A name that is not a variant, or an array or object, is an error
//     (GENERAL), and so is a rule that exceeds its work budget. Targeting
//     that reads a context value JSON cannot hold (a Go struct, a channel,
//     a structure containing itself), or a targetingKey that is not a
//     string, is INVALID_CONTEXT; flags without targeting do not look at
//     the context. A missing flag is FLAG_NOT_FOUND; Evaluation.As turns a
//     value of the wrong type into TYPE_MISMATCH.
//   - TARGETING_KEY_MISSING is never produced: as in flagd and its testbed,
//     fractional without a targeting key is null, which gives the default
//     variant.
//
// # Operators
//
// The JsonLogic operators of the flagd targeting schema are supported:
// var, missing, missing_some, if, ==, ===, !=, !==, <, <=, >, >=, !, !!,
// and, or, +, -, *, /, %, max, min, cat, substr, in, merge, map, filter,
// reduce, all, some, none; and flagd's own fractional, sem_ver,
// starts_with and ends_with. The context carries $flagd.flagKey (the key
// of the flag being evaluated) and $flagd.timestamp (unix seconds of the
// time passed to Evaluate).
//
// Values are compared and converted as in the JsonLogic library flagd
// uses (github.com/diegoholiveira/jsonlogic/v3), including its quirks: {}
// is false, cat trims the result when it joins two or more values, in
// matches a number against an element [low, high], and arithmetic counts
// text that is not a number as 0. That library keeps its operators in a
// package-level table, so sluice does not use it and compiles rules
// itself. Where it would panic (flagd then answers PARSE_ERROR), sluice
// gives the JavaScript answer: booleans in cat read "true"/"false", in
// with a number in a string looks for its text, and a reversed substr
// range is "". map, filter, all, some, none and reduce read the element
// (or {current, accumulator}) in their rule, as JsonLogic specifies,
// without the library's habit of resolving var against the outer data
// first.
//
// fractional is byte-compatible with flagd 0.15 and later: murmur3 x86_32
// (seed 0) of the bucketing value, or of flagKey+targetingKey, mapped to
// (uint64(hash) * totalWeight) >> 32; see fractional.go.
//
// # Cost
//
// A flag without targeting evaluates in tens of nanoseconds without
// allocating; a typical targeting rule in under a microsecond. Each
// evaluation has a work budget, so that no rule can loop or build strings
// without bound.
package flags
