package flags

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// node is one compiled piece of a targeting rule. eval computes its value
// for the data in scope (rootScope at the top of a rule, an array element
// inside map or filter, a reduceScope inside reduce). Nodes are immutable
// and shared by every evaluation; all per-evaluation state lives in st.
type node interface {
	eval(st *state, data any) any
}

// constNode is a literal, boxed once at compile time.
type constNode struct{ v any }

func (n constNode) eval(*state, any) any { return n.v }

// arrayNode is an array literal with rules among its elements; each
// evaluation builds a new array of their values.
type arrayNode struct{ elems []node }

func (n arrayNode) eval(st *state, data any) any {
	out := make([]any, len(n.elems))
	for i, e := range n.elems {
		out[i] = e.eval(st, data)
	}
	return out
}

// constant returns the value of a literal node.
func constant(n node) (any, bool) {
	c, ok := n.(constNode)
	return c.v, ok
}

// compiler turns decoded targeting JSON into nodes, once per Parse. It
// resolves $ref against $evaluators (compiling each evaluator once and
// sharing the result), and records every problem it finds rather than
// stopping at the first.
type compiler struct {
	probs      *problems
	evaluators map[string]any
	done       map[string]compiledEvaluator
	active     []string // evaluators being compiled, innermost last
}

// compiledEvaluator is the outcome of compiling one $evaluators entry.
type compiledEvaluator struct {
	n  node
	ok bool
}

// newCompiler returns a compiler for a document's $evaluators.
func newCompiler(probs *problems, evaluators map[string]any) *compiler {
	return &compiler{probs: probs, evaluators: evaluators, done: map[string]compiledEvaluator{}}
}

// compile compiles v, found at path, as a rule or an operand. It reports
// false when v cannot be compiled (an unknown operator, a $ref to
// nothing); the problem is then recorded with severity sevFlag.
func (c *compiler) compile(path string, v any) (node, bool) {
	switch x := v.(type) {
	case map[string]any:
		return c.object(path, x)
	case []any:
		return c.array(path, x)
	default:
		return constNode{v}, true
	}
}

// object compiles an object: {} is a literal, anything else must be a rule
// with exactly one operator, or a {"$ref": name}.
func (c *compiler) object(path string, obj map[string]any) (node, bool) {
	if len(obj) == 0 {
		return constNode{map[string]any{}}, true
	}
	if len(obj) > 1 {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c.probs.add(sevFlag, path, "a rule must have exactly one operator, found %d keys (%s)", len(obj), quoteList(keys))
		return nil, false
	}
	for op, args := range obj {
		if op == "$ref" {
			return c.ref(member(path, op), args)
		}
		return c.operator(member(path, op), op, args)
	}
	panic("unreachable")
}

// array compiles an array literal; its elements are evaluated, so it is a
// constant only when they all are.
func (c *compiler) array(path string, list []any) (node, bool) {
	elems, ok := c.list(path, list)
	if !ok {
		return nil, false
	}
	values := make([]any, len(elems))
	for i, e := range elems {
		v, isConst := constant(e)
		if !isConst {
			return arrayNode{elems}, true
		}
		values[i] = v
	}
	return constNode{values}, true
}

// list compiles each element of list.
func (c *compiler) list(path string, list []any) ([]node, bool) {
	out := make([]node, len(list))
	ok := true
	for i, e := range list {
		n, eok := c.compile(index(path, i), e)
		out[i] = n
		ok = ok && eok
	}
	return out, ok
}

// arity is how many arguments an operator takes.
type arity struct {
	min, max  int  // max < 0: no limit
	wantArray bool // the schema requires the arguments as an array
}

// String describes the arity for messages.
func (a arity) String() string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case a.max < 0:
		return "at least " + plural(a.min)
	case a.min == a.max:
		return "exactly " + plural(a.min)
	default:
		return fmt.Sprintf("%d to %s", a.min, plural(a.max))
	}
}

