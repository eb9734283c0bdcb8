package spec

import (
	"bytes"
	"encoding/json"
	"errors"

	"sluice.dev/sluice/internal/flags"
)

// A FlagSet's spec is exactly a flagd flag-definition document (schema
// 0.2.x): "flags", "$evaluators", "metadata" and an optional "$schema".
// Its metadata.name is the environment it serves, such as production. A
// flags.json written for flagd is a valid spec as it is.
//
// FlagSets get no defaults: the spec is stored as given (compacted), so
// what `sluice get flagset NAME -o json` shows is what was applied.

// FlagSetPrefix is the field path under which a flag set's own problems are
// reported, as in `spec.flags.new-checkout.defaultVariant`.
const FlagSetPrefix = "spec"

// decodeFlagSet validates a FlagSet spec with the evaluator's strict
// parser, so that nothing is stored that the server would not serve. It
// returns the compiled set and the spec compacted, or every problem with
// its path under spec.
func decodeFlagSet(raw json.RawMessage) (*flags.Set, json.RawMessage, []FieldError) {
	set, err := flags.Parse(raw)
	if err != nil {
		return nil, nil, flagSetProblems(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, nil, []FieldError{{Path: FlagSetPrefix, Message: err.Error()}}
	}
	return set, compact.Bytes(), nil
}

// flagSetProblems turns the evaluator's problems into field errors under
// spec.
func flagSetProblems(err error) []FieldError {
	var ve *flags.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		return []FieldError{{Path: FlagSetPrefix, Message: err.Error()}}
	}
	out := make([]FieldError, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		path := FlagSetPrefix
		if p.Path != "" {
			path = join(FlagSetPrefix, p.Path)
		}
		out = append(out, FieldError{Path: path, Message: p.Message})
	}
	return out
}
