package ofrep

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bodies to the request decoder: it must
// never panic, must refuse anything nested deeper than the limit, and what
// it accepts must be a context the evaluator can use.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"context":{}}`,
		`{"context":{"targetingKey":"user-1","email":"a@example.com","plan":"pro","n":1e3}}`,
		`{"context":{"targetingKey":null,"list":[1,[2,[3]]],"o":{"a":{"b":{}}}}}`,
		`{"context":"x"}`,
		`{"context":{"s":"[[[{{\"\\"}}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		`{"context":{"a":1}}trailing`,
		"\xff\xfe{}",
	} {
		f.Add([]byte(seed))
	}
	const maxDepth = 8
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx, reqErr := decodeRequest(body, maxDepth)
		if reqErr != nil {
			if reqErr.code == "" || reqErr.details == "" {
				t.Fatalf("refusal without code or details: %+v", reqErr)
			}
			return
		}
		if ctx == nil {
			t.Fatal("accepted a body without a context")
		}
		if tk, ok := ctx["targetingKey"]; ok && tk != nil {
			if _, isString := tk.(string); !isString {
				t.Fatalf("accepted targetingKey %T", tk)
			}
		}
		if d := depthOf(ctx) + 1; d > maxDepth {
			t.Fatalf("accepted a body %d levels deep, limit %d", d, maxDepth)
		}
		if _, err := json.Marshal(ctx); err != nil {
			t.Fatalf("accepted context cannot be encoded again: %v", err)
		}
	})
}

// depthOf is the nesting depth of a decoded JSON value, objects and arrays
// counting one level each.
func depthOf(v any) int {
	deepest := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			deepest = max(deepest, depthOf(e))
		}
	case []any:
		for _, e := range x {
			deepest = max(deepest, depthOf(e))
		}
	default:
		return 0
	}
	return deepest + 1
}
