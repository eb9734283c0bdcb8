package flags

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/FuzzParse and
// testdata/fuzz/FuzzEvaluate. Run a fuzzer with, for example,
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 20s -fuzzminimizetime 3s ./internal/flags/
//
// (a short -fuzzminimizetime keeps the progress counter moving: a worker
// reports nothing while it minimizes a new input).

// FuzzParse checks that any document is either loaded or rejected with a
// *ValidationError, never a panic, and that both parsers agree.
func FuzzParse(f *testing.F) {
	f.Add([]byte(evaluateDoc))
	f.Add([]byte(benchDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		strict, err := Parse(data)
		if err != nil {
			var verr *ValidationError
			if strict != nil || !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("Parse: set %v, error %v (%T)", strict, err, err)
			}
		}
		lenient, lerr := ParseLenient(data)
		if strict != nil {
			if lerr != nil || len(lenient.Problems()) != 0 || !reflect.DeepEqual(lenient.Keys(), strict.Keys()) {
				t.Fatalf("Parse accepted what ParseLenient did not take cleanly: %v %v", lerr, lenient.Problems())
			}
		}
		if lenient == nil {
			return
		}
		ctx := map[string]any{"targetingKey": "user-1", "email": "a@b.c", "n": 1.0}
		for _, k := range lenient.Keys() {
			checkEvaluation(t, lenient, k, lenient.Evaluate(k, ctx, time.Unix(1700000000, 0)))
		}
	})
}

// FuzzEvaluate compiles any rule as a flag's targeting and evaluates it
// for any context.
func FuzzEvaluate(f *testing.F) {
	f.Add(`{"if": [{"==": [{"var": "tier"}, "gold"]}, "b", null]}`, `{"tier": "gold"}`)
	f.Add(`{"fractional": [["a", 50], ["b", 50]]}`, `{"targetingKey": "user-1"}`)
	f.Fuzz(func(t *testing.T, rule, context string) {
		var ctx map[string]any
		if json.Unmarshal([]byte(context), &ctx) != nil {
			return
		}
		doc, err := json.Marshal(map[string]any{
			"$evaluators": map[string]any{"e": map[string]any{"var": "tier"}},
			"flags": map[string]any{"f": map[string]any{
				"state": "ENABLED", "variants": map[string]any{"a": "A", "b": "B", "true": "T", "1": "one"},
				"defaultVariant": "a", "targeting": json.RawMessage(rule),
			}},
		})
		if err != nil {
			return // rule is not JSON
		}
		set, err := ParseLenient(doc)
		if err != nil {
			return
		}
		ev := set.Evaluate("f", ctx, time.Unix(1700000000, 0))
		checkEvaluation(t, set, "f", ev)
		if again := set.Evaluate("f", ctx, time.Unix(1700000000, 0)); !reflect.DeepEqual(again, ev) {
			t.Fatalf("evaluation is not deterministic: %+v then %+v", ev, again)
		}
	})
}

// checkEvaluation checks the invariants of any evaluation of flag key.
func checkEvaluation(t *testing.T, set *Set, key string, ev Evaluation) {
	t.Helper()
	info, ok := set.Flag(key)
	if !ok || ev.Key != key || ev.Type != info.Type {
		t.Fatalf("evaluation %+v of flag %+v", ev, info)
	}
	if (ev.Reason == ReasonError) != (ev.ErrorCode != "") || (ev.ErrorCode != "") != (ev.ErrorMessage != "") {
		t.Fatalf("reason and error disagree: %+v", ev)
	}
	if ev.Value == nil {
		if ev.Variant != "" {
			t.Fatalf("variant without value: %+v", ev)
		}
		return
	}
	if want, ok := info.Variants[ev.Variant]; !ok || !reflect.DeepEqual(want, ev.Value) {
		t.Fatalf("value %#v is not variant %q of %v", ev.Value, ev.Variant, info.Variants)
	}
}
