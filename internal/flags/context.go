package flags

import (
	"fmt"
	"strconv"
	"strings"
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
	invalid      string         // why a context value read cannot be used; "" when all were fine
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
			st.checkRead(parts, cur)
			return nil
		}
		if cur == nil {
			return nil
		}
	}
	out := st.materialize(cur)
	st.checkRead(parts, out)
	return out
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

// checkTargetingKey reports why the context's targeting key cannot be
// used, or "" when it can: when present, it must be a string.
func checkTargetingKey(ctx map[string]any) string {
	if tk, ok := ctx[targetingKeyField]; ok && tk != nil {
		if _, isString := tk.(string); !isString {
			return fmt.Sprintf("targetingKey must be a string, not %s", jsonType(tk))
		}
	}
	return ""
}

// checkRead records, the first time it happens, that targeting read a
// context value JSON cannot hold (a Go struct, a channel, a structure
// nested deeper than maxContextDepth or containing itself). Only what a
// rule reads is checked, so a context costs nothing it is not asked for.
func (st *state) checkRead(parts []string, v any) {
	switch v.(type) {
	case nil, bool, string, float64:
		return
	}
	if st.invalid != "" || isNumber(v) {
		return
	}
	inner, bad, ok := badValue(v, 1)
	if ok {
		return
	}
	where := strings.Join(parts, ".") + inner
	if bad == nil {
		st.invalid = fmt.Sprintf("context value %s nests deeper than %d levels", where, maxContextDepth)
		return
	}
	st.invalid = fmt.Sprintf("context value %s has type %T, which JSON cannot hold", where, bad)
}

// badValue finds a value JSON cannot hold inside v, depth levels down. It
// returns the path to it below v and the value (nil when v nests too
// deeply); the path is built only when something is found.
func badValue(v any, depth int) (string, any, bool) {
	if depth > maxContextDepth {
		return "", nil, false
	}
	switch x := v.(type) {
	case nil, bool, string, rootScope:
		return "", nil, true
	case []any:
		for i, e := range x {
			if inner, bad, ok := badValue(e, depth+1); !ok {
				return index("", i) + inner, bad, false
			}
		}
		return "", nil, true
	case map[string]any:
		for k, e := range x {
			if inner, bad, ok := badValue(e, depth+1); !ok {
				return "." + member("", k) + inner, bad, false
			}
		}
		return "", nil, true
	}
	if isNumber(v) {
		return "", nil, true
	}
	return "", v, false
}
