package flags

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// evaluateDoc has one flag per outcome the evaluator can report.
const evaluateDoc = `{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "metadata": {"flagSetId": "production", "version": "7"},
  "flags": {
    "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on",
               "metadata": {"owner": "checkout", "version": "8"}},
    "disabled": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on",
                 "targeting": {"if": [true, "off"]}},
    "no-default": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}},
    "null-default": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": null},
    "empty-targeting": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "b", "targeting": {}},
    "tiered": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "a",
               "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "b", null]}},
    "tiered-no-default": {"state": "ENABLED", "variants": {"a": 1, "b": 2},
               "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "b", null]}},
    "admins": {"state": "ENABLED", "variants": {"true": "yes", "false": "no"}, "defaultVariant": "false",
               "targeting": {"starts_with": [{"var": "email"}, "admin@"]}},
    "numbered": {"state": "ENABLED", "variants": {"1": "one", "2.5": "two and a half"}, "defaultVariant": "1",
                 "targeting": {"var": "n"}},
    "picked": {"state": "ENABLED", "variants": {"a": {"x": 1}, "b": {}}, "defaultVariant": "a",
               "targeting": {"var": "pick"}},
    "split": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "a",
              "targeting": {"fractional": [["a", 50], ["b", 50]]}},
    "clock": {"state": "ENABLED", "variants": {"before": "before", "after": "after"}, "defaultVariant": "before",
              "targeting": {"if": [{">=": [{"var": "$flagd.timestamp"}, 1772366400]}, "after", "before"]}},
    "greedy": {"state": "ENABLED", "variants": {"a": "A"}, "defaultVariant": "a",
               "targeting": {"reduce": [{"var": "list"}, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "x"]}}
  }
}`

func TestEvaluateReasonsAndErrorCodes(t *testing.T) {
	set := mustParse(t, evaluateDoc)
	forty := make([]any, 40)
	tests := []struct {
		name    string
		key     string
		ctx     map[string]any
		value   any
		variant string
		reason  Reason
		code    ErrorCode
		message string // a part of ErrorMessage
	}{
		{name: "static", key: "static", value: true, variant: "on", reason: ReasonStatic},
		{name: "disabled gives no value", key: "disabled", reason: ReasonDisabled},
		{name: "no default variant", key: "no-default", reason: ReasonDefault},
		{name: "null default variant", key: "null-default", reason: ReasonDefault},
		{name: "empty targeting is static", key: "empty-targeting", value: "B", variant: "b", reason: ReasonStatic},
		{name: "targeting match", key: "tiered", ctx: map[string]any{"tier": "gold"}, value: "B", variant: "b", reason: ReasonTargetingMatch},
		{name: "targeting null falls back to default", key: "tiered", ctx: map[string]any{"tier": "silver"}, value: "A", variant: "a", reason: ReasonDefault},
		{name: "targeting null without default", key: "tiered-no-default", ctx: map[string]any{"tier": "silver"}, reason: ReasonDefault},
		{name: "targeting may pick the default", key: "tiered-no-default", ctx: map[string]any{"tier": "gold"}, value: 2.0, variant: "b", reason: ReasonTargetingMatch},
		{name: "true names variant true", key: "admins", ctx: map[string]any{"email": "admin@example.com"}, value: "yes", variant: "true", reason: ReasonTargetingMatch},
		{name: "false names variant false", key: "admins", ctx: map[string]any{"email": "bob@example.com"}, value: "no", variant: "false", reason: ReasonTargetingMatch},
		{name: "operator null falls back", key: "admins", ctx: map[string]any{"email": 42.0}, value: "no", variant: "false", reason: ReasonDefault},
		{name: "number names variant", key: "numbered", ctx: map[string]any{"n": 2.5}, value: "two and a half", variant: "2.5", reason: ReasonTargetingMatch},
		{name: "Go int names variant", key: "numbered", ctx: map[string]any{"n": 1}, value: "one", variant: "1", reason: ReasonTargetingMatch},
		{name: "unknown variant", key: "picked", ctx: map[string]any{"pick": "c"}, reason: ReasonError, code: ErrorGeneral, message: `targeting returned "c", which is not a variant (variants: "a", "b")`},
		{name: "object is not a variant name", key: "picked", ctx: map[string]any{"pick": map[string]any{"x": 1.0}}, reason: ReasonError, code: ErrorGeneral, message: "targeting returned an object"},
		{name: "object variant", key: "picked", ctx: map[string]any{"pick": "b"}, value: map[string]any{}, variant: "b", reason: ReasonTargetingMatch},
		{name: "flag not found", key: "nope", reason: ReasonError, code: ErrorFlagNotFound, message: `flag "nope" not found`},
		{name: "context JSON cannot hold", key: "tiered", ctx: map[string]any{"tier": struct{}{}}, reason: ReasonError, code: ErrorInvalidContext, message: "context value tier has type struct {}"},
		{name: "targeting key not a string", key: "tiered", ctx: map[string]any{"targetingKey": 7.0}, reason: ReasonError, code: ErrorInvalidContext, message: "targetingKey must be a string"},
		{name: "static flags ignore the context", key: "static", ctx: map[string]any{"x": make(chan int)}, value: true, variant: "on", reason: ReasonStatic},
		{name: "fractional without targeting key is DEFAULT, never TARGETING_KEY_MISSING", key: "split", reason: ReasonDefault, value: "A", variant: "a"},
		{name: "fractional with empty targeting key", key: "split", ctx: map[string]any{"targetingKey": ""}, reason: ReasonDefault, value: "A", variant: "a"},
		{name: "timestamp is now", key: "clock", value: "after", variant: "after", reason: ReasonTargetingMatch},
		{name: "work budget", key: "greedy", ctx: map[string]any{"list": forty}, reason: ReasonError, code: ErrorGeneral, message: "budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := set.Evaluate(tt.key, tt.ctx, testNow())
			if got.ErrorCode == ErrorTargetingKeyMissing {
				t.Error("TARGETING_KEY_MISSING: flagd and its testbed answer DEFAULT instead")
			}
			if got.Key != tt.key || !reflect.DeepEqual(got.Value, tt.value) || got.Variant != tt.variant ||
				got.Reason != tt.reason || got.ErrorCode != tt.code {
				t.Errorf("got %+v\nwant value %#v variant %q reason %s code %q", got, tt.value, tt.variant, tt.reason, tt.code)
			}
			if !strings.Contains(got.ErrorMessage, tt.message) || (tt.code == "") != (got.ErrorMessage == "") {
				t.Errorf("error message %q, want one containing %q", got.ErrorMessage, tt.message)
			}
		})
	}
}

