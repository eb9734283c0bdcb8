package flags

import (
	"strings"
	"testing"
)

// flagWith returns a document with one flag "f" whose members are given.
func flagWith(members string) string {
	return `{"flags": {"f": {` + members + `}}}`
}

// okFlag is a valid flag's members.
const okFlag = `"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "a"`

func TestParseRejectsBadDocuments(t *testing.T) {
	tests := []struct {
		name, doc string
		lenient   bool // ParseLenient loads it
		path, msg string
	}{
		{"not JSON", `{"flags": `, false, "", "not valid JSON: unexpected end of JSON input"},
		{"syntax error", `{"flags": {]}`, false, "", "not valid JSON: invalid character ']' looking for beginning of object key string (at byte 12)"},
		{"array", `[]`, false, "", `a flag set must be a JSON object with a "flags" member, got array`},
		{"null", `null`, false, "", `a flag set must be a JSON object with a "flags" member, got null`},
		{"no flags", `{}`, false, "flags", "is required"},
		{"flags not an object", `{"flags": 3}`, false, "flags", "must be an object mapping keys to flags"},
		{"flag not an object", `{"flags": {"f": 1}}`, false, "flags.f", "a flag must be an object with state and variants"},
		{"empty flag key", `{"flags": {"": {` + okFlag + `}}}`, false, `flags.""`, "a flag key must not be empty"},
		{"no state", flagWith(`"variants": {"a": 1}`), false, "flags.f.state", `is required: "ENABLED" or "DISABLED"`},
		{"state not a string", flagWith(`"state": 1, "variants": {"a": 1}`), false, "flags.f.state", `must be "ENABLED" or "DISABLED", got 1`},
		{"state lower case", flagWith(`"state": "enabled", "variants": {"a": 1}`), false, "flags.f.state", `must be "ENABLED" or "DISABLED", got "enabled"`},
		{"no variants", flagWith(`"state": "ENABLED"`), false, "flags.f.variants", "is required: an object mapping variant names to values"},
		{"variants not an object", flagWith(`"state": "ENABLED", "variants": [true]`), false, "flags.f.variants", "must be an object mapping variant names to values, got [true]"},
		{"no variant", flagWith(`"state": "ENABLED", "variants": {}`), false, "flags.f.variants", "needs at least one variant"},
		{"null variant", flagWith(`"state": "ENABLED", "variants": {"a": null}`), false, "flags.f.variants.a", "a variant must be a boolean, string, number or object, got null"},
		{"array variant", flagWith(`"state": "ENABLED", "variants": {"a": [1]}`), false, "flags.f.variants.a", "a variant must be a boolean, string, number or object, got array"},
		{"empty variant name", flagWith(`"state": "ENABLED", "variants": {"": 1}`), false, `flags.f.variants.""`, "a variant name must not be empty"},
		{"mixed variant types", flagWith(`"state": "ENABLED", "variants": {"a": 1, "b": "1"}`), false, "flags.f.variants", `variants must share one type: "a" is number, "b" is string`},
		{"unknown default variant", flagWith(`"state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "c"`), false, "flags.f.defaultVariant", `"c" is not one of the variants ("a", "b")`},
		{"default variant not a name", flagWith(`"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": 1`), false, "flags.f.defaultVariant", "must be the name of a variant or null, got number"},
		{"array without key", `{"flags": [{` + okFlag + `}]}`, false, "flags[0].key", "is required: a non-empty string naming the flag"},
		{"array with duplicate key", `{"flags": [{"key": "f", ` + okFlag + `}, {"key": "f", ` + okFlag + `}]}`, false, "flags[1].key", `duplicate flag key "f" (also at flags[0])`},
		{"array under flags.json", `{"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": [{"key": "f", ` + okFlag + `}]}`, false, "flags", "the array form belongs to flagd.json"},
		{"unknown top-level field", `{"flags": {}, "colour": 1}`, true, "colour", "unknown field"},
		{"unknown flag field", flagWith(okFlag + `, "defaultVarient": "b"`), true, "flags.f.defaultVarient", "unknown field"},
		{"key differs from map key", flagWith(okFlag + `, "key": "g"`), true, "flags.f.key", `differs from the flag's key "f"`},
		{"schema not a string", `{"$schema": 1, "flags": {}}`, true, "$schema", "must be a string"},
		{"evaluators not an object", `{"flags": {}, "$evaluators": []}`, true, "$evaluators", "must be an object of named rules"},
		{"evaluator not a rule", `{"flags": {}, "$evaluators": {"e": "x"}}`, true, "$evaluators.e", "an evaluator must be a rule (a JSON object), got string"},
		{"metadata not an object", `{"flags": {}, "metadata": 1}`, true, "metadata", "must be an object of strings, numbers and booleans"},
		{"flagSetId not a string", `{"flags": {}, "metadata": {"flagSetId": 1}}`, true, "metadata.flagSetId", "must be a string, got number"},
		{"metadata value an array", flagWith(okFlag + `, "metadata": {"tags": ["a"]}`), true, "flags.f.metadata.tags", "metadata values must be strings, numbers or booleans, got array"},
		{"targeting null", flagWith(okFlag + `, "targeting": null`), true, "flags.f.targeting", "must be a rule (a JSON object); null means no targeting"},
		{"targeting a string", flagWith(okFlag + `, "targeting": "b"`), true, "flags.f.targeting", "must be a rule (a JSON object), got string"},
		{"unknown operator", flagWith(okFlag + `, "targeting": {"iff": [true, "b"]}`), true, "flags.f.targeting.iff", `unknown operator "iff"`},
		{"ref to nothing", flagWith(okFlag + `, "targeting": {"$ref": "nope"}`), true, "flags.f.targeting.$ref", `$ref "nope": no such entry in $evaluators`},
		{"weights overflow", flagWith(okFlag + `, "targeting": {"fractional": [["a", 2147483647], ["b", 1]]}`), true, "flags.f.targeting.fractional", "weights add up to 2147483648, more than the 2147483647 allowed"},
		{"weight too big", flagWith(okFlag + `, "targeting": {"fractional": [["a", 3000000000]]}`), true, "flags.f.targeting.fractional[0][1]", "weight 3000000000 is more than the 2147483647 allowed"},
		{"no buckets", flagWith(okFlag + `, "targeting": {"fractional": [{"var": "email"}]}`), true, "flags.f.targeting.fractional", "fractional needs at least one [variant, weight] bucket"},
		{"bucket not an array", flagWith(okFlag + `, "targeting": {"fractional": [{"var": "email"}, "a"]}`), true, "flags.f.targeting.fractional[1]", "a bucket is [variant, weight], got string"},
		{"bucket too long", flagWith(okFlag + `, "targeting": {"fractional": [["a", 1, 2]]}`), true, "flags.f.targeting.fractional[0]", "a bucket is [variant, weight], got 3 values"},
		{"wrong arity", flagWith(okFlag + `, "targeting": {"if": [{"in": ["a"]}, "b"]}`), true, "flags.f.targeting.if[0].in", "in takes exactly 2 arguments, got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Parse([]byte(tt.doc))
			if set != nil {
				t.Fatal("Parse returned a set")
			}
			first := validationProblems(t, err)[0]
			if first.Path != tt.path || !strings.Contains(first.Message, tt.msg) {
				t.Errorf("first problem %q, want %s: %s", first, tt.path, tt.msg)
			}
			set, err = ParseLenient([]byte(tt.doc))
			if tt.lenient != (err == nil) || tt.lenient != (set != nil) {
				t.Errorf("ParseLenient: set %v, err %v; want it loaded: %v", set != nil, err, tt.lenient)
			}
			if tt.lenient && len(set.Problems()) == 0 {
				t.Error("ParseLenient loaded it without reporting the problem")
			}
		})
	}
}

