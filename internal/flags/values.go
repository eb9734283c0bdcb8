package flags

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// This file holds the JsonLogic value model: truthiness, the conversions
// between strings, numbers and booleans, and equality. Values are what
// encoding/json produces (nil, bool, string, float64, []any,
// map[string]any); a context built in Go may also hold other numeric kinds,
// which count as numbers everywhere.
//
// The rules follow github.com/diegoholiveira/jsonlogic/v3, the library
// flagd evaluates targeting with, so that a rule gives the same answer in
// sluice as in flagd. Where that library panics (flagd then reports
// PARSE_ERROR), the rules below follow JavaScript instead; doc.go lists
// those cases.

// truthy reports whether v counts as true in a condition. False, null, 0,
// "", [] and {} are false; everything else is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	if f, ok := number(v); ok {
		return f != 0
	}
	return true
}

// number returns v as a float64 when v is a Go number of any kind.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	case float32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// isNumber reports whether v is a number.
func isNumber(v any) bool {
	_, ok := number(v)
	return ok
}

// toNumber converts v the way comparisons do (JavaScript's ToNumber): null
// and "" are 0, booleans are 0 or 1, strings are parsed and are NaN when
// they are not numbers, arrays and objects are NaN.
func toNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		if strings.TrimSpace(x) == "" {
			return 0
		}
		f, err := strconv.ParseFloat(x, 64)
		if errors.Is(err, strconv.ErrSyntax) {
			return math.NaN()
		}
		return f
	}
	if f, ok := number(v); ok {
		return f
	}
	return math.NaN()
}

// toArith converts v the way arithmetic does in flagd's JsonLogic: a
// string that is not a number counts as 0, and so does anything else that
// is not a number or a boolean.
func toArith(v any) float64 {
	switch x := v.(type) {
	case string:
		f, _ := strconv.ParseFloat(x, 64) // 0 when x is not a number
		return f
	case bool:
		if x {
			return 1
		}
		return 0
	}
	if f, ok := number(v); ok {
		return f
	}
	return 0
}

// toString converts v to text the way cat and substr do: numbers in plain
// decimal notation, null as "", booleans as "true" and "false", arrays as
// their elements joined with commas and objects as "[object Object]".
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = toString(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return "[object Object]"
	}
	if f, ok := number(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

// looseEquals is JsonLogic's ==: null equals only null, two strings
// compare as text, anything else compares as numbers.
func looseEquals(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as == bs
	}
	return toNumber(a) == toNumber(b)
}

// strictEquals is JsonLogic's ===: values of different JSON types are never
// equal; values of the same type compare as == does, so arrays and objects
// are never equal to anything.
func strictEquals(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if jsonType(a) != jsonType(b) {
		return false
	}
	return looseEquals(a, b)
}

// less is JsonLogic's <: two strings compare as text, anything else as
// numbers (so a comparison with NaN is false).
func less(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as < bs
	}
	return toNumber(a) < toNumber(b)
}

// lessOrEqual is JsonLogic's <=.
func lessOrEqual(a, b any) bool {
	return less(a, b) || looseEquals(a, b)
}

// jsonType classifies v by JSON type, counting every Go number as a number.
func jsonType(v any) string {
	if isNumber(v) {
		return "number"
	}
	return jsonKind(v)
}

// formatNumber renders a number the way encoding/json does, which is how
// flagd turns a number returned by targeting into a variant name.
func formatNumber(f float64) (string, bool) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", false
	}
	return string(b), true
}
