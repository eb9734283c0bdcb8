package flags

import "strings"

// This file holds the operators on arrays: in, merge, and the ones that
// run a rule over each element (map, filter, all, some, none, reduce).

// inNode is in: [needle, haystack]. In a string it looks for a substring.
// In an array it looks for an equal element, where an element that is
// itself an array [low, high] matches a number between the two, as in
// flagd.
type inNode struct{ needle, hay node }

func (n inNode) eval(st *state, data any) any {
	needle := n.needle.eval(st, data)
	switch hay := n.hay.eval(st, data).(type) {
	case string:
		return strings.Contains(hay, toString(needle))
	case []any:
		for _, e := range hay {
			if elementMatches(needle, e) {
				return true
			}
		}
	}
	return false
}

// elementMatches reports whether array element e matches needle for in.
func elementMatches(needle, e any) bool {
	if r, isRange := e.([]any); isRange {
		if len(r) < 2 {
			return false
		}
		v := toArith(needle)
		return v >= toArith(r[0]) && toArith(r[1]) >= v
	}
	if isNumber(needle) {
		_, isString := e.(string)
		return (isNumber(e) || isString) && toArith(e) == toArith(needle)
	}
	switch x := needle.(type) {
	case nil:
		return e == nil
	case string:
		s, ok := e.(string)
		return ok && s == x
	case bool:
		b, ok := e.(bool)
		return ok && b == x
	}
	return false
}

// mergeNode is merge: its arguments flattened one level into one array.
type mergeNode struct{ args []node }

func (n mergeNode) eval(st *state, data any) any {
	out := make([]any, 0, len(n.args))
	for _, a := range n.args {
		v := a.eval(st, data)
		if list, isArray := v.([]any); isArray {
			if !st.spend(len(list)) {
				return []any{}
			}
			out = append(out, list...)
			continue
		}
		out = append(out, v)
	}
	return out
}

// collectionOp compiles in and merge.
func (c *compiler) collectionOp(path, op string, raw any) (node, bool) {
	if op == "merge" {
		args, _, ok := c.operands(path, op, raw, arity{min: 1, max: -1, wantArray: true})
		return mergeNode{args}, ok
	}
	args, _, ok := c.operands(path, op, raw, arity{min: 2, max: 2, wantArray: true})
	if len(args) < 2 {
		return constNode{false}, ok
	}
	return inNode{needle: args[0], hay: args[1]}, ok
}

// loopKind is one of the operators that run a rule over array elements.
type loopKind int

const (
	loopMap loopKind = iota
	loopFilter
	loopAll
	loopSome
	loopNone
)

// loopNode is map, filter, all, some or none: [array, rule], where inside
// the rule var reads the element. all and some are false for an empty
// array, none is true.
type loopNode struct {
	kind  loopKind
	array node
	rule  node
}

func (n loopNode) eval(st *state, data any) any {
	list, _ := n.array.eval(st, data).([]any)
	if !st.spend(len(list)) {
		list = nil
	}
	switch n.kind {
	case loopMap, loopFilter:
		out := make([]any, 0, len(list))
		for _, e := range list {
			v := n.rule.eval(st, e)
			if n.kind == loopMap {
				out = append(out, v)
			} else if truthy(v) {
				out = append(out, e)
			}
		}
		return out
	case loopAll:
		for _, e := range list {
			if !truthy(n.rule.eval(st, e)) {
				return false
			}
		}
		return len(list) > 0
	case loopSome:
		for _, e := range list {
			if truthy(n.rule.eval(st, e)) {
				return true
			}
		}
		return false
	default: // loopNone
		for _, e := range list {
			if truthy(n.rule.eval(st, e)) {
				return false
			}
		}
		return true
	}
}

// reduceNode is reduce: [array, rule, initial]; inside the rule var reads
// "current" (the element) and "accumulator" (the result so far).
type reduceNode struct{ array, rule, initial node }

func (n reduceNode) eval(st *state, data any) any {
	acc := n.initial.eval(st, data)
	list, _ := n.array.eval(st, data).([]any)
	if !st.spend(len(list)) {
		return acc
	}
	for _, e := range list {
		acc = n.rule.eval(st, reduceScope{current: e, accumulator: acc})
	}
	return acc
}

// loopOp compiles map, filter, all, some, none and reduce.
func (c *compiler) loopOp(path, op string, raw any) (node, bool) {
	a := arity{min: 2, max: 2, wantArray: true}
	if op == "reduce" {
		a.min, a.max = 3, 3
	}
	args, _, ok := c.operands(path, op, raw, a)
	for len(args) < a.min {
		args = append(args, constNode{nil})
	}
	if op == "reduce" {
		return reduceNode{array: args[0], rule: args[1], initial: args[2]}, ok
	}
	kinds := map[string]loopKind{"map": loopMap, "filter": loopFilter, "all": loopAll, "some": loopSome, "none": loopNone}
	return loopNode{kind: kinds[op], array: args[0], rule: args[1]}, ok
}
