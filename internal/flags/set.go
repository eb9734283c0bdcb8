package flags

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// State says whether a flag is served.
type State string

// The states a flag can be in.
const (
	// StateEnabled flags are evaluated.
	StateEnabled State = "ENABLED"
	// StateDisabled flags evaluate to no value with reason DISABLED.
	StateDisabled State = "DISABLED"
)

// Set is one environment's compiled, immutable flag set; safe for
// concurrent use. Build one with Parse (or ParseLenient), evaluate its
// flags with Evaluate, and replace the whole Set when the definition
// changes.
type Set struct {
	flags    map[string]*flag
	keys     []string // sorted
	metadata map[string]any
	problems []FieldError
}

// flag is one compiled flag.
type flag struct {
	key            string
	keyValue       any // key, boxed once
	state          State
	typ            ValueType
	variants       map[string]any
	variantNames   []string // sorted
	defaultVariant string   // "" when there is none
	targeting      json.RawMessage
	rule           node   // nil when nothing is to be evaluated: see result
	broken         string // why the targeting did not compile (ParseLenient only)
	own            map[string]any
	metadata       map[string]any // the set's metadata merged with own
	result         Evaluation     // the answer when rule is nil
	fallback       Evaluation     // the answer when targeting returns null
}

// Evaluate evaluates flag key for evalCtx, the OpenFeature evaluation
// context as JSON would carry it (its "targetingKey" member is the
// targeting key), at time now, which targeting sees as $flagd.timestamp.
// It never fails: problems are reported in the Evaluation's Reason and
// ErrorCode. Evaluating a flag without targeting does not allocate.
func (s *Set) Evaluate(key string, evalCtx map[string]any, now time.Time) Evaluation {
	f, ok := s.flags[key]
	if !ok {
		return Evaluation{
			Key:          key,
			Reason:       ReasonError,
			ErrorCode:    ErrorFlagNotFound,
			ErrorMessage: fmt.Sprintf("flag %q not found", key),
		}
	}
	if f.rule == nil {
		return f.result
	}
	return f.evaluate(evalCtx, now)
}

// EvaluateAll evaluates every flag of the set for evalCtx at time now, in
// key order.
func (s *Set) EvaluateAll(evalCtx map[string]any, now time.Time) []Evaluation {
	out := make([]Evaluation, len(s.keys))
	for i, k := range s.keys {
		out[i] = s.Evaluate(k, evalCtx, now)
	}
	return out
}

// evaluate runs the flag's targeting.
func (f *flag) evaluate(evalCtx map[string]any, now time.Time) Evaluation {
	if msg := checkTargetingKey(evalCtx); msg != "" {
		return f.failure(ErrorInvalidContext, msg)
	}
	st := newState(evalCtx, f.key, f.keyValue, now.Unix())
	out := f.rule.eval(st, rootScope{})
	if st.invalid != "" {
		return f.failure(ErrorInvalidContext, st.invalid)
	}
	if st.exceeded {
		return f.failure(ErrorGeneral, "targeting exceeded its evaluation budget")
	}
	if out == nil {
		return f.fallback
	}
	name, msg := variantName(out)
	if msg != "" {
		return f.failure(ErrorGeneral, msg)
	}
	value, ok := f.variants[name]
	if !ok {
		return f.failure(ErrorGeneral, fmt.Sprintf("targeting returned %q, which is not a variant (variants: %s)", name, quoteList(f.variantNames)))
	}
	return Evaluation{
		Key:      f.key,
		Type:     f.typ,
		Value:    value,
		Variant:  name,
		Reason:   ReasonTargetingMatch,
		Metadata: f.metadata,
	}
}

// failure is a failed evaluation of the flag.
func (f *flag) failure(code ErrorCode, msg string) Evaluation {
	return Evaluation{
		Key:          f.key,
		Type:         f.typ,
		Reason:       ReasonError,
		ErrorCode:    code,
		ErrorMessage: msg,
		Metadata:     f.metadata,
	}
}

// variantName turns what targeting returned into a variant name, as flagd
// does: a string is the name, true and false name the variants "true"
// and "false", and a number names the variant spelled as JSON spells it.
// Arrays and objects name nothing; msg then says why.
func variantName(v any) (name, msg string) {
	switch x := v.(type) {
	case string:
		return x, ""
	case bool:
		if x {
			return "true", ""
		}
		return "false", ""
	case []any, map[string]any:
		return "", fmt.Sprintf("targeting returned an %s; it must return a variant name", jsonKind(v))
	}
	if f, isNum := number(v); isNum {
		if s, ok := formatNumber(f); ok {
			return s, ""
		}
		return "", fmt.Sprintf("targeting returned %v; it must return a variant name", f)
	}
	return "", fmt.Sprintf("targeting returned a %T; it must return a variant name", v)
}

// Keys returns the keys of the set's flags, sorted.
func (s *Set) Keys() []string { return slices.Clone(s.keys) }

// Len returns the number of flags in the set.
func (s *Set) Len() int { return len(s.keys) }

// Metadata returns a copy of the flag set's own metadata (the document's
// top-level "metadata"); nil when it has none.
func (s *Set) Metadata() map[string]any { return maps.Clone(s.metadata) }

// Problems returns what ParseLenient tolerated while loading the set:
// violations of the schema it kept flagd's behaviour for, and flags whose
// targeting did not compile (they evaluate to PARSE_ERROR). It is empty
// for a set built by Parse.
func (s *Set) Problems() []FieldError { return slices.Clone(s.problems) }

// FlagInfo describes one flag of a Set as it was defined, for display and
// management. Its maps are copies the caller may keep and change.
type FlagInfo struct {
	// Key is the flag's key.
	Key string
	// State is ENABLED or DISABLED.
	State State
	// Type is the type all its variants share.
	Type ValueType
	// Variants maps each variant name to its value (bool, string,
	// float64 or map[string]any).
	Variants map[string]any
	// DefaultVariant names the default variant; empty when the flag has
	// none, in which case clients use their code default.
	DefaultVariant string
	// Targeting is the targeting rule as written (with any $ref
	// unresolved), compacted; nil when the flag has none.
	Targeting json.RawMessage
	// Metadata is the flag's own metadata, without the set's; nil when
	// it has none.
	Metadata map[string]any
	// Problem says why the targeting could not be compiled, for a set
	// loaded with ParseLenient; the flag then evaluates to PARSE_ERROR.
	// It is empty otherwise.
	Problem string
}

// Flag returns the definition of flag key, and false when the set has no
// such flag.
func (s *Set) Flag(key string) (FlagInfo, bool) {
	f, ok := s.flags[key]
	if !ok {
		return FlagInfo{}, false
	}
	variants := make(map[string]any, len(f.variants))
	for k, v := range f.variants {
		variants[k] = cloneValue(v)
	}
	return FlagInfo{
		Key:            f.key,
		State:          f.state,
		Type:           f.typ,
		Variants:       variants,
		DefaultVariant: f.defaultVariant,
		Targeting:      slices.Clone(f.targeting),
		Metadata:       maps.Clone(f.own),
		Problem:        f.broken,
	}, true
}

// cloneValue deep-copies a decoded JSON value.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