func TestEvaluateTypeAndMetadata(t *testing.T) {
	set := mustParse(t, evaluateDoc)
	got := set.Evaluate("static", nil, testNow())
	if got.Type != TypeBoolean {
		t.Errorf("type %q, want boolean", got.Type)
	}
	wantMeta := map[string]any{"flagSetId": "production", "version": "8", "owner": "checkout"}
	if !reflect.DeepEqual(got.Metadata, wantMeta) {
		t.Errorf("metadata %v, want %v (the flag's own keys win)", got.Metadata, wantMeta)
	}
	if m := set.Evaluate("disabled", nil, testNow()).Metadata; m["flagSetId"] != "production" {
		t.Errorf("disabled flag metadata %v, want the set's", m)
	}
	if got := set.Evaluate("clock", nil, time.Unix(1772366399, 0)); got.Value != "before" {
		t.Errorf("clock a second earlier: %+v, want before ($flagd.timestamp is the time passed in)", got)
	}
	if m := set.Evaluate("nope", nil, testNow()).Metadata; m != nil {
		t.Errorf("missing flag metadata %v, want none", m)
	}
}

func TestEvaluationAs(t *testing.T) {
	set := mustParse(t, evaluateDoc)
	tests := []struct {
		key  string
		want ValueType
		code ErrorCode
	}{
		{"static", TypeBoolean, ""},
		{"static", TypeString, ErrorTypeMismatch},
		{"picked", TypeObject, ""},
		{"tiered-no-default", TypeNumber, ""},
		{"disabled", TypeString, ""},            // no value: nothing to mismatch, as in flagd
		{"nope", TypeString, ErrorFlagNotFound}, // errors pass through
	}
	for _, tt := range tests {
		got := set.Evaluate(tt.key, map[string]any{"pick": "a", "tier": "gold"}, testNow()).As(tt.want)
		if got.ErrorCode != tt.code {
			t.Errorf("%s as %s: %+v, want code %q", tt.key, tt.want, got, tt.code)
		}
		if tt.code == ErrorTypeMismatch && (got.Value != nil || got.Reason != ReasonError || got.ErrorMessage != `flag "static" is boolean, not string`) {
			t.Errorf("%s as %s: %+v, want an ERROR without value", tt.key, tt.want, got)
		}
	}
}

