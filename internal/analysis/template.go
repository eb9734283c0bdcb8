package analysis

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"sluice.dev/sluice/internal/spec"
)

// ErrTemplate is matched by errors about the templates themselves: none
// given, one given twice, one without a spec.
var ErrTemplate = errors.New("invalid analysis templates")

// Target is what an analysis measures: one app's candidate revision against
// its stable revision.
type Target struct {
	// App is the app's name.
	App string `json:"app"`
	// Candidate is the revision being rolled out.
	Candidate int `json:"candidate"`
	// Stable is the revision serving before it; 0 when there is none.
	Stable int `json:"stable,omitempty"`
}

// Template is an AnalysisTemplate by name, as a rollout refers to it. Its
// spec is read, never changed.
type Template struct {
	// Name is the template's metadata.name.
	Name string
	// Spec is the template's spec, normally defaulted by spec.Decode;
	// unset fields get the same defaults here.
	Spec *spec.AnalysisTemplate
}

// Options tune how a compiled analysis runs.
type Options struct {
	// DefaultCount is the count of metrics that set none (count 0). Zero
	// keeps such metrics measuring until the caller stops the analysis,
	// which suits a background analysis; a step analysis, which must end,
	// passes a positive count.
	DefaultCount int
}

// Analysis is one analysis run compiled: every metric of its templates
// with arguments substituted and conditions compiled. It is immutable and
// safe for concurrent use.
type Analysis struct {
	// Target is what is measured.
	Target Target
	// Metrics are the metrics of all templates, in template order.
	Metrics []*Metric
}

// Compile resolves and compiles the templates of one analysis run for
// target, with the rollout's args. Any problem (a missing argument, a
// placeholder the template does not declare, a condition that does not
// compile against its provider's variables, such as a misspelt field) is
// an error naming the template and metric.
func Compile(target Target, templates []Template, args []spec.AnalysisArg, opts Options) (*Analysis, error) {
	if len(templates) == 0 {
		return nil, fmt.Errorf("%w: no template given", ErrTemplate)
	}
	a := &Analysis{Target: target}
	seen := map[string]bool{}
	for _, t := range templates {
		if t.Spec == nil {
			return nil, fmt.Errorf("%w: template %q has no spec", ErrTemplate, t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("%w: template %q is given twice", ErrTemplate, t.Name)
		}
		seen[t.Name] = true
		v, err := resolveArgs(target, t.Spec.Args, args)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", t.Name, err)
		}
		if len(t.Spec.Metrics) == 0 {
			return nil, fmt.Errorf("%w: template %q has no metrics", ErrTemplate, t.Name)
		}
		for _, sm := range t.Spec.Metrics {
			m, err := compileMetric(target, t.Name, sm, v, opts)
			if err != nil {
				return nil, fmt.Errorf("template %q metric %q: %w", t.Name, sm.Name, err)
			}
			a.Metrics = append(a.Metrics, m)
		}
	}
	return a, nil
}

// providerKind says which provider measures a metric.
type providerKind int

const (
	kindBuiltin providerKind = iota + 1
	kindPrometheus
	kindWebhook
)

// Metric is one compiled metric of an analysis.
type Metric struct {
	// Template is the name of the template the metric comes from.
	Template string
	// Name is the metric's name within its template.
	Name string
	// Provider is the metric's provider with placeholders substituted.
	Provider spec.MetricProvider
	// Args are the template's arguments and their values.
	Args map[string]string
	// Interval, InitialDelay and Count are the metric's schedule, with
	// defaults applied (Count from Options.DefaultCount when unset).
	Interval     time.Duration
	InitialDelay time.Duration
	Count        int
	// FailureLimit, InconclusiveLimit and ConsecutiveErrorLimit are the
	// numbers of such measurements tolerated, with defaults applied.
	FailureLimit          int
	InconclusiveLimit     int
	ConsecutiveErrorLimit int
	// MinRequests is the builtin provider's minimum sample size; 0 for
	// other providers.
	MinRequests int

	target  Target
	kind    providerKind
	success *condition
	failure *condition
}

