package flags

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
)

// Members of a flag.
const (
	fieldState          = "state"
	fieldVariants       = "variants"
	fieldDefaultVariant = "defaultVariant"
	fieldTargeting      = "targeting"
	fieldKey            = "key"
)

// build checks one flag definition and compiles it. It returns nil when
// the flag has a sevDocument problem (all its problems are recorded).
func (d flagDef) build(comp *compiler, setMeta map[string]any) *flag {
	mark := d.probs.mark()
	for _, k := range sortedKeys(d.members) {
		switch k {
		case fieldState, fieldVariants, fieldDefaultVariant, fieldTargeting, fieldMetadata, fieldKey:
		default:
			d.probs.add(sevLint, member(d.path, k), "unknown field (a flag has state, variants, defaultVariant, targeting and metadata)")
		}
	}
	f := &flag{key: d.key, keyValue: d.key, state: d.state()}
	f.variants, f.variantNames, f.typ = d.variants()
	f.defaultVariant = d.defaultVariant(f.variants, f.variantNames)
	f.own = decodeMetadata(member(d.path, fieldMetadata), d.members[fieldMetadata], d.probs, false)
	f.metadata = mergeMetadata(setMeta, f.own)
	if raw, rule, ok := d.targeting(); ok {
		f.targeting = raw
		at := d.probs.mark()
		n, compiled := comp.compile(member(d.path, fieldTargeting), rule)
		if compiled {
			f.rule = n
		} else {
			f.broken, _ = d.probs.since(at, sevFlag)
		}
	}
	if _, bad := d.probs.since(mark, sevDocument); bad {
		return nil
	}
	f.prebuild()
	return f
}

// state reads the flag's state.
func (d flagDef) state() State {
	p := member(d.path, fieldState)
	raw, ok := d.members[fieldState]
	if !ok {
		d.probs.add(sevDocument, p, `is required: "ENABLED" or "DISABLED"`)
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || (s != string(StateEnabled) && s != string(StateDisabled)) {
		d.probs.add(sevDocument, p, `must be "ENABLED" or "DISABLED", got %s`, compactJSON(raw))
		return ""
	}
	return State(s)
}

// variants reads the flag's variants, which must share one type.
func (d flagDef) variants() (map[string]any, []string, ValueType) {
	p := member(d.path, fieldVariants)
	raw, ok := d.members[fieldVariants]
	if !ok {
		d.probs.add(sevDocument, p, "is required: an object mapping variant names to values")
		return nil, nil, ""
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil || all == nil {
		d.probs.add(sevDocument, p, "must be an object mapping variant names to values, got %s", compactJSON(raw))
		return nil, nil, ""
	}
	if len(all) == 0 {
		d.probs.add(sevDocument, p, "needs at least one variant")
		return nil, nil, ""
	}
	names := sortedKeys(all)
	var typ ValueType
	var first string
	for _, name := range names {
		vp := member(p, name)
		if name == "" {
			d.probs.add(sevDocument, vp, "a variant name must not be empty")
		}
		t, ok := valueType(all[name])
		switch {
		case !ok:
			d.probs.add(sevDocument, vp, "a variant must be a boolean, string, number or object, got %s", jsonKind(all[name]))
		case typ == "":
			typ, first = t, name
		case t != typ:
			d.probs.add(sevDocument, p, "variants must share one type: %q is %s, %q is %s", first, typ, name, t)
			return nil, nil, ""
		}
	}
	return all, names, typ
}

// valueType classifies a variant value.
func valueType(v any) (ValueType, bool) {
	switch v.(type) {
	case bool:
		return TypeBoolean, true
	case string:
		return TypeString, true
	case float64:
		return TypeNumber, true
	case map[string]any:
		return TypeObject, true
	}
	return "", false
}

// defaultVariant reads the flag's default variant; "" when it is absent or
// null.
func (d flagDef) defaultVariant(variants map[string]any, names []string) string {
	raw, ok := d.members[fieldDefaultVariant]
	if !ok {
		return ""
	}
	p := member(d.path, fieldDefaultVariant)
	var v any
	_ = json.Unmarshal(raw, &v)
	switch name := v.(type) {
	case nil:
		return ""
	case string:
		if _, known := variants[name]; !known && variants != nil {
			d.probs.add(sevDocument, p, "%q is not one of the variants (%s)", name, quoteList(names))
		}
		return name
	default:
		d.probs.add(sevDocument, p, "must be the name of a variant or null, got %s", jsonKind(v))
		return ""
	}
}

// targeting reads the flag's targeting: the rule decoded, and the raw
// text compacted. ok is false when there is nothing to evaluate: no
// targeting, {} or (with a sevLint problem) null.
func (d flagDef) targeting() (json.RawMessage, any, bool) {
	raw, ok := d.members[fieldTargeting]
	if !ok {
		return nil, nil, false
	}
	var rule any
	if err := json.Unmarshal(raw, &rule); err != nil {
		return nil, nil, false // unreachable: raw is valid JSON
	}
	switch r := rule.(type) {
	case nil:
		d.probs.add(sevLint, member(d.path, fieldTargeting), "must be a rule (a JSON object); null means no targeting")
		return nil, nil, false
	case map[string]any:
		if len(r) == 0 {
			return nil, nil, false
		}
	default:
		d.probs.add(sevLint, member(d.path, fieldTargeting), "must be a rule (a JSON object), got %s", jsonKind(rule))
	}
	return json.RawMessage(compactJSON(raw)), rule, true
}

// prebuild computes the answers that do not depend on the context.
func (f *flag) prebuild() {
	base := Evaluation{Key: f.key, Type: f.typ, Metadata: f.metadata}
	f.fallback = base
	f.fallback.Reason = ReasonDefault
	if f.defaultVariant != "" {
		f.fallback.Variant = f.defaultVariant
		f.fallback.Value = f.variants[f.defaultVariant]
	}
	switch {
	case f.state == StateDisabled:
		f.rule = nil
		f.result = base
		f.result.Reason = ReasonDisabled
	case f.broken != "":
		f.result = base
		f.result.Reason = ReasonError
		f.result.ErrorCode = ErrorParse
		f.result.ErrorMessage = "targeting cannot be compiled: " + f.broken
	case f.rule == nil:
		f.result = f.fallback
		if f.defaultVariant != "" {
			f.result.Reason = ReasonStatic
		}
	}
}

// mergeMetadata merges the set's metadata with a flag's own (the flag's
// keys win); nil when both are empty.
func mergeMetadata(set, own map[string]any) map[string]any {
	if len(set) == 0 && len(own) == 0 {
		return nil
	}
	out := make(map[string]any, len(set)+len(own))
	maps.Copy(out, set)
	maps.Copy(out, own)
	return out
}

// compactJSON returns raw without insignificant white space, for messages
// and for FlagInfo.Targeting.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return strings.TrimSpace(string(raw))
	}
	return b.String()
}
