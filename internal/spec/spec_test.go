package spec

import (
	"strings"
	"testing"
	"time"
)

const canonical = `
apiVersion: sluice.dev/v1
kind: App
metadata:
  name: hello
spec:
  listen: 127.0.0.1:8080
  progressDeadline: 5m
  runtime:
    process:
      command: ["./bin/hello"]
      args: ["--verbose"]
      workingDir: .
      replicas: 2
      stopGracePeriod: 10s
      env:
        - name: VERSION
          value: v1
        - name: DB_PASSWORD
          valueFrom: {secret: {path: hello/db, key: password}}
  healthCheck:
    path: /health
    interval: 2s
    timeout: 1s
    healthyThreshold: 2
    unhealthyThreshold: 3
  strategy:
    canary:
      stickiness: {header: X-User-ID}
      steps:
        - setWeight: 1
        - pause: {duration: 30s}
        - setWeight: 5
        - analysis: {templates: [{name: golden-signals}]}
        - setWeight: 25.5
        - pause: {}
      analysis:
        templates: [{name: golden-signals}]
---
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

func TestDecodeCanonical(t *testing.T) {
	docs, err := Decode([]byte(canonical))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	app := docs[0].App
	if docs[0].ID() != "App/hello" || app == nil {
		t.Fatalf("first document = %s", docs[0].ID())
	}
	if got := *app.Runtime.Process.Replicas; got != 2 {
		t.Errorf("replicas = %d, want 2", got)
	}
	if got := app.Strategy.Canary.Steps[4].SetWeight.BasisPoints(); got != 2550 {
		t.Errorf("setWeight 25.5 = %d bp, want 2550", got)
	}
	if got := app.Strategy.Canary.Steps[1].Pause.Duration.Duration; got != 30*time.Second {
		t.Errorf("pause = %s, want 30s", got)
	}
	if app.Strategy.Canary.Steps[5].Pause.Duration != nil {
		t.Errorf("an empty pause must wait for a human")
	}
	tpl := docs[1].AnalysisTemplate
	if tpl == nil || len(tpl.Metrics) != 2 || *tpl.Metrics[1].ConsecutiveErrorLimit != DefaultConsecutiveErrorLimit {
		t.Fatalf("template not decoded with defaults: %+v", tpl)
	}
}

func TestDefaults(t *testing.T) {
	docs, err := Decode([]byte(`{"apiVersion":"sluice.dev/v1","kind":"App","metadata":{"name":"a"},
		"spec":{"listen":":9000","runtime":{"process":{"command":["x"]}},"healthCheck":{"interval":"500ms"}}}`))
	if err != nil {
		t.Fatalf("Decode JSON: %v", err)
	}
	a := docs[0].App
	checks := []struct {
		name      string
		got, want any
	}{
		{"progressDeadline", a.ProgressDeadline.Duration, DefaultProgressDeadline},
		{"replicas", *a.Runtime.Process.Replicas, DefaultReplicas},
		{"stopGracePeriod", a.Runtime.Process.StopGracePeriod.Duration, DefaultStopGracePeriod},
		{"health path", a.HealthCheck.Path, DefaultHealthPath},
		{"health timeout follows a short interval", a.HealthCheck.Timeout.Duration, 500 * time.Millisecond},
		{"statusCodes", a.HealthCheck.StatusCodes[0], DefaultStatusCodes},
		{"strategy is canary", a.Strategy.Canary != nil, true},
		{"scaleDownDelay", a.Strategy.Canary.ScaleDownDelay.Duration, DefaultScaleDownDelay},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(string(docs[0].Spec), `"interval":"500ms"`) {
		t.Errorf("canonical spec lost the interval: %s", docs[0].Spec)
	}
}

func TestBlueGreenDefaults(t *testing.T) {
	docs, err := Decode([]byte(app(`strategy: {blueGreen: {previewListen: "127.0.0.1:8081"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	bg := docs[0].App.Strategy.BlueGreen
	if !*bg.AutoPromote || bg.ScaleDownDelay.Duration != DefaultScaleDownDelay {
		t.Errorf("blue-green defaults not applied: %+v", bg)
	}
}

// app builds an App document with extra spec lines appended.
func app(extra ...string) string {
	s := "apiVersion: sluice.dev/v1\nkind: App\nmetadata: {name: web}\nspec:\n  listen: 127.0.0.1:8080\n  runtime: {process: {command: [./web]}}\n"
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	return s
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // each must appear in the error
	}{
		{"malformed yaml", "kind: App\n  name: [", []string{"document 1"}},
		{"empty", "", []string{"no documents"}},
		{"unknown top field", app() + "extra: 1\n", []string{"extra: unknown field"}},
		{"unknown nested field", app("healthCheck: {path: /h, intervall: 2s}"), []string{"spec.healthCheck.intervall: unknown field"}},
		{"wrong type", app("healthCheck: {healthyThreshold: two}"), []string{"spec.healthCheck.healthyThreshold: must be a whole number, got a string"}},
		{"fractional threshold", app("healthCheck: {healthyThreshold: 1.5}"), []string{"healthyThreshold: must be a whole number"}},
		{"bad duration", app("healthCheck: {interval: 5x}"), []string{`spec.healthCheck.interval: invalid duration "5x"`}},
		{"negative duration", app("progressDeadline: -1s"), []string{"spec.progressDeadline: invalid duration"}},
		{"timeout over interval", app("healthCheck: {interval: 1s, timeout: 2s}"), []string{"spec.healthCheck.timeout: must not be longer than interval"}},
		{"missing name", strings.Replace(app(), "{name: web}", "{}", 1), []string{"metadata.name: is required"}},
		{"non-DNS name", strings.Replace(app(), "{name: web}", "{name: Web_1}", 1), []string{"metadata.name: \"Web_1\" is not a DNS label"}},
		{"wrong apiVersion", strings.Replace(app(), "sluice.dev/v1", "v2", 1), []string{"apiVersion: \"v2\" is not supported"}},
		{"unknown kind", strings.Replace(app(), "kind: App", "kind: Gadget", 1), []string{"kind: \"Gadget\" is not a known kind"}},
		{"port out of range", strings.Replace(app(), "8080", "70000", 1), []string{"spec.listen: port \"70000\" is out of range"}},
		{"port zero", strings.Replace(app(), "8080", "0", 1), []string{"spec.listen: port \"0\" is out of range"}},
		{"no port", strings.Replace(app(), "127.0.0.1:8080", "localhost", 1), []string{"spec.listen: \"localhost\" is not host:port"}},
		{"no runtime", strings.Replace(app(), "runtime: {process: {command: [./web]}}", "runtime: {}", 1), []string{"spec.runtime: one of process or static is required"}},
		{"two runtimes", strings.Replace(app(), "runtime: {process: {command: [./web]}}", "runtime: {process: {command: [x]}, static: {addresses: [\"127.0.0.1:1\"]}}", 1), []string{"spec.runtime: only one of"}},
		{"empty command", strings.Replace(app(), "[./web]", "[]", 1), []string{"spec.runtime.process.command: is required"}},
		{"zero replicas", strings.Replace(app(), "command: [./web]", "command: [./web], replicas: 0", 1), []string{"spec.runtime.process.replicas: must be between 1 and 1000, got 0"}},
		{"reserved env", strings.Replace(app(), "command: [./web]", "command: [./web], env: [{name: PORT, value: '1'}]", 1), []string{"spec.runtime.process.env[0].name: \"PORT\" is set by sluice"}},
		{"duplicate env", strings.Replace(app(), "command: [./web]", "command: [./web], env: [{name: A}, {name: A}]", 1), []string{"env[1].name: \"A\" is set twice"}},
		{"canary weight over 100", app("strategy: {canary: {steps: [{setWeight: 101}]}}"), []string{"spec.strategy.canary.steps[0].setWeight: must be at most 100"}},
		{"weight too fine", app("strategy: {canary: {steps: [{setWeight: 0.001}]}}"), []string{"setWeight: must be a multiple of 0.01"}},
		{"step with two actions", app("strategy: {canary: {steps: [{setWeight: 5, pause: {}}]}}"), []string{"spec.strategy.canary.steps[0]: exactly one of"}},
		{"two strategies", app("strategy: {canary: {}, blueGreen: {}}"), []string{"spec.strategy: only one of"}},
		{"preview equals listen", app("strategy: {blueGreen: {previewListen: \"127.0.0.1:8080\"}}"), []string{"previewListen: must differ"}},
		{"stickiness both", app("strategy: {canary: {stickiness: {header: X-U, cookie: u}}}"), []string{"stickiness: only one of header or cookie"}},
		{"bad status code", app("healthCheck: {statusCodes: [\"2xx\"]}"), []string{"spec.healthCheck.statusCodes[0]: \"2xx\" is not a status code"}},
		{"duplicate document", app() + "---\n" + app(), []string{"App/web: metadata.name: appears twice"}},
		{"bad condition", "apiVersion: sluice.dev/v1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  metrics: [{name: m, successCondition: 'a >=', provider: {builtin: {}}}]\n",
			[]string{"spec.metrics[0].successCondition: does not compile"}},
		{"two providers", "apiVersion: sluice.dev/v1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  metrics: [{name: m, successCondition: 'true', provider: {builtin: {}, webhook: {url: 'http://x'}}}]\n",
			[]string{"spec.metrics[0].provider: exactly one of"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, err := Decode([]byte(c.doc))
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", docs)
			}
			if docs != nil {
				t.Errorf("Decode returned documents along with an error")
			}
			if _, ok := AsValidationError(err); !ok {
				t.Errorf("error is %T, want *ValidationError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	doc := strings.Replace(app("healthCheck: {interval: 5x, path: health}", "bogus: true"), "8080", "99999", 1)
	_, err := Decode([]byte(doc))
	ve, ok := AsValidationError(err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	// Shape problems are found first; a spec with shape problems is not
	// validated further, so these two come together.
	want := []string{"spec.bogus", "spec.healthCheck.interval"}
	if len(ve.Problems) != len(want) {
		t.Fatalf("problems = %v, want %d", ve.Problems, len(want))
	}
	for i, w := range want {
		if ve.Problems[i].Path != w {
			t.Errorf("problem %d at %q, want %q", i, ve.Problems[i].Path, w)
		}
	}
	_, err = Decode([]byte(strings.Replace(app("healthCheck: {path: health}", "strategy: {canary: {steps: [{setWeight: 200}]}}"), "8080", "99999", 1)))
	ve, _ = AsValidationError(err)
	if ve == nil || len(ve.Problems) != 3 {
		t.Fatalf("want 3 semantic problems at once, got %v", err)
	}
}

func TestWorkloadIgnoresScaling(t *testing.T) {
	a, _ := Decode([]byte(app()))
	b, _ := Decode([]byte(strings.Replace(app("healthCheck: {path: /up}"), "command: [./web]", "command: [./web], replicas: 5", 1)))
	c, _ := Decode([]byte(app("version: v2")))
	if !a[0].App.Workload().Equal(b[0].App.Workload()) {
		t.Errorf("replicas or health check changed the workload")
	}
	if a[0].App.Workload().Equal(c[0].App.Workload()) {
		t.Errorf("a new version label did not change the workload")
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		p    Percent
		bp   int
		okay bool
	}{{1, 100, true}, {0.01, 1, true}, {25.5, 2550, true}, {100, 10000, true}, {0.015, 0, false}, {-1, 0, false}} {
		msg := checkPercent(c.p)
		if (msg == "") != c.okay {
			t.Errorf("checkPercent(%v) = %q, want ok=%v", c.p, msg, c.okay)
		}
		if c.okay && c.p.BasisPoints() != c.bp {
			t.Errorf("%v%% = %d bp, want %d", c.p, c.p.BasisPoints(), c.bp)
		}
	}
}
