package flags

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Parse compiles a flagd flag-definition document (schema 0.2.x: "flags",
// "$evaluators", "metadata", optional "$schema") into a Set. Targeting is
// compiled once, here, with every $ref resolved.
//
// Parse is strict: it rejects anything the flagd schema rejects and
// anything that could never work (an unknown operator, a $ref to
// nothing, a sem_ver version that does not parse, fractional weights that
// are negative or overflow, an unknown field). It then returns a
// *ValidationError listing every problem with its field path, and no Set.
//
// "flags" may be an array of flags with a "key" each (flagd's daemon
// format) unless "$schema" names flags.json, whose format is the map.
func Parse(data []byte) (*Set, error) {
	s, probs := parse(data)
	if _, found := probs.worst(); found {
		return nil, &ValidationError{Problems: probs.fieldErrors(sevLint)}
	}
	return s, nil
}

// ParseLenient loads a document the way flagd does, for files written for
// flagd: it rejects only documents that leave no flag set to build (not
// JSON, no flags, a flag without a valid state, variants of one type and a
// defaultVariant among them). A rule that breaks the schema but has a
// meaning at evaluation time keeps flagd's meaning (usually null, so the
// default variant); a flag whose targeting cannot be compiled at all
// evaluates to PARSE_ERROR. Set.Problems lists what was tolerated.
func ParseLenient(data []byte) (*Set, error) {
	s, probs := parse(data)
	if w, found := probs.worst(); found && w == sevDocument {
		return nil, &ValidationError{Problems: probs.fieldErrors(sevDocument)}
	}
	s.problems = probs.fieldErrors(sevLint)
	return s, nil
}

// Top-level members of a document.
const (
	fieldSchema     = "$schema"
	fieldFlags      = "flags"
	fieldEvaluators = "$evaluators"
	fieldMetadata   = "metadata"
)

// parse builds the Set and returns every problem found on the way; the
// Set is nil when a sevDocument problem was found.
func parse(data []byte) (*Set, *problems) {
	probs := &problems{}
	top, ok := decodeTop(data, probs)
	if !ok {
		return nil, probs
	}
	for _, k := range sortedKeys(top) {
		switch k {
		case fieldSchema, fieldFlags, fieldEvaluators, fieldMetadata:
		default:
			probs.add(sevLint, k, "unknown field (a flag set has flags, $evaluators, metadata and $schema)")
		}
	}
	mapOnly := false
	if raw, ok := top[fieldSchema]; ok {
		var schema string
		if err := json.Unmarshal(raw, &schema); err != nil {
			probs.add(sevLint, fieldSchema, "must be a string (the URL of the schema)")
		}
		mapOnly = path.Base(schema) == "flags.json"
	}
	setMeta := decodeMetadata(fieldMetadata, top[fieldMetadata], probs, true)
	comp := newCompiler(probs, decodeEvaluators(top[fieldEvaluators], probs))
	defs := decodeFlagList(top[fieldFlags], mapOnly, probs)
	s := &Set{flags: make(map[string]*flag, len(defs)), metadata: setMeta}
	for _, d := range defs {
		if f := d.build(comp, setMeta); f != nil {
			s.flags[f.key] = f
			s.keys = append(s.keys, f.key)
		}
	}
	for _, name := range sortedKeys(comp.evaluators) {
		comp.evaluator(name)
	}
	if w, _ := probs.worst(); w == sevDocument {
		return nil, probs
	}
	sort.Strings(s.keys)
	return s, probs
}

// decodeTop checks that data is one JSON object and splits its members.
func decodeTop(data []byte, probs *problems) (map[string]json.RawMessage, bool) {
	var top map[string]json.RawMessage
	err := json.Unmarshal(data, &top)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		probs.add(sevDocument, "", "a flag set must be a JSON object with a \"flags\" member, got %s", typeErr.Value)
		return nil, false
	case err != nil:
		probs.add(sevDocument, "", "not valid JSON: %s", jsonError(err))
		return nil, false
	case top == nil:
		probs.add(sevDocument, "", "a flag set must be a JSON object with a \"flags\" member, got null")
		return nil, false
	}
	if _, ok := top[fieldFlags]; !ok {
		probs.add(sevDocument, fieldFlags, "is required")
		return nil, false
	}
	return top, true
}

