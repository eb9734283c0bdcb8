package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// stats returns revision stats with n requests, e errors and p99.
func stats(n, e int, p99 float64) RevisionStats {
	s := RevisionStats{Requests: n, Errors: e, P50: p99 / 4, P90: p99 / 2, P95: p99 / 1.5, P99: p99, TotalRequests: n * 3, TotalErrors: e * 3}
	if n > 0 {
		s.ErrorRate = float64(e) / float64(n)
		s.SuccessRate = 1 - s.ErrorRate
	}
	return s
}

func TestJudgeBuiltin(t *testing.T) {
	a := compile(t, goldenSignals, nil, Options{})
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name        string
		metric      string
		res         Result
		err         error
		want        Verdict
		wantMessage string
	}{
		{"good", "errors", Result{Revisions: &Comparison{Candidate: stats(400, 2, 0.01), Stable: stats(9000, 40, 0.01)}}, nil,
			Successful, "successful: candidate.successRate >= stable.successRate - 0.01 is true (400 requests, candidate.successRate = 0.995, stable.successRate = 0.9956)"},
		{"error rate 30 %", "errors", Result{Revisions: &Comparison{Candidate: stats(100, 30, 0.01), Stable: stats(2000, 0, 0.01)}}, nil,
			Failed, "failed: candidate.successRate >= stable.successRate - 0.01 is false (100 requests, candidate.successRate = 0.7, stable.successRate = 1)"},
		{"just within a point", "errors", Result{Revisions: &Comparison{Candidate: stats(1000, 10, 0.01), Stable: stats(1000, 0, 0.01)}}, nil,
			Successful, ""},
		{"too few requests", "errors", Result{Revisions: &Comparison{Candidate: stats(12, 12, 0.01), Stable: stats(900, 0, 0.01)}}, nil,
			Inconclusive, "inconclusive: 12 requests, need 50"},
		{"no requests yet", "latency", Result{Revisions: &Comparison{Stable: stats(900, 0, 0.01)}}, nil,
			Inconclusive, "inconclusive: 0 requests, need 50"},
		{"stable too quiet to compare", "latency", Result{Revisions: &Comparison{Candidate: stats(60, 0, 0.5), Stable: stats(3, 0, 0.01)}}, nil,
			Inconclusive, "inconclusive: stable served 3 requests, need 50"},
		{"slow", "latency", Result{Revisions: &Comparison{Candidate: stats(80, 0, 0.25), Stable: stats(3000, 0, 0.02)}}, nil,
			Failed, "failed: candidate.p99 <= stable.p99 * 1.2 + 0.005 is false (80 requests, candidate.p99 = 0.25, stable.p99 = 0.02)"},
		{"slightly slower is fine", "latency", Result{Revisions: &Comparison{Candidate: stats(80, 0, 0.023), Stable: stats(3000, 0, 0.02)}}, nil,
			Successful, ""},
		{"provider error", "errors", Result{}, errors.New("stats of app \"hello\": unknown app"),
			Error, "error: stats of app \"hello\": unknown app"},
		{"no data is inconclusive", "errors", Result{}, fmt.Errorf("revision 2: %w", ErrNoData),
			Inconclusive, "inconclusive: revision 2: no data"},
		{"no stats", "errors", Result{}, nil,
			Error, "error: the builtin provider returned no revision stats"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := a.metric(t, tc.metric).Judge(tc.res, tc.err, at)
			if got.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", got.Verdict, got.Message, tc.want)
			}
			if tc.wantMessage != "" && got.Message != tc.wantMessage {
				t.Errorf("message\n got %q\nwant %q", got.Message, tc.wantMessage)
			}
			if got.Template != "golden-signals" || got.Metric != tc.metric || !got.At.Equal(at) {
				t.Errorf("identity %s/%s at %v", got.Template, got.Metric, got.At)
			}
			if !strings.HasPrefix(got.Condition, "successCondition: candidate.") {
				t.Errorf("condition %q", got.Condition)
			}
			if tc.res.Revisions != nil {
				if got.SampleSize != int64(tc.res.Revisions.Candidate.Requests) {
					t.Errorf("sample size %d, want the candidate's %d requests", got.SampleSize, tc.res.Revisions.Candidate.Requests)
				}
				if !strings.Contains(string(got.Value), `"successRate"`) || !strings.Contains(string(got.Value), `"stable"`) {
					t.Errorf("value %s lacks the stats", got.Value)
				}
			}
			if (tc.want == Error) != (got.Error != "") {
				t.Errorf("error field %q for verdict %s", got.Error, got.Verdict)
			}
		})
	}
}

func TestJudgeBuiltinWithoutStableReference(t *testing.T) {
	// A condition that reads only the candidate does not need stable
	// traffic.
	a := compile(t, oneMetric(`{builtin: {minRequests: 10}}`, `      failureCondition: candidate.errorRate > 0.05 || candidate.totalErrors > 100`), nil, Options{})
	m := a.Metrics[0]
	got := m.Judge(Result{Revisions: &Comparison{Candidate: stats(20, 0, 0.01)}}, nil, time.Time{})
	if got.Verdict != Successful {
		t.Fatalf("got %s: %s", got.Verdict, got.Message)
	}
	want := "successful: candidate.errorRate > 0.05 || candidate.totalErrors > 100 is false (20 requests, candidate.errorRate = 0, candidate.totalErrors = 0)"
	if got.Message != want {
		t.Errorf("message\n got %q\nwant %q", got.Message, want)
	}
	got = m.Judge(Result{Revisions: &Comparison{Candidate: stats(20, 2, 0.01)}}, nil, time.Time{})
	if got.Verdict != Failed || !strings.HasPrefix(got.Message, "failed: candidate.errorRate > 0.05 || candidate.totalErrors > 100 is true") {
		t.Errorf("got %s: %s", got.Verdict, got.Message)
	}
}

