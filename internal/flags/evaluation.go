package flags

import "strconv"

// Reason says why an evaluation produced its value, in OpenFeature's terms.
type Reason string

// The reasons an evaluation can report.
const (
	// ReasonStatic means the flag has no targeting: the default variant.
	ReasonStatic Reason = "STATIC"
	// ReasonTargetingMatch means the targeting rule chose the variant.
	ReasonTargetingMatch Reason = "TARGETING_MATCH"
	// ReasonDefault means the targeting rule ran but chose nothing (it
	// returned null), so the default variant was used; or the flag has no
	// default variant to give, and Value is nil.
	ReasonDefault Reason = "DEFAULT"
	// ReasonDisabled means the flag's state is DISABLED.
	ReasonDisabled Reason = "DISABLED"
	// ReasonError means the evaluation failed; ErrorCode says how.
	ReasonError Reason = "ERROR"
)

// ErrorCode classifies a failed evaluation, in OpenFeature's terms.
type ErrorCode string

// The error codes an evaluation can report.
const (
	// ErrorNone is the code of an evaluation that did not fail.
	ErrorNone ErrorCode = ""
	// ErrorFlagNotFound means the set has no flag with the key.
	ErrorFlagNotFound ErrorCode = "FLAG_NOT_FOUND"
	// ErrorParse means the flag's targeting could not be compiled; only a
	// set loaded with ParseLenient has such flags.
	ErrorParse ErrorCode = "PARSE_ERROR"
	// ErrorTypeMismatch means the value is not of the type asked for; see
	// Evaluation.As.
	ErrorTypeMismatch ErrorCode = "TYPE_MISMATCH"
	// ErrorTargetingKeyMissing is OpenFeature's code for a missing
	// targeting key. Evaluate never reports it: as in flagd, fractional
	// without a targeting key gives the default variant.
	ErrorTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	// ErrorInvalidContext means targeting read a context value JSON cannot
	// hold, or the targeting key is not a string.
	ErrorInvalidContext ErrorCode = "INVALID_CONTEXT"
	// ErrorGeneral means targeting returned something that names no
	// variant, or exceeded its work budget.
	ErrorGeneral ErrorCode = "GENERAL"
)

// ValueType is the single type shared by all variants of one flag.
type ValueType string

// The variant types a flag can have.
const (
	TypeBoolean ValueType = "boolean"
	TypeString  ValueType = "string"
	TypeNumber  ValueType = "number"
	TypeObject  ValueType = "object"
)

// Evaluation is the outcome of evaluating one flag for one context.
//
// Value is nil when the flag has no value to give: it is disabled, it has no
// default variant and targeting chose none, or the evaluation failed. A
// caller then falls back to its own code default.
type Evaluation struct {
	// Key is the flag's key.
	Key string
	// Type is the type of the flag's variants; empty when the flag was not found.
	Type ValueType
	// Value is the resolved variant's value: bool, string, float64 or,
	// for objects, map[string]any; nil when there is none. An object is
	// shared with the Set and must not be modified.
	Value any
	// Variant is the resolved variant's name; empty when there is none.
	Variant string
	// Reason says why this value was chosen.
	Reason Reason
	// ErrorCode is set when Reason is ReasonError.
	ErrorCode ErrorCode
	// ErrorMessage explains ErrorCode to a human.
	ErrorMessage string
	// Metadata is the flag set's metadata merged with the flag's own (the
	// flag's keys win). It is shared and must not be modified.
	Metadata map[string]any
}

// As checks the evaluation against the type the caller asked for, as an
// OpenFeature provider does for a typed resolution: when a value of
// another type was resolved, it returns an ERROR evaluation with
// TYPE_MISMATCH and no value; otherwise e unchanged. As in flagd, an
// evaluation without a value (disabled, no default variant, an error) is
// returned unchanged.
func (e Evaluation) As(want ValueType) Evaluation {
	if e.Value == nil || e.Type == want {
		return e
	}
	return Evaluation{
		Key:          e.Key,
		Type:         e.Type,
		Reason:       ReasonError,
		ErrorCode:    ErrorTypeMismatch,
		ErrorMessage: "flag " + strconv.Quote(e.Key) + " is " + string(e.Type) + ", not " + string(want),
		Metadata:     e.Metadata,
	}
}
