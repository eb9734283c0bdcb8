package analysis

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Threshold is a condition of the form `left <op> right` evaluated for one
// measured value: what was measured (Left) against its limit (Right). It
// is what a chart draws: the measurement as a point, the limit as a line.
type Threshold struct {
	// LeftExpr and RightExpr are the condition's two sides, as written.
	LeftExpr, RightExpr string
	// Op is the comparison: <, <=, >, >=, == or !=.
	Op string
	// Left and Right are the two sides' values for the measurement.
	Left, Right float64
}

// ThresholdOf splits condition at its top-level comparison and evaluates
// both sides over value, a measurement's stored result: a builtin
// comparison (`candidate` and `stable`) or any other result (`result`).
// condition is an expression, or the conditions a measurement recorded
// (`successCondition: X; failureCondition: Y`), of which the success
// condition is taken (the failure condition when there is none). ok is
// false when the condition is not one comparison or a side is not a
// number.
func ThresholdOf(condition string, value json.RawMessage) (Threshold, bool) {
	tree, err := parser.Parse(chartedCondition(condition))
	if err != nil {
		return Threshold{}, false
	}
	bin, ok := tree.Node.(*ast.BinaryNode)
	if !ok {
		return Threshold{}, false
	}
	switch bin.Operator {
	case "<", "<=", ">", ">=", "==", "!=":
	default:
		return Threshold{}, false
	}
	env, ok := resultVariables(value)
	if !ok {
		return Threshold{}, false
	}
	t := Threshold{LeftExpr: bin.Left.String(), RightExpr: bin.Right.String(), Op: bin.Operator}
	if t.Left, ok = evalNumber(t.LeftExpr, env); !ok {
		return Threshold{}, false
	}
	if t.Right, ok = evalNumber(t.RightExpr, env); !ok {
		return Threshold{}, false
	}
	return t, true
}

// chartedCondition picks the expression to chart from recorded conditions.
func chartedCondition(recorded string) string {
	const success, failure = "successCondition: ", "failureCondition: "
	if rest, ok := strings.CutPrefix(recorded, success); ok {
		expr, _, _ := strings.Cut(rest, "; "+failure)
		return expr
	}
	if rest, ok := strings.CutPrefix(recorded, failure); ok {
		return rest
	}
	return recorded
}

// resultVariables are a condition's variables for a stored result.
func resultVariables(value json.RawMessage) (map[string]any, bool) {
	var v any
	if len(value) == 0 || json.Unmarshal(value, &v) != nil {
		return nil, false
	}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["candidate"]; ok {
			return m, true
		}
	}
	return map[string]any{"result": v}, true
}

// evalNumber evaluates src over env as a float64.
func evalNumber(src string, env map[string]any) (float64, bool) {
	out, err := expr.Eval(src, env)
	if err != nil {
		return 0, false
	}
	switch n := out.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// String reads like the condition with its values: `0.97 >= 0.99`.
func (t Threshold) String() string {
	return fmt.Sprintf("%s %s %s", formatFloat(t.Left), t.Op, formatFloat(t.Right))
}
