package flags

import (
	"math"
	"strings"
)

// This file holds the operators that read the data (var, missing,
// missing_some), do arithmetic (+ - * / % max min) and build text (cat,
// substr).

// flagd properties a var can name at the top of a rule.
const (
	propNone = iota
	propFlagKey
	propTimestamp
)

// varNode is var: the value at a dotted path of the data, or a default
// when that is missing or null. The path is split at compile time unless
// it is computed by a rule.
type varNode struct {
	parts []string // the constant path, split at dots
	prop  int      // propFlagKey or propTimestamp for "$flagd.flagKey" / "$flagd.timestamp"
	dyn   node     // computes the whole var argument at evaluation; parts unused then
	def   node     // the default; nil when there is none
}

func (n varNode) eval(st *state, data any) any {
	if n.dyn != nil {
		return st.getVar(data, n.dyn.eval(st, data))
	}
	if _, atRoot := data.(rootScope); atRoot {
		switch n.prop {
		case propFlagKey:
			return st.flagKeyValue
		case propTimestamp:
			return float64(st.timestamp)
		}
	}
	if v := st.lookup(data, n.parts); v != nil {
		return v
	}
	if n.def != nil {
		return n.def.eval(st, data)
	}
	return nil
}

// getVar resolves a var argument computed at evaluation, with the meaning
// flagd gives it: null names the data itself when that is a primitive, []
// and "" name the whole data, [name, default] carries a default, and a
// number is a path too.
func (st *state) getVar(data, arg any) any {
	var def any
	switch x := arg.(type) {
	case nil:
		switch data.(type) {
		case bool, string:
			return data
		}
		if isNumber(data) {
			return data
		}
		return nil
	case []any:
		if len(x) == 0 {
			return st.materialize(data)
		}
		if len(x) == 2 {
			def = x[1]
		}
		arg = x[0]
	}
	name, isString := arg.(string)
	if !isString {
		if !isNumber(arg) {
			return nil
		}
		name = toString(arg)
	}
	if v := st.lookup(data, strings.Split(name, ".")); v != nil {
		return v
	}
	return def
}

// varOp compiles var.
func (c *compiler) varOp(path string, raw any) (node, bool) {
	arg, def := raw, any(nil)
	hasDef := false
	if list, isArray := raw.([]any); isArray {
		switch {
		case len(list) == 0:
			return varNode{}, true // the whole data
		case len(list) > 2:
			c.probs.add(sevLint, path, "var takes a name and an optional default, got %d values", len(list))
			n, ok := c.compile(path, raw)
			return varNode{dyn: n}, ok
		case len(list) == 2:
			def, hasDef = list[1], true
		}
		arg = list[0]
	}
	var name string
	switch x := arg.(type) {
	case string:
		name = x
	case float64:
		name = toString(x)
	case map[string]any:
		n, ok := c.compile(path, raw)
		return varNode{dyn: n}, ok
	case nil:
		if _, isArray := raw.([]any); !isArray {
			return varNode{dyn: constNode{nil}}, true
		}
		c.probs.add(sevLint, path, "var needs a name (a string), got null")
		return varNode{dyn: constNode{raw}}, true
	default:
		c.probs.add(sevLint, path, "var needs a name (a string), got %s", jsonKind(arg))
		return varNode{dyn: constNode{raw}}, true
	}
	n := varNode{parts: strings.Split(name, ".")}
	switch name {
	case "$flagd.flagKey":
		n.prop = propFlagKey
	case "$flagd.timestamp":
		n.prop = propTimestamp
	default:
		if strings.HasPrefix(name, flagdField+".") {
			c.probs.add(sevLint, path, "%q is not a flagd property; flagd injects only $flagd.flagKey and $flagd.timestamp", name)
		}
	}
	if hasDef {
		d, ok := c.compile(index(path, 1), def)
		if !ok {
			return nil, false
		}
		n.def = d
	}
	return n, true
}

// missingNode is missing: the names among its arguments (or among the
// elements of a single array argument) whose var is null.
type missingNode struct{ args []node }

func (n missingNode) eval(st *state, data any) any {
	names := evalAll(st, data, n.args)
	if len(names) == 1 {
		if list, isArray := names[0].([]any); isArray {
			names = list
		}
	}
	out := []any{}
	for _, name := range names {
		if st.getVar(data, name) == nil {
			out = append(out, name)
		}
	}
	return out
}

// missingOp compiles missing, whose argument is an array of names.
func (c *compiler) missingOp(path string, raw any) (node, bool) {
	c.checkNames(path, "missing", raw)
	args, _, ok := c.operands(path, "missing", raw, arity{min: 0, max: -1})
	return missingNode{args}, ok
}

// checkNames records a sevLint problem unless raw is an array of strings.
func (c *compiler) checkNames(path, op string, raw any) {
	list, isArray := raw.([]any)
	if !isArray {
		c.probs.add(sevLint, path, "%s takes an array of names, got %s", op, jsonKind(raw))
		return
	}
	for i, e := range list {
		if _, isString := e.(string); !isString {
			c.probs.add(sevLint, index(path, i), "%s takes names (strings), got %s", op, jsonKind(e))
		}
	}
}

// missingSomeNode is missing_some: [need, names]; the missing names when
// fewer than need are present, else [].
type missingSomeNode struct{ need, names node }

