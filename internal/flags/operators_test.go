package flags

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// operatorContext is the context the operator tests evaluate in.
func operatorContext() map[string]any {
	return map[string]any{
		"targetingKey": "user-1",
		"a":            1.0,
		"nested":       map[string]any{"b": "deep", "nil": nil},
		"list":         []any{"x", "y", "z"},
		"xs":           []any{1.0, 2.0, 3.0},
		"email":        "admin@example.com",
		"n":            7.0,
		"count":        int64(3),
		"v":            "v1.0.0",
		"1":            "one",
		"path":         "nested.b",
		"pies":         []any{map[string]any{"filling": "pumpkin"}, map[string]any{"filling": "apple"}},
	}
}

// evalRule compiles rule alone (as flag "my-flag") and evaluates it at
// unix time 1700000000; lint reports whether Parse would reject it.
func evalRule(t *testing.T, rule string, ctx map[string]any) (result any, lint bool) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(rule), &v); err != nil {
		t.Fatalf("bad test rule %s: %v", rule, err)
	}
	probs := &problems{}
	n, ok := newCompiler(probs, map[string]any{}).compile("rule", v)
	if !ok {
		t.Fatalf("%s does not compile: %v", rule, probs.fieldErrors(sevLint))
	}
	st := newState(ctx, "my-flag", "my-flag", 1700000000)
	return n.eval(st, rootScope{}), len(probs.list) > 0
}

