package flags

import (
	"fmt"
	"strings"
	"testing"
)

// Targets: a static flag ≤ 300 ns and 0 allocations, a targeting rule
// ≤ 2 µs, fractional ≤ 2 µs, loading 10,000 flags < 1 s. Run with
//
//	go test -run '^$' -bench . -benchmem ./internal/flags/

// benchDoc is a small realistic flag set.
const benchDoc = `{
  "metadata": {"flagSetId": "production", "version": "42"},
  "$evaluators": {
    "staff": {"ends_with": [{"var": "email"}, "@example.com"]}
  },
  "flags": {
    "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on",
               "metadata": {"owner": "checkout"}},
    "targeted": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"if": [
        {"and": [{"$ref": "staff"}, {"in": [{"var": "country"}, ["DE", "FR", "NL"]]}]}, "on",
        {"sem_ver": [{"var": "appVersion"}, ">=", "2.3.0"]}, "on",
        "off"]}},
    "fractional": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"fractional": [["on", 10], ["off", 90]]}},
    "fractional-cat": {"state": "ENABLED", "variants": {"a": "a", "b": "b", "c": "c", "d": "d"}, "defaultVariant": "a",
      "targeting": {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "user.id"}]},
        ["a", 25], ["b", 25], ["c", 25], ["d", 25]]}}
  }
}`

// benchContext is a typical evaluation context.
func benchContext() map[string]any {
	return map[string]any{
		"targetingKey": "3f2c9a1e-7d4b-4e0a-9c1b-5a6d7e8f9012",
		"email":        "kim@example.com",
		"country":      "NL",
		"appVersion":   "2.4.1",
		"user":         map[string]any{"id": "u-12345"},
	}
}

// benchEvaluate evaluates key repeatedly and checks the reason once.
func benchEvaluate(b *testing.B, key string, want Reason) {
	set := mustParse(b, benchDoc)
	ctx := benchContext()
	now := testNow()
	if got := set.Evaluate(key, ctx, now); got.Reason != want {
		b.Fatalf("%s: %+v, want reason %s", key, got, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set.Evaluate(key, ctx, now)
	}
}

func BenchmarkEvaluateStatic(b *testing.B) {
	benchEvaluate(b, "static", ReasonStatic)
}

func BenchmarkEvaluateTargeting(b *testing.B) {
	benchEvaluate(b, "targeted", ReasonTargetingMatch)
}

func BenchmarkEvaluateFractional(b *testing.B) {
	benchEvaluate(b, "fractional", ReasonTargetingMatch)
}

func BenchmarkEvaluateFractionalBucketingRule(b *testing.B) {
	benchEvaluate(b, "fractional-cat", ReasonTargetingMatch)
}

// largeDoc is a flag set of n flags: static, targeted, fractional and
// sem_ver flags in turn, sharing two evaluators.
func largeDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@example.com"]},
	  "beta": {"in": [{"var": "country"}, ["DE", "FR", "NL"]]}}, "flags": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `"flag-%05d": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
		  "metadata": {"owner": "team-%d"}`, i, i%17)
		switch i % 4 {
		case 1:
			b.WriteString(`, "targeting": {"if": [{"and": [{"$ref": "staff"}, {"$ref": "beta"}]}, "on", null]}`)
		case 2:
			fmt.Fprintf(&b, `, "targeting": {"fractional": [["on", %d], ["off", %d]]}`, i%100, 100-i%100)
		case 3:
			b.WriteString(`, "targeting": {"if": [{"sem_ver": [{"var": "appVersion"}, "^", "2.0.0"]}, "on", "off"]}`)
		}
		b.WriteString("}")
	}
	b.WriteString("}}")
	return []byte(b.String())
}

func BenchmarkParse10000Flags(b *testing.B) {
	doc := largeDoc(10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		set, err := Parse(doc)
		if err != nil || set.Len() != 10000 {
			b.Fatalf("Parse: %v", err)
		}
	}
}