func TestJudgePrometheus(t *testing.T) {
	provider := `{prometheus: {address: "http://127.0.0.1:9090", query: "q"}}`
	cases := []struct {
		name       string
		conditions string
		res        Result
		err        error
		want       Verdict
		message    string
		value      string
	}{
		{"success", "      successCondition: result < 0.05", Result{Value: 0.01}, nil, Successful,
			"successful: result < 0.05 is true (result = 0.01)", "0.01"},
		{"failure", "      successCondition: result < 0.05", Result{Value: 0.2}, nil, Failed,
			"failed: result < 0.05 is false (result = 0.2)", "0.2"},
		{"failure condition", "      failureCondition: result >= 0.05", Result{Value: 0.2}, nil, Failed,
			"failed: result >= 0.05 is true (result = 0.2)", "0.2"},
		{"both conditions hold", "      successCondition: result < 0.05\n      failureCondition: result > 0.5", Result{Value: 0.01}, nil, Successful,
			"successful: result < 0.05 is true, result > 0.5 is false (result = 0.01)", "0.01"},
		{"success false with failure false", "      successCondition: result < 0.05\n      failureCondition: result > 0.5", Result{Value: 0.1}, nil, Failed,
			"failed: result < 0.05 is false (result = 0.1)", "0.1"},
		{"NaN is no data", "      successCondition: result < 0.05", Result{Value: math.NaN()}, nil, Inconclusive,
			"inconclusive: the query returned NaN (nothing counted in its range)", `"NaN"`},
		{"infinity is a value", "      successCondition: result < 0.05", Result{Value: math.Inf(1)}, nil, Failed,
			"failed: result < 0.05 is false (result = +Inf)", `"+Inf"`},
		{"empty result", "      successCondition: result < 0.05", Result{}, fmt.Errorf("query %q: %w", "q", ErrNoData), Inconclusive,
			`inconclusive: query "q": no data`, ""},
		{"not a number", "      successCondition: result < 0.05", Result{Value: "x"}, nil, Error,
			"error: the prometheus provider returned string, want a number", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, oneMetric(provider, tc.conditions), nil, Options{}).Metrics[0]
			got := m.Judge(tc.res, tc.err, time.Time{})
			if got.Verdict != tc.want || got.Message != tc.message {
				t.Errorf("got %s %q\nwant %s %q", got.Verdict, got.Message, tc.want, tc.message)
			}
			if string(got.Value) != tc.value {
				t.Errorf("value %s, want %s", got.Value, tc.value)
			}
		})
	}
}

func TestJudgeWebhook(t *testing.T) {
	provider := `{webhook: {url: "http://127.0.0.1:8000/check"}}`
	body := map[string]any{"ok": true, "checks": map[string]any{"passed": 9.0, "total": 10.0}}
	cases := []struct {
		name       string
		conditions string
		value      any
		want       Verdict
		message    string
	}{
		{"bool field", "      successCondition: result.ok", body, Successful, "successful: result.ok is true (result.ok = true)"},
		{"nested numbers", "      successCondition: result.checks.passed / result.checks.total >= 0.95", body, Failed,
			"failed: result.checks.passed / result.checks.total >= 0.95 is false (result.checks.passed = 9, result.checks.total = 10)"},
		{"a bare bool", "      successCondition: result == true", true, Successful, "successful: result == true is true (result = true)"},
		{"missing field is nil", "      failureCondition: result.error != nil", body, Successful, "successful: result.error != nil is false (result.error = null)"},
		{"not a bool", "      successCondition: result.checks", body, Error, ""},
		{"wrong type", "      successCondition: result.ok > 3", body, Error, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, oneMetric(provider, tc.conditions), nil, Options{}).Metrics[0]
			got := m.Judge(Result{Value: tc.value}, nil, time.Time{})
			if got.Verdict != tc.want {
				t.Fatalf("got %s %q, want %s", got.Verdict, got.Message, tc.want)
			}
			if tc.message != "" && got.Message != tc.message {
				t.Errorf("message\n got %q\nwant %q", got.Message, tc.message)
			}
			if tc.want == Error && !strings.Contains(got.Error, "condition") {
				t.Errorf("error %q should say it is the condition's", got.Error)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{0.123456, "0.1235"}, {1.0, "1"}, {12345.0, "1.234e+04"}, {7, "7"}, {"s", `"s"`},
		{math.NaN(), "NaN"}, {math.Inf(-1), "-Inf"}, {nil, "null"}, {true, "true"},
		{strings.Repeat("é", 100), `"` + strings.Repeat("é", 60) + `…"`},
	}
	for _, tc := range cases {
		if got := formatValue(tc.in); got != tc.want {
			t.Errorf("formatValue(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLargeValuesAreCut(t *testing.T) {
	m := compile(t, oneMetric(`{webhook: {url: "http://127.0.0.1:8000/"}}`, "      successCondition: len(result.log) > 0"), nil, Options{}).Metrics[0]
	got := m.Judge(Result{Value: map[string]any{"log": strings.Repeat("line\n", 10000)}}, nil, time.Time{})
	if got.Verdict != Successful || len(got.Value) > 2048 || !strings.Contains(string(got.Value), "bytes of JSON, cut") {
		t.Errorf("verdict %s, value of %d bytes: %.80s…", got.Verdict, len(got.Value), got.Value)
	}
	var s string
	if err := json.Unmarshal(got.Value, &s); err != nil {
		t.Errorf("the cut value is not a JSON string: %v", err)
	}
}
