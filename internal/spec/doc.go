// Package spec holds sluice's resource types (App, AnalysisTemplate,
// FlagSet), and turns user documents into them: decoding multi-document
// YAML or JSON, strict structural checks (unknown fields and wrong types are
// errors), defaults, and validation. Every problem is reported with its field
// path, all at once, so a user can fix a file in one pass.
//
// The package is pure: it does no I/O beyond reading the bytes it is given.
package spec