func TestOperators(t *testing.T) {
	tests := []struct {
		rule string
		want any
		lint bool // Parse rejects the rule; it keeps flagd's meaning in ParseLenient
	}{
		// var
		{`{"var": "a"}`, 1.0, false},
		{`{"var": ["a"]}`, 1.0, false},
		{`{"var": "nested.b"}`, "deep", false},
		{`{"var": "list.1"}`, "y", false},
		{`{"var": "list.9"}`, nil, false},
		{`{"var": ["missing", "fallback"]}`, "fallback", false},
		{`{"var": ["nested.nil", "fallback"]}`, "fallback", false},
		{`{"var": "missing.deeper"}`, nil, false},
		{`{"var": 1}`, "one", false},
		{`{"var": "count"}`, int64(3), false},
		{`{"var": {"var": "path"}}`, "deep", false},
		{`{"var": [{"cat": ["miss", "ing"]}, "d"]}`, "d", false},
		{`{"var": "$flagd.flagKey"}`, "my-flag", false},
		{`{"var": "$flagd.timestamp"}`, 1700000000.0, false},
		{`{"var": "$flagd"}`, map[string]any{"flagKey": "my-flag", "timestamp": 1700000000.0}, false},
		{`{"var": "$flagd.other"}`, nil, true},
		{`{"var": null}`, nil, false},
		{`{"var": true}`, nil, true},
		{`{"var": ["a", 1, 2]}`, 1.0, true},
		// missing, missing_some
		{`{"missing": ["a", "b", "nested.b", "nested.c"]}`, []any{"b", "nested.c"}, false},
		{`{"missing": []}`, []any{}, false},
		{`{"missing": {"merge": [["a"], ["z"]]}}`, []any{"z"}, true},
		{`{"missing_some": [1, ["a", "zz"]]}`, []any{}, false},
		{`{"missing_some": [2, ["a", "zz"]]}`, []any{"zz"}, false},
		{`{"missing_some": ["2", ["a", "zz"]]}`, []any{"zz"}, true},
		// if
		{`{"if": [true, "yes", "no"]}`, "yes", false},
		{`{"if": [false, "yes", "no"]}`, "no", false},
		{`{"if": [false, "a", true, "b", "c"]}`, "b", false},
		{`{"if": [false, "a", false, "b", "c"]}`, "c", false},
		{`{"if": [false, "yes"]}`, nil, false},
		{`{"if": [{"var": "a"}]}`, 1.0, false},
		{`{"if": []}`, nil, true},
		{`{"if": ["", "yes", "no"]}`, "no", false},
		{`{"if": [{}, "yes", "no"]}`, "no", false},
		{`{"if": [[0], "yes", "no"]}`, "yes", false},
		{`{"if": [[], "yes", "no"]}`, "no", false},
		{`{"if": ["0", "yes", "no"]}`, "yes", false},
		// == and !=
		{`{"==": [1, "1"]}`, true, false},
		{`{"==": [0, false]}`, true, false},
		{`{"==": ["", 0]}`, true, false},
		{`{"==": [null, null]}`, true, false},
		{`{"==": [null, 0]}`, false, false},
		{`{"==": ["a", "a"]}`, true, false},
		{`{"==": ["a", "b"]}`, false, false},
		{`{"==": [[1], [1]]}`, false, false},
		{`{"==": [{"var": "count"}, 3]}`, true, false},
		{`{"==": [1]}`, false, true},
		{`{"==": 1}`, false, true},
		{`{"!=": [1, 2]}`, true, false},
		{`{"!=": [1, "1"]}`, false, false},
		{`{"!=": [1]}`, true, true},
		// === and !==
		{`{"===": [1, 1]}`, true, false},
		{`{"===": [1, "1"]}`, false, false},
		{`{"===": [{"var": "count"}, 3]}`, true, false},
		{`{"===": [null, null]}`, true, false},
		{`{"!==": [1, "1"]}`, true, false},
		{`{"!==": ["a", "a"]}`, false, false},
		// < <= > >=
		{`{"<": [1, 2]}`, true, false},
		{`{"<": [2, 1]}`, false, false},
		{`{"<": ["a", "b"]}`, true, false},
		{`{"<": ["10", "9"]}`, true, false},
		{`{"<": ["10", 9]}`, false, false},
		{`{"<": [null, 1]}`, true, false},
		{`{"<": ["x", 1]}`, false, false},
		{`{"<": [1, 2, 3]}`, true, false},
		{`{"<": [1, 4, 3]}`, false, false},
		{`{"<": [1, 1, 3]}`, false, false},
		{`{"<=": [1, 1]}`, true, false},
		{`{"<=": [1, 1, 3]}`, true, false},
		{`{"<=": [1, 2, 1]}`, false, false},
		{`{">": [2, 1]}`, true, false},
		{`{">": ["b", "a"]}`, true, false},
		{`{">": [1, 1]}`, false, false},
		{`{">=": [1, 1]}`, true, false},
		{`{">=": [0, 1]}`, false, false},
		{`{">": [3, 2, 1]}`, true, true},
		// ! and !!
		{`{"!": [true]}`, false, false},
		{`{"!": true}`, false, false},
		{`{"!": [0]}`, true, false},
		{`{"!": []}`, true, false},
		{`{"!": [[]]}`, true, false},
		{`{"!!": ["0"]}`, true, false},
		{`{"!!": [0]}`, false, false},
		{`{"!!": [""]}`, false, false},
		{`{"!!": [["x"]]}`, true, false},
		// and, or
		{`{"and": [true, "a", 3]}`, 3.0, false},
		{`{"and": [true, 0, 3]}`, 0.0, false},
		{`{"and": []}`, nil, true},
		{`{"or": [false, 0, "a"]}`, "a", false},
		{`{"or": [false, 0]}`, 0.0, false},
		{`{"or": [{"var": "missing"}, "default"]}`, "default", false},
		// arithmetic
		{`{"+": [1, 2]}`, 3.0, false},
		{`{"+": ["3.14"]}`, 3.14, false},
		{`{"+": ["x", 1]}`, 1.0, false},
		{`{"+": [true, 1, {"var": "count"}]}`, 5.0, false},
		{`{"+": 4}`, 4.0, true},
		{`{"-": [5, 2]}`, 3.0, false},
		{`{"-": [2]}`, -2.0, false},
		{`{"-": [10, 2, 3]}`, 5.0, false},
		{`{"*": [2, 3, 4]}`, 24.0, false},
		{`{"*": [2]}`, 2.0, true},
		{`{"/": [4, 2]}`, 2.0, false},
		{`{"/": [1, 0]}`, math.Inf(1), false},
		{`{"%": [101, 2]}`, 1.0, false},
		{`{"%": [7]}`, nil, true},
		{`{"max": [1, 3, 2]}`, 3.0, false},
		{`{"min": [1, 3, 2]}`, 1.0, false},
		{`{"max": []}`, nil, true},
		// cat, substr
		{`{"cat": ["I love", " pie"]}`, "I love pie", false},
		{`{"cat": ["a", 1, true, null, 1.5]}`, "a1true1.5", false},
		{`{"cat": [" a ", " "]}`, "a", false},
		{`{"cat": [" a "]}`, " a ", false},
		{`{"cat": [[1, 2], {}]}`, "1,2[object Object]", false},
		{`{"cat": [{"var": "$flagd.flagKey"}, {"var": "targetingKey"}]}`, "my-flaguser-1", false},
		{`{"cat": "solo"}`, "solo", true},
		{`{"substr": ["jsonlogic", 4]}`, "logic", false},
		{`{"substr": ["jsonlogic", -5]}`, "logic", false},
		{`{"substr": ["jsonlogic", 1, 3]}`, "son", false},
		{`{"substr": ["jsonlogic", 4, -2]}`, "log", false},
		{`{"substr": ["héllo", 1, 2]}`, "él", false},
		{`{"substr": ["abc", 2, -2]}`, "", false},
		{`{"substr": ["abc", 10]}`, "abc", false},
		{`{"substr": ["abc"]}`, "abc", true},
		// in, merge
		{`{"in": ["Ringo", ["John", "Paul", "Ringo"]]}`, true, false},
		{`{"in": ["Yoko", ["John", "Paul", "Ringo"]]}`, false, false},
		{`{"in": ["Spring", "Springfield"]}`, true, false},
		{`{"in": [1, "a1b"]}`, true, false},
		{`{"in": [1, [1, 2]]}`, true, false},
		{`{"in": [1, ["1"]]}`, true, false},
		{`{"in": [{"var": "count"}, [3]]}`, true, false},
		{`{"in": [5, [[1, 10]]]}`, true, false},
		{`{"in": [11, [[1, 10]]]}`, false, false},
		{`{"in": [null, [null]]}`, true, false},
		{`{"in": [true, [1, true]]}`, true, false},
		{`{"in": [[1], [[1]]]}`, false, false},
		{`{"in": ["a", {"var": "nested"}]}`, false, false},
		{`{"in": ["a"]}`, false, true},
		{`{"merge": [[1, 2], [3, 4]]}`, []any{1.0, 2.0, 3.0, 4.0}, false},
		{`{"merge": [1, 2, [3, 4]]}`, []any{1.0, 2.0, 3.0, 4.0}, false},
		{`{"merge": [[[1]], {"var": "list"}]}`, []any{[]any{1.0}, "x", "y", "z"}, false},
		// map, filter, reduce, all, some, none
		{`{"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}`, []any{2.0, 4.0, 6.0}, false},
		{`{"map": [[1, 2], {"+": [{"var": ""}, 1]}]}`, []any{2.0, 3.0}, false},
		{`{"map": [{"var": "missing"}, {"var": ""}]}`, []any{}, false},
		{`{"filter": [[1, 2, 3, 4], {"%": [{"var": ""}, 2]}]}`, []any{1.0, 3.0}, false},
		{`{"reduce": [{"var": "xs"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}`, 6.0, false},
		{`{"reduce": [{"var": "missing"}, {"+": [{"var": "current"}, 1]}, "init"]}`, "init", false},
		{`{"reduce": [[1], {"var": ""}, 0]}`, map[string]any{"current": 1.0, "accumulator": 0.0}, false},
		{`{"all": [[1, 2, 3], {">": [{"var": ""}, 0]}]}`, true, false},
		{`{"all": [[1, -2, 3], {">": [{"var": ""}, 0]}]}`, false, false},
		{`{"all": [[], {">": [{"var": ""}, 0]}]}`, false, false},
		{`{"some": [[-1, 0, 1], {">": [{"var": ""}, 0]}]}`, true, false},
		{`{"some": [[], {">": [{"var": ""}, 0]}]}`, false, false},
		{`{"some": [{"var": "pies"}, {"==": [{"var": "filling"}, "apple"]}]}`, true, false},
		{`{"none": [[-3, -2, -1], {">": [{"var": ""}, 0]}]}`, true, false},
		{`{"none": [[-3, 2], {">": [{"var": ""}, 0]}]}`, false, false},
		{`{"none": [[], {">": [{"var": ""}, 0]}]}`, true, false},
		{`{"map": [[1]]}`, []any{nil}, true},
		// starts_with, ends_with: null, not false, when the input is wrong
		{`{"starts_with": [{"var": "email"}, "admin@"]}`, true, false},
		{`{"starts_with": [{"var": "email"}, "root@"]}`, false, false},
		{`{"starts_with": [{"var": "n"}, "7"]}`, nil, false},
		{`{"starts_with": [{"var": "missing"}, "a"]}`, nil, false},
		{`{"starts_with": ["abc"]}`, nil, true},
		{`{"starts_with": [1, "a"]}`, nil, true},
		{`{"ends_with": [{"var": "email"}, ".com"]}`, true, false},
		{`{"ends_with": [{"var": "email"}, ".org"]}`, false, false},
		{`{"ends_with": [{"var": "email"}, 3]}`, nil, true},
		// sem_ver
		{`{"sem_ver": ["1.2.3", ">=", "1.0.0"]}`, true, false},
		{`{"sem_ver": ["1.2.3", "<", "1.0.0"]}`, false, false},
		{`{"sem_ver": ["1.2.3", "!=", "1.2.3"]}`, false, false},
		{`{"sem_ver": ["1.2.3", "<=", "1.2.3"]}`, true, false},
		{`{"sem_ver": ["1.2.3", ">", "1.2.3-rc.1"]}`, true, false},
		{`{"sem_ver": ["1.2.9", "~", "1.2.0"]}`, true, false},
		{`{"sem_ver": ["1.3.0", "~", "1.2.0"]}`, false, false},
		{`{"sem_ver": ["1.9.0", "^", "1.0.0"]}`, true, false},
		{`{"sem_ver": ["2.0.0", "^", "1.0.0"]}`, false, false},
		{`{"sem_ver": [{"var": "v"}, "=", "1.0.0"]}`, true, false},
		{`{"sem_ver": ["v1", "=", "1.0.0"]}`, true, false},
		{`{"sem_ver": ["bad", "=", "1.0.0"]}`, nil, true},
		{`{"sem_ver": ["1.0.0", "===", "1.0.0"]}`, nil, true},
		{`{"sem_ver": ["1.0.0", "="]}`, nil, true},
		{`{"sem_ver": [{"var": "missing"}, "=", "1.0.0"]}`, nil, false},
		// literals
		{`"text"`, "text", false},
		{`[1, {"var": "a"}]`, []any{1.0, 1.0}, false},
		{`{}`, map[string]any{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, lint := evalRule(t, tt.rule, operatorContext())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			if lint != tt.lint {
				t.Errorf("rejected by Parse: %v, want %v", lint, tt.lint)
			}
		})
	}
}

