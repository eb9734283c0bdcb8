package analysis

import (
	"strings"
	"testing"

	"sluice.dev/sluice/internal/spec"
)

func TestCheck(t *testing.T) {
	builtin := `{builtin: {}}`
	prom := `{prometheus: {address: "http://127.0.0.1:9090", query: "up{app=\"{{args.app}}\"}"}}`
	cases := []struct {
		name     string
		yaml     string
		path     string
		contains string
	}{
		{"good builtin", oneMetric(builtin, "      successCondition: candidate.p99 < stable.p99 * 2"), "", ""},
		{"misspelt field", oneMetric(builtin, "      successCondition: candidate.succesRate > 0.9"), "spec.metrics[0].successCondition", "succesRate"},
		{"result in builtin", oneMetric(builtin, "      failureCondition: result > 1"), "spec.metrics[0].failureCondition", "result"},
		{"undeclared arg", oneMetric(prom, "      successCondition: result > 0"), "spec.metrics[0].provider.prometheus.query", `"app"`},
		{"declared arg without a value is fine", strings.Replace(oneMetric(prom, "      successCondition: result > 0"), "spec:\n", "spec:\n  args: [{name: app}]\n", 1), "", ""},
		{"unknown placeholder", oneMetric(`{webhook: {url: "http://x/{{revision}}"}}`, "      successCondition: result.ok"), "spec.metrics[0].provider.webhook.url", "{{revision}}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := spec.Decode([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			problems := Check(docs[0].AnalysisTemplate)
			if tc.path == "" {
				if len(problems) != 0 {
					t.Errorf("problems %v", problems)
				}
				return
			}
			if len(problems) != 1 || problems[0].Path != tc.path || !strings.Contains(problems[0].Message, tc.contains) {
				t.Errorf("problems %v, want one at %s mentioning %s", problems, tc.path, tc.contains)
			}
		})
	}
	if Check(DefaultTemplate().Spec) != nil || Check(nil) != nil {
		t.Error("the default template has problems")
	}
}