func (n missingSomeNode) eval(st *state, data any) any {
	need := toArith(n.need.eval(st, data))
	names, isArray := n.names.eval(st, data).([]any)
	if !isArray {
		return []any{}
	}
	missing := []any{}
	for _, name := range names {
		if st.getVar(data, name) == nil {
			missing = append(missing, name)
		}
	}
	if need > float64(len(names)-len(missing)) {
		return missing
	}
	return []any{}
}

// missingSomeOp compiles missing_some.
func (c *compiler) missingSomeOp(path string, raw any) (node, bool) {
	args, list, ok := c.operands(path, "missing_some", raw, arity{min: 2, max: 2, wantArray: true})
	if !ok {
		return nil, false
	}
	if len(args) != 2 {
		return constNode{[]any{}}, true
	}
	if _, isNum := list[0].(float64); !isNum {
		c.probs.add(sevLint, index(path, 0), "missing_some needs a number first, got %s", jsonKind(list[0]))
	}
	c.checkNames(index(path, 1), "missing_some", list[1])
	return missingSomeNode{need: args[0], names: args[1]}, true
}

// mathNode is one of + - * / % max min over its arguments, which are
// converted with toArith.
type mathNode struct {
	op   string
	args []node
}

func (n mathNode) eval(st *state, data any) any {
	if len(n.args) == 0 {
		switch n.op {
		case "*":
			return 1.0
		case "%", "max", "min":
			return nil
		}
		return 0.0
	}
	acc := toArith(n.args[0].eval(st, data))
	if len(n.args) == 1 {
		switch n.op {
		case "-":
			return -acc
		case "%":
			return nil
		}
		return acc
	}
	for _, a := range n.args[1:] {
		v := toArith(a.eval(st, data))
		switch n.op {
		case "+":
			acc += v
		case "-":
			acc -= v
		case "*":
			acc *= v
		case "/":
			acc /= v
		case "%":
			return math.Mod(acc, v)
		case "max":
			acc = max(acc, v)
		case "min":
			acc = min(acc, v)
		}
	}
	return acc
}

// mathOp compiles an arithmetic operator.
func (c *compiler) mathOp(path, op string, raw any) (node, bool) {
	a := arity{min: 1, max: -1, wantArray: true}
	switch op {
	case "*":
		a.min = 2
	case "/", "%":
		a.min, a.max = 2, 2
	}
	args, _, ok := c.operands(path, op, raw, a)
	return mathNode{op: op, args: args}, ok
}

// catNode is cat: its arguments as text, joined. When it joins two or more
// the result is trimmed of surrounding white space, as in flagd.
type catNode struct{ args []node }

func (n catNode) eval(st *state, data any) any {
	switch len(n.args) {
	case 0:
		return ""
	case 1:
		return toString(n.args[0].eval(st, data))
	}
	var b strings.Builder
	for _, a := range n.args {
		s := toString(a.eval(st, data))
		if !st.spend(len(s)) {
			return ""
		}
		b.WriteString(s)
	}
	return strings.TrimSpace(b.String())
}

// substrNode is substr: [text, start, length?], counting in characters. A
// negative start counts from the end; a negative length stops that many
// characters before the end.
type substrNode struct{ args []node }

func (n substrNode) eval(st *state, data any) any {
	vals := evalAll(st, data, n.args)
	runes := []rune(toString(at(vals, 0)))
	size := len(runes)
	from := int(toArith(at(vals, 1)))
	if from < 0 {
		from += size
	}
	if from < 0 || from > size {
		return string(runes)
	}
	to := size
	if len(vals) > 2 {
		length := int(toArith(vals[2]))
		if length < 0 {
			to = size + length
		} else {
			to = from + length
		}
	}
	to = min(to, size)
	if to < from {
		return ""
	}
	return string(runes[from:to])
}

// textOp compiles cat and substr.
func (c *compiler) textOp(path, op string, raw any) (node, bool) {
	if op == "cat" {
		args, _, ok := c.operands(path, op, raw, arity{min: 1, max: -1, wantArray: true})
		return catNode{args}, ok
	}
	args, _, ok := c.operands(path, op, raw, arity{min: 2, max: 3, wantArray: true})
	return substrNode{args}, ok
}

// evalAll evaluates each node.
func evalAll(st *state, data any, nodes []node) []any {
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = n.eval(st, data)
	}
	return out
}

// at returns vals[i], or nil past the end.
func at(vals []any, i int) any {
	if i < len(vals) {
		return vals[i]
	}
	return nil
}

// affixNode is starts_with (or ends_with, when suffix is set): [text,
// affix]. Unless it gets exactly two strings it is null, not false, so
// that targeting falls back to the default variant, as in flagd.
type affixNode struct {
	suffix bool
	args   []node
}

func (n affixNode) eval(st *state, data any) any {
	if len(n.args) != 2 {
		return nil
	}
	text, ok1 := n.args[0].eval(st, data).(string)
	affix, ok2 := n.args[1].eval(st, data).(string)
	if !ok1 || !ok2 {
		return nil
	}
	if n.suffix {
		return strings.HasSuffix(text, affix)
	}
	return strings.HasPrefix(text, affix)
}

// affixOp compiles starts_with and ends_with.
func (c *compiler) affixOp(path, op string, raw any) (node, bool) {
	args, list, ok := c.operands(path, op, raw, arity{min: 2, max: 2, wantArray: true})
	for i, v := range list {
		switch v.(type) {
		case string, map[string]any:
		default:
			c.probs.add(sevLint, index(path, i), "%s compares strings, got %s", op, jsonKind(v))
		}
	}
	return affixNode{suffix: op == "ends_with", args: args}, ok
}