func TestVarWholeData(t *testing.T) {
	got, _ := evalRule(t, `{"var": ""}`, map[string]any{"a": 1.0})
	want := map[string]any{"a": 1.0, "$flagd": map[string]any{"flagKey": "my-flag", "timestamp": 1700000000.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRulesThatDoNotCompile(t *testing.T) {
	tests := []struct {
		rule, path, message string
	}{
		{`{"nope": [1]}`, "rule.nope", `unknown operator "nope"`},
		{`{"if": [{"==": [1, 1], "!=": [1, 2]}, "a"]}`, "rule.if[0]", `a rule must have exactly one operator, found 2 keys ("!=", "==")`},
		{`{"if": [{"$ref": "missing"}, "a"]}`, "rule.if[0].$ref", `$ref "missing": no such entry in $evaluators`},
		{`{"$ref": 7}`, "rule.$ref", "$ref must name an entry of $evaluators, got number"},
		{`{"map": [[1], {"bogus": 1}]}`, "rule.map[1].bogus", `unknown operator "bogus"`},
		{`{"fractional": [{"var": "x"}, [{"bad": 1}, 1]]}`, "rule.fractional[1][0].bad", `unknown operator "bad"`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.rule), &v); err != nil {
				t.Fatal(err)
			}
			probs := &problems{}
			if _, ok := newCompiler(probs, map[string]any{}).compile("rule", v); ok {
				t.Fatal("compiled")
			}
			first := probs.list[0]
			if first.sev != sevFlag || first.Path != tt.path || first.Message != tt.message {
				t.Errorf("problem %+v, want %s: %s", first, tt.path, tt.message)
			}
		})
	}
}
