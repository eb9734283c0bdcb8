package flags

// This file holds the logic operators (if, and, or, !, !!) and the
// comparisons (==, ===, !=, !==, <, <=, >, >=).

// ifNode is if: [cond1, then1, cond2, then2, …, else]. It returns the
// branch of the first true condition, else the trailing else, else null.
// With a single argument it returns that argument.
type ifNode struct{ args []node }

func (n ifNode) eval(st *state, data any) any {
	last := len(n.args) - 1
	for i := 0; i < last; i += 2 {
		if truthy(n.args[i].eval(st, data)) {
			return n.args[i+1].eval(st, data)
		}
	}
	if len(n.args)%2 == 1 {
		return n.args[last].eval(st, data)
	}
	return nil
}

// ifOp compiles if.
func (c *compiler) ifOp(path string, raw any) (node, bool) {
	args, _, ok := c.operands(path, "if", raw, arity{min: 1, max: -1, wantArray: true})
	return ifNode{args}, ok
}

// andOrNode is and (or, when or is set): it evaluates its arguments in
// order and returns the first false (true) one, else the last; with no
// arguments, null.
type andOrNode struct {
	args []node
	or   bool
}

func (n andOrNode) eval(st *state, data any) any {
	var last any
	for _, a := range n.args {
		last = a.eval(st, data)
		if truthy(last) == n.or {
			return last
		}
	}
	return last
}

// andOrOp compiles and and or.
func (c *compiler) andOrOp(path, op string, raw any) (node, bool) {
	args, _, ok := c.operands(path, op, raw, arity{min: 1, max: -1, wantArray: true})
	return andOrNode{args: args, or: op == "or"}, ok
}

// notNode is ! (or !!, when double is set) of its first argument; with no
// argument it negates null.
type notNode struct {
	arg    node // nil when there is none
	double bool
}

func (n notNode) eval(st *state, data any) any {
	var v any
	if n.arg != nil {
		v = n.arg.eval(st, data)
	}
	return truthy(v) == n.double
}

// notOp compiles ! and !!, which take one value, bare or in an array.
func (c *compiler) notOp(path, op string, raw any) (node, bool) {
	args, _, ok := c.operands(path, op, raw, arity{min: 0, max: -1})
	n := notNode{double: op == "!!"}
	if len(args) > 0 {
		n.arg = args[0]
	}
	return n, ok
}

// cmpOp is one comparison operator.
type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opStrictEq
	opStrictNe
	opLt
	opLe
	opGt
	opGe
)

// cmpOpOf maps an operator name to its comparison.
func cmpOpOf(name string) cmpOp {
	switch name {
	case "==":
		return opEq
	case "!=":
		return opNe
	case "===":
		return opStrictEq
	case "!==":
		return opStrictNe
	case "<":
		return opLt
	case "<=":
		return opLe
	case ">":
		return opGt
	default:
		return opGe
	}
}

// compareNode is a comparison of two values, or for < and <= of three
// ("between": a < b < c). Given fewer than two arguments, != and !== are
// true and the others false, as in flagd.
type compareNode struct {
	op   cmpOp
	args []node
}

func (n compareNode) eval(st *state, data any) any {
	if len(n.args) < 2 {
		return n.op == opNe || n.op == opStrictNe
	}
	a := n.args[0].eval(st, data)
	b := n.args[1].eval(st, data)
	switch n.op {
	case opEq:
		return looseEquals(a, b)
	case opNe:
		return !looseEquals(a, b)
	case opStrictEq:
		return strictEquals(a, b)
	case opStrictNe:
		return !strictEquals(a, b)
	}
	ordered := ordering(n.op, a, b)
	if len(n.args) < 3 || !ordered {
		return ordered
	}
	return ordering(n.op, b, n.args[2].eval(st, data))
}

// ordering applies an ordering comparison to a and b.
func ordering(op cmpOp, a, b any) bool {
	switch op {
	case opLt:
		return less(a, b)
	case opLe:
		return lessOrEqual(a, b)
	case opGt:
		return less(b, a)
	default:
		return lessOrEqual(b, a)
	}
}

// compareOp compiles a comparison.
func (c *compiler) compareOp(path, op string, raw any, a arity) (node, bool) {
	args, _, ok := c.operands(path, op, raw, a)
	return compareNode{op: cmpOpOf(op), args: args}, ok
}