func TestValidationErrorListsEveryProblem(t *testing.T) {
	doc := `{"flags": {
	  "a": {"state": "ON", "variants": {"x": 1}},
	  "b": {"state": "ENABLED", "variants": {"x": 1, "y": true}},
	  "c": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "z"}}}`
	_, err := Parse([]byte(doc))
	got := validationProblems(t, err)
	want := []string{"flags.a.state", "flags.b.variants", "flags.c.defaultVariant"}
	if len(got) != len(want) {
		t.Fatalf("problems %v, want at %v", got, want)
	}
	for i, p := range got {
		if p.Path != want[i] {
			t.Errorf("problem %d at %q, want %q", i, p.Path, want[i])
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid flag set (3 problems): flags.a.state: ") || strings.Count(msg, "; ") != 2 {
		t.Errorf("Error() = %q", msg)
	}
	one := &ValidationError{Problems: []FieldError{{Path: "flags", Message: "is required"}}}
	if one.Error() != "invalid flag set: flags: is required" {
		t.Errorf("Error() = %q", one.Error())
	}
}

func TestEvaluators(t *testing.T) {
	set := mustParse(t, `{
	  "$evaluators": {
	    "gold": {"==": [{"var": "tier"}, "gold"]},
	    "gold-or-staff": {"or": [{"$ref": "gold"}, {"ends_with": [{"var": "email"}, "@us.example"]}]}
	  },
	  "flags": {
	    "one": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	            "targeting": {"if": [{"$ref": "gold-or-staff"}, "on"]}},
	    "two": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	            "targeting": {"if": [{"$ref" : "gold"}, "on", "off"]}}}}`)
	tests := []struct {
		key  string
		ctx  map[string]any
		want any
	}{
		{"one", map[string]any{"tier": "gold"}, true},
		{"one", map[string]any{"email": "kim@us.example"}, true},
		{"one", map[string]any{"tier": "silver"}, false},
		{"two", map[string]any{"tier": "gold"}, true},
		{"two", map[string]any{"email": "kim@us.example"}, false},
	}
	for _, tt := range tests {
		if got := set.Evaluate(tt.key, tt.ctx, testNow()); got.Value != tt.want {
			t.Errorf("%s for %v: %+v, want %v", tt.key, tt.ctx, got, tt.want)
		}
	}
}

func TestEvaluatorProblems(t *testing.T) {
	t.Run("cycle", func(t *testing.T) {
		doc := `{"$evaluators": {"a": {"!": {"$ref": "b"}}, "b": {"!": {"$ref": "a"}}},
		  "flags": {"f": {` + okFlag + `, "targeting": {"if": [{"$ref": "a"}, "b"]}}}}`
		_, err := Parse([]byte(doc))
		got := validationProblems(t, err)
		if got[0].Path != "$evaluators.b.!.$ref" || got[0].Message != "$ref cycle: a -> b -> a" {
			t.Errorf("first problem %q, want the cycle", got[0])
		}
	})
	t.Run("broken and unused", func(t *testing.T) {
		doc := `{"$evaluators": {"bad": {"nope": 1}}, "flags": {"f": {` + okFlag + `}}}`
		_, err := Parse([]byte(doc))
		if got := validationProblems(t, err)[0]; got.Path != "$evaluators.bad.nope" {
			t.Errorf("problem %q, want it in the evaluator", got)
		}
		set, err := ParseLenient([]byte(doc))
		if err != nil || set.Evaluate("f", nil, testNow()).Reason != ReasonStatic {
			t.Errorf("ParseLenient: %v", err)
		}
	})
	t.Run("broken and used twice", func(t *testing.T) {
		doc := `{"$evaluators": {"bad": {"nope": 1}}, "flags": {
		  "f": {` + okFlag + `, "targeting": {"$ref": "bad"}},
		  "g": {` + okFlag + `, "targeting": {"$ref": "bad"}}}}`
		_, err := Parse([]byte(doc))
		got := validationProblems(t, err)
		if len(got) != 3 || got[0].Path != "$evaluators.bad.nope" ||
			got[1].Message != `evaluator "bad" cannot be compiled (see $evaluators.bad)` || got[2].Path != "flags.g.targeting.$ref" {
			t.Errorf("problems %v", got)
		}
	})
}