// jsonError describes a decoding error without Go type names.
func jsonError(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return strings.TrimPrefix(syntax.Error(), "json: ") + " (at byte " + strconv.FormatInt(syntax.Offset, 10) + ")"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// decodeEvaluators reads $evaluators: an object of named rules.
func decodeEvaluators(raw json.RawMessage, probs *problems) map[string]any {
	out := map[string]any{}
	if raw == nil {
		return out
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil || all == nil {
		probs.add(sevLint, fieldEvaluators, "must be an object of named rules")
		return out
	}
	for _, name := range sortedKeys(all) {
		p := member(fieldEvaluators, name)
		if name == "" {
			probs.add(sevLint, p, "an evaluator needs a non-empty name")
		}
		if _, isObject := all[name].(map[string]any); !isObject {
			probs.add(sevLint, p, "an evaluator must be a rule (a JSON object), got %s", jsonKind(all[name]))
		}
		out[name] = all[name]
	}
	return out
}

// decodeMetadata reads a metadata object, whose values must be strings,
// numbers or booleans; other values are dropped with a sevLint problem.
// For the set's metadata, flagSetId and version must be strings.
func decodeMetadata(at string, raw json.RawMessage, probs *problems, forSet bool) map[string]any {
	if raw == nil {
		return nil
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil || all == nil {
		probs.add(sevLint, at, "must be an object of strings, numbers and booleans")
		return nil
	}
	out := make(map[string]any, len(all))
	for _, k := range sortedKeys(all) {
		switch v := all[k].(type) {
		case string, bool, float64:
			if _, isString := v.(string); forSet && !isString && (k == "flagSetId" || k == "version") {
				probs.add(sevLint, member(at, k), "must be a string, got %s", jsonKind(v))
			}
			out[k] = v
		default:
			probs.add(sevLint, member(at, k), "metadata values must be strings, numbers or booleans, got %s", jsonKind(v))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// flagDef is one flag's members, not yet checked.
type flagDef struct {
	path    string
	key     string
	members map[string]json.RawMessage
	probs   *problems
}

// decodeFlagList reads "flags": a map of key to flag or, unless mapOnly,
// an array of flags with a "key" member each.
func decodeFlagList(raw json.RawMessage, mapOnly bool, probs *problems) []flagDef {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if mapOnly {
			probs.add(sevDocument, fieldFlags, "must be an object mapping keys to flags; the array form belongs to flagd.json, not flags.json")
			return nil
		}
		return decodeFlagArray(raw, probs)
	}
	var byKey map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byKey); err != nil || byKey == nil {
		probs.add(sevDocument, fieldFlags, "must be an object mapping keys to flags")
		return nil
	}
	defs := make([]flagDef, 0, len(byKey))
	for _, k := range sortedKeys(byKey) {
		p := member(fieldFlags, k)
		members, ok := decodeFlagObject(p, byKey[k], probs)
		if !ok {
			continue
		}
		if k == "" {
			probs.add(sevDocument, p, "a flag key must not be empty")
			continue
		}
		if rawKey, has := members["key"]; has {
			var inner string
			if json.Unmarshal(rawKey, &inner) != nil || inner != k {
				probs.add(sevLint, member(p, "key"), "differs from the flag's key %q", k)
			}
		}
		defs = append(defs, flagDef{path: p, key: k, members: members, probs: probs})
	}
	return defs
}

// decodeFlagArray reads the array form of "flags".
func decodeFlagArray(raw json.RawMessage, probs *problems) []flagDef {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		probs.add(sevDocument, fieldFlags, "must be an array of flags")
		return nil
	}
	seen := map[string]int{}
	defs := make([]flagDef, 0, len(list))
	for i, r := range list {
		p := index(fieldFlags, i)
		members, ok := decodeFlagObject(p, r, probs)
		if !ok {
			continue
		}
		var key string
		if err := json.Unmarshal(members["key"], &key); err != nil || key == "" {
			probs.add(sevDocument, member(p, "key"), "is required: a non-empty string naming the flag")
			continue
		}
		if j, dup := seen[key]; dup {
			probs.add(sevDocument, member(p, "key"), "duplicate flag key %q (also at flags[%d])", key, j)
			continue
		}
		seen[key] = i
		defs = append(defs, flagDef{path: member(fieldFlags, key), key: key, members: members, probs: probs})
	}
	return defs
}

// decodeFlagObject splits one flag's members.
func decodeFlagObject(p string, raw json.RawMessage, probs *problems) (map[string]json.RawMessage, bool) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		probs.add(sevDocument, p, "a flag must be an object with state and variants")
		return nil, false
	}
	return members, true
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
