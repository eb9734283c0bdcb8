package analysis

import (
	"testing"

	"sluice.dev/sluice/internal/spec"
)

// goldenSignals is the template of the design document.
const goldenSignals = `
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: golden-signals
spec:
  metrics:
    - name: errors
      interval: 5s
      failureLimit: 1
      provider:
        builtin: {window: 30s, minRequests: 50}
      successCondition: candidate.successRate >= stable.successRate - 0.01
    - name: latency
      interval: 5s
      provider:
        builtin: {window: 30s, minRequests: 50}
      successCondition: candidate.p99 <= stable.p99 * 1.2 + 0.005
`

// decodeTemplates decodes AnalysisTemplate documents as the API does.
func decodeTemplates(t testing.TB, yaml string) []Template {
	t.Helper()
	docs, err := spec.Decode([]byte(yaml))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var out []Template
	for _, d := range docs {
		out = append(out, Template{Name: d.Metadata.Name, Spec: d.AnalysisTemplate})
	}
	return out
}

// compile compiles templates for app hello, revision 2 against 1.
func compile(t testing.TB, yaml string, args []spec.AnalysisArg, opts Options) *Analysis {
	t.Helper()
	a, err := Compile(Target{App: "hello", Candidate: 2, Stable: 1}, decodeTemplates(t, yaml), args, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return a
}

// metric returns the metric named name.
func (a *Analysis) metric(t testing.TB, name string) *Metric {
	t.Helper()
	for _, m := range a.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no metric %q", name)
	return nil
}

// oneMetric is a template with one metric whose provider and conditions
// are given as YAML lines.
func oneMetric(provider, conditions string) string {
	return `
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: t
spec:
  metrics:
    - name: m
      provider: ` + provider + `
` + conditions
}