// compileMetric resolves one metric of a template.
func compileMetric(target Target, template string, sm spec.Metric, v vars, opts Options) (*Metric, error) {
	m := &Metric{
		Template:              template,
		Name:                  sm.Name,
		Args:                  v.args(),
		Interval:              durOr(sm.Interval, spec.DefaultMetricInterval),
		InitialDelay:          durOr(sm.InitialDelay, 0),
		Count:                 intOr(sm.Count, 0),
		FailureLimit:          intOr(sm.FailureLimit, 0),
		InconclusiveLimit:     intOr(sm.InconclusiveLimit, 0),
		ConsecutiveErrorLimit: intOr(sm.ConsecutiveErrorLimit, spec.DefaultConsecutiveErrorLimit),
		target:                target,
	}
	if m.Count == 0 {
		m.Count = opts.DefaultCount
	}
	if m.Interval <= 0 {
		return nil, fmt.Errorf("interval must be positive, got %s", m.Interval)
	}
	p, err := v.resolveProvider(sm.Provider)
	if err != nil {
		return nil, err
	}
	m.Provider = p
	var env any
	switch {
	case p.Builtin != nil:
		m.kind, env = kindBuiltin, &Comparison{}
		m.MinRequests = intOr(p.Builtin.MinRequests, spec.DefaultBuiltinMinRequests)
		window := durOr(p.Builtin.Window, spec.DefaultBuiltinWindow)
		m.Provider.Builtin.Window = &spec.Duration{Duration: window}
		minRequests := m.MinRequests
		m.Provider.Builtin.MinRequests = &minRequests
	case p.Prometheus != nil:
		m.kind, env = kindPrometheus, &resultEnv{}
	case p.Webhook != nil:
		m.kind, env = kindWebhook, &anyEnv{}
	default:
		return nil, fmt.Errorf("provider: one of builtin, prometheus or webhook is required")
	}
	if sm.SuccessCondition == "" && sm.FailureCondition == "" {
		return nil, fmt.Errorf("%w: one of successCondition or failureCondition is required", ErrCondition)
	}
	if sm.SuccessCondition != "" {
		if m.success, err = compileCondition("successCondition", sm.SuccessCondition, env); err != nil {
			return nil, err
		}
	}
	if sm.FailureCondition != "" {
		if m.failure, err = compileCondition("failureCondition", sm.FailureCondition, env); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Window is how far back a builtin metric looks; 0 for other providers.
func (m *Metric) Window() time.Duration {
	if m.Provider.Builtin == nil {
		return 0
	}
	return m.Provider.Builtin.Window.Duration
}

// Conditions describes the metric's conditions as a Measurement records
// them: `successCondition: X; failureCondition: Y`.
func (m *Metric) Conditions() string {
	var s string
	if m.success != nil {
		s = m.success.field + ": " + m.success.source
	}
	if m.failure != nil {
		if s != "" {
			s += "; "
		}
		s += m.failure.field + ": " + m.failure.source
	}
	return s
}

// key identifies the metric within its analysis.
func (m *Metric) key() metricKey { return metricKey{m.Template, m.Name} }

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func durOr(p *spec.Duration, def time.Duration) time.Duration {
	if p == nil {
		return def
	}
	return p.Duration
}

// Check reports, with field paths under `spec.`, what Compile would reject
// in a template whatever the rollout passes: a condition that does not
// compile against its provider's variables (a misspelt `candidate.p99`,
// `result` in a builtin metric) and a placeholder that is unknown or names
// an undeclared argument. spec.Decode cannot check these, since the
// variables belong to the providers; the API calls Check when a template is
// applied.
func Check(t *spec.AnalysisTemplate) []spec.FieldError {
	if t == nil {
		return nil
	}
	// Every declared argument gets a placeholder value: only which
	// arguments exist matters here.
	declared := make([]spec.TemplateArg, len(t.Args))
	for i, a := range t.Args {
		v := "x"
		declared[i] = spec.TemplateArg{Name: a.Name, Value: &v}
	}
	v, err := resolveArgs(Target{}, declared, nil)
	if err != nil {
		return []spec.FieldError{{Path: "spec.args", Message: err.Error()}}
	}
	var out []spec.FieldError
	for i, sm := range t.Metrics {
		path := fmt.Sprintf("spec.metrics[%d]", i)
		_, err := compileMetric(Target{}, "", sm, v, Options{})
		if err == nil {
			continue
		}
		field, msg := splitField(err)
		if field != "" {
			path += "." + field
		}
		out = append(out, spec.FieldError{Path: path, Message: msg})
	}
	return out
}

// splitField separates the field a compileMetric error starts with
// (`successCondition: …`, `provider.webhook.url: …`) from its message.
func splitField(err error) (field, msg string) {
	s := err.Error()
	if errors.Is(err, ErrCondition) || errors.Is(err, ErrPlaceholder) || errors.Is(err, ErrUndeclaredArg) {
		if f, rest, ok := strings.Cut(s, ": "); ok && !strings.ContainsAny(f, " {") {
			return f, rest
		}
	}
	return "", s
}
