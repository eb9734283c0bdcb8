package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// ErrCondition is matched by every error compiling or evaluating a
// successCondition or failureCondition.
var ErrCondition = errors.New("invalid condition")

// RevisionStats is what the builtin provider measured for one revision over
// a metric's window. Conditions see it as `candidate` and `stable`, with
// the names in the expr tags.
type RevisionStats struct {
	// Requests completed in the window.
	Requests int `expr:"requests" json:"requests"`
	// Errors among them (5xx, unreachable, broken off).
	Errors int `expr:"errors" json:"errors"`
	// SuccessRate is (Requests-Errors)/Requests, 0 to 1; 0 without requests.
	SuccessRate float64 `expr:"successRate" json:"successRate"`
	// ErrorRate is Errors/Requests, 0 to 1; 0 without requests.
	ErrorRate float64 `expr:"errorRate" json:"errorRate"`
	// P50, P90, P95 and P99 are latency quantiles in seconds.
	P50 float64 `expr:"p50" json:"p50"`
	P90 float64 `expr:"p90" json:"p90"`
	P95 float64 `expr:"p95" json:"p95"`
	P99 float64 `expr:"p99" json:"p99"`
	// TotalRequests and TotalErrors count since the revision first served:
	// the candidate's blast radius.
	TotalRequests int `expr:"totalRequests" json:"totalRequests"`
	TotalErrors   int `expr:"totalErrors" json:"totalErrors"`
}

// Comparison is the builtin provider's result: the candidate's and the
// stable revision's stats over the same window. It is also the variables
// of a builtin metric's conditions.
type Comparison struct {
	// Candidate is the revision being rolled out.
	Candidate RevisionStats `expr:"candidate" json:"candidate"`
	// Stable is the revision serving before it; all zero when there is
	// none.
	Stable RevisionStats `expr:"stable" json:"stable"`
}

// resultEnv holds the variables of a prometheus metric's conditions.
type resultEnv struct {
	Result float64 `expr:"result"`
}

// anyEnv holds the variables of a webhook metric's conditions: result is
// whatever JSON the webhook answered.
type anyEnv struct {
	Result any `expr:"result"`
}

// condition is one compiled successCondition or failureCondition.
type condition struct {
	field  string // successCondition or failureCondition
	source string
	prog   *vm.Program
	// refs are the variables the condition reads (`candidate.p99`,
	// `result`), compiled alone, to quote their values in messages.
	refs []ref
	// roots are the top-level variables it reads, such as stable.
	roots map[string]bool
}

// ref is one variable a condition reads.
type ref struct {
	path string
	prog *vm.Program
}

// compileCondition compiles src, which must be a bool expression over env.
func compileCondition(field, src string, env any) (*condition, error) {
	prog, err := expr.Compile(src, expr.Env(env), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", field, ErrCondition, compileMessage(err))
	}
	c := &condition{field: field, source: src, prog: prog, roots: map[string]bool{}}
	tree, err := parser.Parse(src)
	if err != nil { // cannot happen after a successful compile
		return nil, fmt.Errorf("%s: %w: %v", field, ErrCondition, err)
	}
	for _, path := range variablePaths(&tree.Node) {
		p, err := expr.Compile(path, expr.Env(env))
		if err != nil {
			continue // a path only meaningful in context (a closure's #)
		}
		c.refs = append(c.refs, ref{path: path, prog: p})
		c.roots[strings.SplitN(path, ".", 2)[0]] = true
	}
	return c, nil
}

// statsFields lists the fields of `candidate` and `stable`, for messages.
const statsFields = "requests, errors, successRate, errorRate, p50, p90, p95, p99, totalRequests, totalErrors"

// compileMessage turns an expr compile error into one line that speaks of
// the condition's variables, not of Go types.
func compileMessage(err error) string {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err.Error()
	}
	msg := fe.Message
	if field, ok := strings.CutPrefix(msg, "type analysis.RevisionStats has no field "); ok {
		msg = fmt.Sprintf("candidate and stable have no field %s (they have %s)", field, statsFields)
	}
	for _, env := range []string{"*analysis.Comparison", "*analysis.resultEnv", "*analysis.anyEnv"} {
		msg = strings.ReplaceAll(msg, env, "the provider's variables")
	}
	return fmt.Sprintf("%s (at column %d)", msg, fe.Column+1)
}

// eval runs the condition against env.
func (c *condition) eval(env any) (bool, error) {
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false, fmt.Errorf("%s %s: %w: %v", c.field, c.source, ErrCondition, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("%s %s: %w: got %T, want a bool", c.field, c.source, ErrCondition, out)
	}
	return b, nil
}

// variablePaths returns, in order of appearance and once each, the
// longest chains of identifiers and constant member accesses in a parsed
// expression (`candidate.p99`, `result.checks.passed`, `result`).
func variablePaths(root *ast.Node) []string {
	v := &pathCollector{inner: map[ast.Node]bool{}}
	ast.Walk(root, v)
	var out []string
	seen := map[string]bool{}
	for _, n := range v.chains {
		if v.inner[n] {
			continue
		}
		s := n.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pathCollector gathers variable chains while walking an expression tree.
// Walk visits children first, so an inner chain is collected before the
// member access that extends it marks it inner.
type pathCollector struct {
	chains []ast.Node
	inner  map[ast.Node]bool
}

// Visit implements ast.Visitor.
func (v *pathCollector) Visit(n *ast.Node) {
	switch node := (*n).(type) {
	case *ast.IdentifierNode:
		v.chains = append(v.chains, node)
	case *ast.MemberNode:
		if _, ok := node.Property.(*ast.StringNode); !ok || !isChain(node.Node) {
			return
		}
		v.inner[node.Node] = true
		v.chains = append(v.chains, node)
	}
}

// isChain reports whether n is an identifier or a constant member access
// of one.
func isChain(n ast.Node) bool {
	switch node := n.(type) {
	case *ast.IdentifierNode:
		return true
	case *ast.MemberNode:
		_, ok := node.Property.(*ast.StringNode)
		return ok && isChain(node.Node)
	}
	return false
}

// evidence lists the values of the variables the conditions read, such as
// "candidate.p99 = 0.012, stable.p99 = 0.0101".
func evidence(env any, conds ...*condition) string {
	var parts []string
	seen := map[string]bool{}
	for _, c := range conds {
		if c == nil {
			continue
		}
		for _, r := range c.refs {
			if seen[r.path] {
				continue
			}
			seen[r.path] = true
			v, err := expr.Run(r.prog, env)
			if err != nil {
				continue
			}
			parts = append(parts, r.path+" = "+formatValue(v))
		}
	}
	return strings.Join(parts, ", ")
}

// maxValueText bounds a value quoted in a message.
const maxValueText = 120

// formatValue writes a number with four significant digits and anything
// else as short JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return formatFloat(x)
	case int:
		return strconv.Itoa(x)
	case string:
		return strconv.Quote(truncate(x))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return truncate(fmt.Sprint(v))
	}
	return truncate(string(b))
}

// formatFloat writes f with four significant digits, and NaN and the
// infinities as Prometheus does.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

func truncate(s string) string {
	if len(s) <= maxValueText {
		return s
	}
	return strings.ToValidUTF8(s[:maxValueText], "") + "…"
}