// operands compiles an operator's arguments. A value that is not an array
// counts as a single argument, as in JsonLogic; when the schema wants an
// array, or the count is outside the arity, a sevLint problem is recorded
// and the operator keeps its runtime meaning for what it was given.
func (c *compiler) operands(path, op string, raw any, a arity) ([]node, []any, bool) {
	list, isArray := raw.([]any)
	if !isArray {
		if a.wantArray {
			c.probs.add(sevLint, path, "%s takes an array of arguments (%s), got %s", op, a, jsonKind(raw))
		}
		n, ok := c.compile(path, raw)
		return []node{n}, []any{raw}, ok
	}
	if len(list) < a.min || (a.max >= 0 && len(list) > a.max) {
		c.probs.add(sevLint, path, "%s takes %s, got %d", op, a, len(list))
	}
	nodes, ok := c.list(path, list)
	return nodes, list, ok
}

// ref resolves {"$ref": name} to the compiled $evaluators entry.
func (c *compiler) ref(path string, raw any) (node, bool) {
	name, isString := raw.(string)
	if !isString {
		c.probs.add(sevFlag, path, "$ref must name an entry of $evaluators, got %s", jsonKind(raw))
		return nil, false
	}
	if done, seen := c.done[name]; seen {
		if !done.ok {
			c.probs.add(sevFlag, path, "evaluator %q cannot be compiled (see $evaluators.%s)", name, name)
		}
		return done.n, done.ok
	}
	if slices.Contains(c.active, name) {
		cycle := append(slices.Clone(c.active[slices.Index(c.active, name):]), name)
		c.probs.add(sevFlag, path, "$ref cycle: %s", strings.Join(cycle, " -> "))
		return nil, false
	}
	if _, exists := c.evaluators[name]; !exists {
		c.probs.add(sevFlag, path, "$ref %q: no such entry in $evaluators", name)
		return nil, false
	}
	n, ok := c.evaluator(name)
	if !ok {
		c.probs.add(sevFlag, path, "evaluator %q cannot be compiled (see $evaluators.%s)", name, name)
	}
	return n, ok
}

// evaluator compiles the $evaluators entry name, once.
func (c *compiler) evaluator(name string) (node, bool) {
	if done, seen := c.done[name]; seen {
		return done.n, done.ok
	}
	c.active = append(c.active, name)
	n, ok := c.compile(member("$evaluators", name), c.evaluators[name])
	c.active = c.active[:len(c.active)-1]
	c.done[name] = compiledEvaluator{n: n, ok: ok}
	return n, ok
}

// operator compiles one operator application; path already names the
// operator.
func (c *compiler) operator(path, op string, raw any) (node, bool) {
	switch op {
	case "var":
		return c.varOp(path, raw)
	case "missing":
		return c.missingOp(path, raw)
	case "missing_some":
		return c.missingSomeOp(path, raw)
	case "if":
		return c.ifOp(path, raw)
	case "and", "or":
		return c.andOrOp(path, op, raw)
	case "!", "!!":
		return c.notOp(path, op, raw)
	case "==", "===", "!=", "!==", ">", ">=":
		return c.compareOp(path, op, raw, arity{min: 2, max: 2, wantArray: true})
	case "<", "<=":
		return c.compareOp(path, op, raw, arity{min: 2, max: 3, wantArray: true})
	case "+", "-", "*", "/", "%", "max", "min":
		return c.mathOp(path, op, raw)
	case "cat", "substr":
		return c.textOp(path, op, raw)
	case "in", "merge":
		return c.collectionOp(path, op, raw)
	case "map", "filter", "all", "some", "none", "reduce":
		return c.loopOp(path, op, raw)
	case "starts_with", "ends_with":
		return c.affixOp(path, op, raw)
	case "sem_ver":
		return c.semverOp(path, raw)
	case "fractional":
		return c.fractionalOp(path, raw)
	}
	c.probs.add(sevFlag, path, "unknown operator %q", op)
	return nil, false
}
