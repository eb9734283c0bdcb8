package flags

import (
	"fmt"
	"strconv"
)

// targetingKeyField is the context member that holds the OpenFeature
// targeting key; fractional buckets on it when no bucketing value is given.
const targetingKeyField = "targetingKey"

// flagdField is the context member flagd injects: {"flagKey", "timestamp"}.
const flagdField = "$flagd"

// evalBudget bounds the work one evaluation may do: loop iterations plus
// elements and bytes built by merge, map, filter and cat. Rules written by
// people stay far below it; a rule that would not (a reduce that doubles a
// string at each step) fails with GENERAL instead of exhausting memory.
const evalBudget = 1 << 20

// maxContextDepth bounds how deeply an evaluation context may nest, which
// also stops a Go map that contains itself.
const maxContextDepth = 64

// state is what one evaluation of one flag's targeting carries: the
// caller's context, the properties flagd injects, and the work budget. It
// lives for one call of Evaluate and is never shared.
type state struct {
	ctx          map[string]any
	flagKey      string
	flagKeyValue any // flagKey, boxed once per flag at parse time
	timestamp    int64
	budget       int
	exceeded     bool
	root         map[string]any // the root data as one map, built on demand
}

// newState starts an evaluation of flag key (keyValue is the same key,
// boxed) for ctx at unix time ts.
func newState(ctx map[string]any, key string, keyValue any, ts int64) *state {
	return &state{ctx: ctx, flagKey: key, flagKeyValue: keyValue, timestamp: ts, budget: evalBudget}
}

// spend takes n units from the budget and reports whether any were left.
func (st *state) spend(n int) bool {
	if st.exceeded {
		return false
	}
	st.budget -= n
	if st.budget < 0 {
		st.exceeded = true
	}
	return !st.exceeded
}

// flagdProps returns the injected $flagd object.
func (st *state) flagdProps() map[string]any {
	return map[string]any{"flagKey": st.flagKey, "timestamp": float64(st.timestamp)}
}

// rootMap returns the root data as a map: the context with $flagd injected,
// as flagd builds it. It is built once, and only for rules that ask for the
// whole data ({"var": ""}).
func (st *state) rootMap() map[string]any {
	if st.root == nil {
		st.root = make(map[string]any, len(st.ctx)+1)
		for k, v := range st.ctx {
			st.root[k] = v
		}
		st.root[flagdField] = st.flagdProps()
	}
	return st.root
}

// targetingKey returns the context's targeting key, and false when there
// is none or it is empty.
func (st *state) targetingKey() (string, bool) {
	tk, ok := st.ctx[targetingKeyField].(string)
	return tk, ok && tk != ""
}

// rootScope is the data at the top of a rule: the evaluation context with
// $flagd injected. It stands in for that map so that the map need not be
// copied for every evaluation.
type rootScope struct{}

// reduceScope is the data inside reduce's rule: {"current", "accumulator"}.
type reduceScope struct {
	current, accumulator any
}

// lookup walks a dotted path (already split) from data, as var does: an
// empty part is skipped, arrays are indexed by number, and a missing or
// null step gives nil.
func (st *state) lookup(data any, parts []string) any {
	cur := data
	for _, p := range parts {
		if p == "" {
			continue
		}
		switch d := cur.(type) {
		case rootScope:
			if p == flagdField {
				cur = st.flagdProps()
			} else {
				cur = st.ctx[p]
			}
		case reduceScope:
			switch p {
			case "current":
				cur = d.current
			case "accumulator":
				cur = d.accumulator
			default:
				return nil
			}
		case map[string]any:
			cur = d[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(d) {
				return nil
			}
			cur = d[i]
		default:
			return nil
		}
		if cur == nil {
			return nil
		}
	}
	return st.materialize(cur)
}

// materialize turns the scope stand-ins into the data they stand for.
func (st *state) materialize(v any) any {
	switch d := v.(type) {
	case rootScope:
		return st.rootMap()
	case reduceScope:
		return map[string]any{"current": d.current, "accumulator": d.accumulator}
	}
	return v
}

// checkContext reports why an evaluation context cannot be used, or ""
// when it can: every value must be one JSON can hold (null, boolean,
// string, number, array, object), and the targeting key, when present,
// must be a string.
func checkContext(ctx map[string]any) string {
	if tk, ok := ctx[targetingKeyField]; ok && tk != nil {
		if _, isString := tk.(string); !isString {
			return fmt.Sprintf("targetingKey must be a string, not %s", jsonType(tk))
		}
	}
	for k, v := range ctx {
		if msg := checkValue(k, v, 1); msg != "" {
			return msg
		}
	}
	return ""
}

// checkValue checks one context value at path, depth levels down.
func checkValue(path string, v any, depth int) string {
	if depth > maxContextDepth {
		return fmt.Sprintf("context value %s nests deeper than %d levels", path, maxContextDepth)
	}
	switch x := v.(type) {
	case nil, bool, string:
		return ""
	case []any:
		for i, e := range x {
			if msg := checkValue(index(path, i), e, depth+1); msg != "" {
				return msg
			}
		}
		return ""
	case map[string]any:
		for k, e := range x {
			if msg := checkValue(member(path, k), e, depth+1); msg != "" {
				return msg
			}
		}
		return ""
	}
	if isNumber(v) {
		return ""
	}
	return fmt.Sprintf("context value %s has type %T, which JSON cannot hold", path, v)
}
