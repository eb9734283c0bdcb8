package spec

import (
	"encoding/json"
	"net/url"

	"github.com/expr-lang/expr"
)

// decodeAnalysisTemplate checks, defaults and validates a template spec.
func decodeAnalysisTemplate(raw json.RawMessage) (*AnalysisTemplate, []FieldError) {
	t, fe := decodeSpec[AnalysisTemplate](raw)
	if len(fe) > 0 {
		return nil, fe
	}
	t.SetDefaults()
	return t, t.Validate("spec")
}

// Validate reports every problem with a defaulted template, with paths
// under base.
func (t *AnalysisTemplate) Validate(base string) []FieldError {
	var p problems
	if len(t.Metrics) == 0 {
		p.add(join(base, "metrics"), "at least one metric is required")
	}
	seenArg := map[string]bool{}
	for i, a := range t.Args {
		ap := join(index(join(base, "args"), i), "name")
		if a.Name == "" {
			p.add(ap, "is required")
		} else if seenArg[a.Name] {
			p.add(ap, "%q is declared twice", a.Name)
		}
		seenArg[a.Name] = true
	}
	seen := map[string]bool{}
	for i, m := range t.Metrics {
		mp := index(join(base, "metrics"), i)
		if msg := ValidName(m.Name); msg != "" {
			p.add(join(mp, "name"), "%s", msg)
		} else if seen[m.Name] {
			p.add(join(mp, "name"), "%q is used twice", m.Name)
		}
		seen[m.Name] = true
		m.validate(&p, mp)
	}
	return p.list
}

func (m *Metric) validate(p *problems, path string) {
	positive(p, join(path, "interval"), m.Interval)
	nonNegative(p, join(path, "initialDelay"), m.InitialDelay)
	limits := []struct {
		name string
		v    int
	}{
		{"count", *m.Count}, {"failureLimit", *m.FailureLimit},
		{"inconclusiveLimit", *m.InconclusiveLimit}, {"consecutiveErrorLimit", *m.ConsecutiveErrorLimit},
	}
	for _, l := range limits {
		if l.v < 0 {
			p.add(join(path, l.name), "must not be negative, got %d", l.v)
		}
	}
	if m.SuccessCondition == "" && m.FailureCondition == "" {
		p.add(path, "one of successCondition or failureCondition is required")
	}
	checkCondition(p, join(path, "successCondition"), m.SuccessCondition)
	checkCondition(p, join(path, "failureCondition"), m.FailureCondition)
	m.Provider.validate(p, join(path, "provider"))
}

func (pr *MetricProvider) validate(p *problems, path string) {
	n := 0
	if b := pr.Builtin; b != nil {
		n++
		positive(p, join(path, "builtin.window"), b.Window)
		if *b.MinRequests < 0 {
			p.add(join(path, "builtin.minRequests"), "must not be negative, got %d", *b.MinRequests)
		}
	}
	if pm := pr.Prometheus; pm != nil {
		n++
		checkURL(p, join(path, "prometheus.address"), pm.Address)
		if pm.Query == "" {
			p.add(join(path, "prometheus.query"), "is required")
		}
		positive(p, join(path, "prometheus.timeout"), pm.Timeout)
	}
	if w := pr.Webhook; w != nil {
		n++
		checkURL(p, join(path, "webhook.url"), w.URL)
		positive(p, join(path, "webhook.timeout"), w.Timeout)
	}
	if n != 1 {
		p.add(path, "exactly one of builtin, prometheus or webhook must be set, got %d", n)
	}
}

func checkURL(p *problems, path, raw string) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(path, "%q is not an http(s) URL", raw)
	}
}

// checkCondition compiles a condition expression, if any, to catch syntax
// errors at apply time rather than mid-rollout.
func checkCondition(p *problems, path, cond string) {
	if cond == "" {
		return
	}
	if _, err := expr.Compile(cond, expr.AllowUndefinedVariables(), expr.AsBool()); err != nil {
		p.add(path, "does not compile: %v", err)
	}
}
