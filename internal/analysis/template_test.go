package analysis

import (
	"errors"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/spec"
)

func TestSubstitute(t *testing.T) {
	v := vars{"args.service": "checkout", "args.empty": "", "app": "hello", "candidate": "2", "stable": "1"}
	cases := []struct {
		in, want string
		err      error
	}{
		{"no placeholders", "no placeholders", nil},
		{`rate(x{service="{{args.service}}"}[1m])`, `rate(x{service="checkout"}[1m])`, nil},
		{"{{ args.service }}-{{app}}-{{candidate}}-{{stable}}", "checkout-hello-2-1", nil},
		{"a{{args.empty}}b", "ab", nil},
		{"{{args.service}}{{args.service}}", "checkoutcheckout", nil},
		{"{{args.nope}}", "", ErrUndeclaredArg},
		{"{{nope}}", "", ErrPlaceholder},
		{"x{{args.service", "", ErrPlaceholder},
		{"{single} braces are PromQL", "{single} braces are PromQL", nil},
	}
	for _, tc := range cases {
		got, err := v.substitute(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("substitute(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCompileResolvesArgs(t *testing.T) {
	yaml := `
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: http
spec:
  args:
    - name: service
    - name: threshold
      value: "0.05"
  metrics:
    - name: error-ratio
      interval: 10s
      count: 3
      initialDelay: 20s
      failureLimit: 2
      provider:
        prometheus:
          address: http://prometheus.local:9090
          query: sum(rate(errors{service="{{args.service}}",revision="{{candidate}}"}[1m])) / {{ args.threshold }}
          headers: [{name: Authorization, value: "Bearer {{args.token}}"}]
      successCondition: result < 1
    - name: smoke
      provider:
        webhook: {url: "http://smoke.local/{{app}}/{{args.service}}"}
      successCondition: result.ok
`
	// args.token is used but not declared: an error naming the field.
	_, err := Compile(Target{App: "hello", Candidate: 2, Stable: 1}, decodeTemplates(t, yaml), []spec.AnalysisArg{{Name: "service", Value: "checkout"}}, Options{})
	if !errors.Is(err, ErrUndeclaredArg) || !strings.Contains(err.Error(), `template "http" metric "error-ratio": provider.prometheus.headers[0].value`) {
		t.Fatalf("undeclared token: %v", err)
	}
	yaml = strings.Replace(yaml, "- name: threshold", "- name: token\n      value: t0k\n    - name: threshold", 1)
	templates := decodeTemplates(t, yaml)
	before := templates[0].Spec.Metrics[0].Provider.Prometheus.Query
	a, err := Compile(Target{App: "hello", Candidate: 2, Stable: 1}, templates,
		[]spec.AnalysisArg{{Name: "service", Value: "checkout"}, {Name: "threshold", Value: "0.01"}, {Name: "other", Value: "ignored"}}, Options{DefaultCount: 5})
	if err != nil {
		t.Fatal(err)
	}
	if templates[0].Spec.Metrics[0].Provider.Prometheus.Query != before {
		t.Error("Compile changed the template's spec")
	}
	m := a.metric(t, "error-ratio")
	if q := m.Provider.Prometheus.Query; q != `sum(rate(errors{service="checkout",revision="2"}[1m])) / 0.01` {
		t.Errorf("query %q", q)
	}
	if h := m.Provider.Prometheus.Headers[0].Value; h != "Bearer t0k" {
		t.Errorf("header %q", h)
	}
	if m.Interval != 10*time.Second || m.InitialDelay != 20*time.Second || m.Count != 3 || m.FailureLimit != 2 || m.ConsecutiveErrorLimit != spec.DefaultConsecutiveErrorLimit {
		t.Errorf("schedule and limits %+v", m)
	}
	if m.Args["service"] != "checkout" || m.Args["threshold"] != "0.01" || m.Args["token"] != "t0k" || len(m.Args) != 3 {
		t.Errorf("args %v", m.Args)
	}
	smoke := a.metric(t, "smoke")
	if u := smoke.Provider.Webhook.URL; u != "http://smoke.local/hello/checkout" {
		t.Errorf("url %q", u)
	}
	if smoke.Count != 5 || smoke.Interval != spec.DefaultMetricInterval {
		t.Errorf("smoke count %d interval %s: want the default count 5 and interval", smoke.Count, smoke.Interval)
	}
	req := smoke.Request()
	if req.Target.App != "hello" || req.Template != "http" || req.Metric != "smoke" || req.Provider.Webhook == nil || req.Args["service"] != "checkout" {
		t.Errorf("request %+v", req)
	}
	if got := m.Conditions(); got != "successCondition: result < 1" {
		t.Errorf("conditions %q", got)
	}
}

func TestCompileErrors(t *testing.T) {
	builtin := `{builtin: {}}`
	prom := `{prometheus: {address: "http://127.0.0.1:9090", query: "up"}}`
	cases := []struct {
		name    string
		yaml    string
		args    []spec.AnalysisArg
		is      error
		message string
	}{
		{"misspelt field", oneMetric(builtin, "      successCondition: candidate.succesRate > 0.9"), nil, ErrCondition, "successCondition"},
		{"unknown variable", oneMetric(builtin, "      successCondition: canary.successRate > 0.9"), nil, ErrCondition, "canary"},
		{"result is not builtin's", oneMetric(builtin, "      failureCondition: result > 1"), nil, ErrCondition, "failureCondition"},
		{"candidate is not prometheus'", oneMetric(prom, "      successCondition: candidate.p99 < 1"), nil, ErrCondition, "candidate"},
		{"not a bool", oneMetric(prom, "      successCondition: result + 1"), nil, ErrCondition, "bool"},
		{"missing arg", strings.Replace(oneMetric(prom, "      successCondition: result < 1"), "spec:\n", "spec:\n  args: [{name: service}]\n", 1), nil, ErrMissingArg, `"service"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(Target{App: "a", Candidate: 2, Stable: 1}, decodeTemplates(t, tc.yaml), tc.args, Options{})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), `template "t"`) {
				t.Errorf("error %v, want %v mentioning %q and the template", err, tc.is, tc.message)
			}
		})
	}
	gs := decodeTemplates(t, goldenSignals)
	for name, templates := range map[string][]Template{
		"none":  nil,
		"twice": {gs[0], gs[0]},
		"nil":   {{Name: "x"}},
		"empty": {{Name: "x", Spec: &spec.AnalysisTemplate{}}},
	} {
		if _, err := Compile(Target{App: "a"}, templates, nil, Options{}); !errors.Is(err, ErrTemplate) {
			t.Errorf("%s: %v, want ErrTemplate", name, err)
		}
	}
}

func TestCompileDefaultsUndefaultedSpec(t *testing.T) {
	// A spec that did not go through spec.Decode gets the same defaults.
	tmpl := &spec.AnalysisTemplate{Metrics: []spec.Metric{{
		Name:             "m",
		Provider:         spec.MetricProvider{Builtin: &spec.BuiltinProvider{}},
		SuccessCondition: "candidate.errorRate < 0.01",
	}}}
	a, err := Compile(Target{App: "a", Candidate: 2}, []Template{{Name: "t", Spec: tmpl}}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Metrics[0]
	if m.Window() != spec.DefaultBuiltinWindow || m.MinRequests != spec.DefaultBuiltinMinRequests || m.Interval != spec.DefaultMetricInterval {
		t.Errorf("window %s minRequests %d interval %s", m.Window(), m.MinRequests, m.Interval)
	}
	if tmpl.Metrics[0].Provider.Builtin.Window != nil {
		t.Error("Compile wrote defaults into the template")
	}
}

func TestVariablePaths(t *testing.T) {
	cases := []struct {
		src  string
		want []string
	}{
		{"candidate.p99 <= stable.p99 * 1.2 + 0.005", []string{"candidate.p99", "stable.p99"}},
		{"result.a.b > 1 && result.a.c < result.a.b", []string{"result.a.b", "result.a.c"}},
		{"result", []string{"result"}},
		{`result["x"] == 1`, []string{`result.x`}},
		{"all(result.items, {.ok})", []string{"result.items"}},
	}
	for _, tc := range cases {
		var env any = &anyEnv{}
		if strings.HasPrefix(tc.src, "candidate") {
			env = &Comparison{}
		}
		c, err := compileCondition("successCondition", tc.src, env)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		var got []string
		for _, r := range c.refs {
			got = append(got, r.path)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: paths %v, want %v", tc.src, got, tc.want)
		}
	}
}

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
