package analysis

import (
	"encoding/json"
	"testing"
)

func TestThresholdOf(t *testing.T) {
	builtin, _ := json.Marshal(Comparison{Candidate: RevisionStats{SuccessRate: 0.9, P99: 0.2}, Stable: RevisionStats{SuccessRate: 0.99, P99: 0.1}})
	for _, tc := range []struct {
		cond, value string
		ok          bool
		want        Threshold
	}{
		{"candidate.successRate >= stable.successRate - 0.01", string(builtin), true,
			Threshold{LeftExpr: "candidate.successRate", RightExpr: "stable.successRate - 0.01", Op: ">=", Left: 0.9, Right: 0.98}},
		{"candidate.p99 <= stable.p99 * 1.2 + 0.005", string(builtin), true,
			Threshold{LeftExpr: "candidate.p99", RightExpr: "stable.p99 * 1.2 + 0.005", Op: "<=", Left: 0.2, Right: 0.125}},
		{"result < 0.01", "0.25", true, Threshold{LeftExpr: "result", RightExpr: "0.01", Op: "<", Left: 0.25, Right: 0.01}},
		{"result.passed == result.total", `{"passed": 3, "total": 4}`, true,
			Threshold{LeftExpr: "result.passed", RightExpr: "result.total", Op: "==", Left: 3, Right: 4}},
		{"successCondition: result < 0.01; failureCondition: result > 0.1", "0.25", true,
			Threshold{LeftExpr: "result", RightExpr: "0.01", Op: "<", Left: 0.25, Right: 0.01}},
		{"failureCondition: result > 0.1", "0.25", true, Threshold{LeftExpr: "result", RightExpr: "0.1", Op: ">", Left: 0.25, Right: 0.1}},
		{"result > 0 && result < 1", "0.5", false, Threshold{}},     // not one comparison
		{"result == true", "true", false, Threshold{}},              // not numbers
		{"result < 0.01", "", false, Threshold{}},                   // no value (an error)
		{"candidate.nope > 1", string(builtin), false, Threshold{}}, // a side that does not evaluate to a number
		{"result <", "1", false, Threshold{}},                       // does not parse
	} {
		got, ok := ThresholdOf(tc.cond, json.RawMessage(tc.value))
		if ok != tc.ok {
			t.Errorf("%q over %s: ok %v", tc.cond, tc.value, ok)
			continue
		}
		if !ok {
			continue
		}
		if got.LeftExpr != tc.want.LeftExpr || got.RightExpr != tc.want.RightExpr || got.Op != tc.want.Op ||
			!near(got.Left, tc.want.Left) || !near(got.Right, tc.want.Right) {
			t.Errorf("%q over %s: %+v, want %+v", tc.cond, tc.value, got, tc.want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