func TestParseLenientFlagsThatDoNotCompile(t *testing.T) {
	doc := `{"flags": {
	  "broken": {"state": "ENABLED", "variants": {"a": "A"}, "defaultVariant": "a", "targeting": {"nope": [1]}},
	  "broken-off": {"state": "DISABLED", "variants": {"a": "A"}, "defaultVariant": "a", "targeting": {"$ref": "missing"}},
	  "fine": {"state": "ENABLED", "variants": {"a": "A"}, "defaultVariant": "a"}}}`
	if _, err := Parse([]byte(doc)); err == nil {
		t.Fatal("Parse accepted unknown operators")
	}
	set, err := ParseLenient([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := set.Evaluate("broken", nil, testNow())
	if got.Reason != ReasonError || got.ErrorCode != ErrorParse || !strings.Contains(got.ErrorMessage, `unknown operator "nope"`) {
		t.Errorf("broken: %+v, want PARSE_ERROR naming the operator", got)
	}
	if got := set.Evaluate("broken-off", nil, testNow()); got.Reason != ReasonDisabled {
		t.Errorf("disabled broken flag: %+v, want DISABLED", got)
	}
	if got := set.Evaluate("fine", nil, testNow()); got.Reason != ReasonStatic {
		t.Errorf("fine: %+v, want STATIC", got)
	}
	info, _ := set.Flag("broken")
	if !strings.Contains(info.Problem, "unknown operator") {
		t.Errorf("FlagInfo.Problem %q, want the compile error", info.Problem)
	}
	if len(set.Problems()) != 2 {
		t.Errorf("Problems %v, want 2", set.Problems())
	}
}

func TestSetAccessors(t *testing.T) {
	set := mustParse(t, `{
	  "metadata": {"flagSetId": "staging"},
	  "$evaluators": {"gold": {"==": [{"var": "tier"}, "gold"]}},
	  "flags": {
	    "b": {"state": "ENABLED", "variants": {"x": {"deep": {"n": 1}}}, "defaultVariant": "x", "metadata": {"owner": "me"}},
	    "a": {"state": "DISABLED", "variants": {"on": true, "off": false},
	          "targeting": {"if": [ {"$ref": "gold"}, "on" ]}}}}`)
	if got := set.Keys(); !reflect.DeepEqual(got, []string{"a", "b"}) || set.Len() != 2 {
		t.Errorf("Keys %v Len %d, want [a b] and 2", got, set.Len())
	}
	set.Keys()[0] = "changed"
	if set.Keys()[0] != "a" {
		t.Error("Keys shares its slice")
	}
	meta := set.Metadata()
	meta["flagSetId"] = "changed"
	if set.Metadata()["flagSetId"] != "staging" {
		t.Error("Metadata shares its map")
	}
	info, ok := set.Flag("a")
	if !ok || info.State != StateDisabled || info.Type != TypeBoolean || info.DefaultVariant != "" ||
		string(info.Targeting) != `{"if":[{"$ref":"gold"},"on"]}` || info.Metadata != nil || info.Problem != "" {
		t.Errorf("Flag(a) = %+v", info)
	}
	info, _ = set.Flag("b")
	info.Variants["x"].(map[string]any)["deep"].(map[string]any)["n"] = 2.0
	if v := set.Evaluate("b", nil, testNow()).Value.(map[string]any)["deep"].(map[string]any)["n"]; v != 1.0 {
		t.Errorf("FlagInfo.Variants shares values with the set: n = %v", v)
	}
	if _, ok := set.Flag("c"); ok {
		t.Error("Flag(c) found a flag that does not exist")
	}
	all := set.EvaluateAll(nil, testNow())
	if len(all) != 2 || all[0].Key != "a" || all[1].Key != "b" {
		t.Errorf("EvaluateAll = %+v", all)
	}
}

// TestEvaluateConcurrently evaluates one Set from many goroutines; run it
// with -race.
func TestEvaluateConcurrently(t *testing.T) {
	set := mustParse(t, evaluateDoc)
	contexts := make([]map[string]any, 50)
	for i := range contexts {
		contexts[i] = map[string]any{
			"targetingKey": fmt.Sprintf("user-%d", i),
			"tier":         []string{"gold", "silver"}[i%2],
			"email":        fmt.Sprintf("admin@%d", i),
		}
	}
	keys := set.Keys()
	want := make(map[string]Evaluation)
	for i, ctx := range contexts {
		for _, k := range keys {
			want[fmt.Sprint(i, k)] = set.Evaluate(k, ctx, testNow())
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g*31 + n) % len(contexts)
				k := keys[n%len(keys)]
				got := set.Evaluate(k, contexts[i], testNow())
				if w := want[fmt.Sprint(i, k)]; !reflect.DeepEqual(got, w) {
					errs <- fmt.Sprintf("%s for context %d: got %+v, want %+v", k, i, got, w)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestEvaluateDoesNotChangeContext checks that evaluation leaves the
// caller's context as it was (flagd injects $flagd into a copy).
func TestEvaluateDoesNotChangeContext(t *testing.T) {
	set := mustParse(t, `{"flags": {"f": {"state": "ENABLED", "variants": {"a": "a"}, "defaultVariant": "a",
	  "targeting": {"if": [{"var": ""}, null]}}}}`)
	ctx := map[string]any{"targetingKey": "u", "$flagd": "mine"}
	before, _ := json.Marshal(ctx)
	set.Evaluate("f", ctx, time.Unix(5, 0))
	after, _ := json.Marshal(ctx)
	if string(before) != string(after) {
		t.Errorf("context changed from %s to %s", before, after)
	}
}
