package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"sluice.dev/sluice/internal/spec"
)

// ErrNoData means a provider found nothing to judge, such as a Prometheus
// query with an empty result. The measurement is Inconclusive, like too
// few requests, never Failed or Error.
var ErrNoData = errors.New("no data")

// Request is what a provider is asked to measure.
type Request struct {
	// Target is the app and the revisions measured.
	Target Target
	// Template and Metric name the metric.
	Template string
	Metric   string
	// Provider is the metric's provider with placeholders substituted and
	// defaults applied (the builtin window).
	Provider spec.MetricProvider
	// Args are the template's arguments and their values.
	Args map[string]string
}

// Result is what a provider measured.
type Result struct {
	// Revisions is the builtin provider's answer.
	Revisions *Comparison
	// Value is the prometheus provider's number (a float64) or the webhook
	// provider's decoded JSON body.
	Value any
	// SampleSize is the number of observations behind Value, when the
	// provider knows it; the builtin one is taken from Revisions.
	SampleSize int64
}

// Provider takes measurements. Implementations live in the providers
// package; they do I/O and return what they saw, and Judge decides.
type Provider interface {
	// Measure measures one metric. An error wrapping ErrNoData makes an
	// Inconclusive measurement; any other error an Error one.
	Measure(ctx context.Context, req Request) (Result, error)
}

// Request returns what to ask the metric's provider.
func (m *Metric) Request() Request {
	return Request{Target: m.target, Template: m.Template, Metric: m.Name, Provider: m.Provider, Args: m.Args}
}

// Take measures m through p at now and judges the result.
func Take(ctx context.Context, p Provider, m *Metric, now time.Time) Measurement {
	res, err := p.Measure(ctx, m.Request())
	return m.Judge(res, err, now)
}

// Judge turns a provider's answer (res, or err when it failed) into a
// measurement taken at at. In order:
//
//  1. an error wrapping ErrNoData is Inconclusive, any other error is Error;
//  2. for builtin, fewer candidate requests than minRequests in the window
//     is Inconclusive ("inconclusive: 12 requests, need 50"), and so is a
//     stable revision with fewer when a condition reads `stable`;
//  3. a NaN result (Prometheus' 0/0 when nothing was counted) is
//     Inconclusive;
//  4. failureCondition true or successCondition false is Failed;
//  5. a condition that cannot be evaluated is Error;
//  6. otherwise Successful.
func (m *Metric) Judge(res Result, err error, at time.Time) Measurement {
	out := Measurement{Template: m.Template, Metric: m.Name, At: at, Condition: m.Conditions(), SampleSize: res.SampleSize}
	if err != nil {
		if errors.Is(err, ErrNoData) {
			return out.with(Inconclusive, "inconclusive: "+err.Error())
		}
		out.Error = err.Error()
		return out.with(Error, "error: "+err.Error())
	}
	var env any
	switch m.kind {
	case kindBuiltin:
		if res.Revisions == nil {
			out.Error = "the builtin provider returned no revision stats"
			return out.with(Error, "error: "+out.Error)
		}
		env = res.Revisions
		out.Value = encodeValue(res.Revisions)
		out.SampleSize = int64(res.Revisions.Candidate.Requests)
		if msg := m.tooFew(res.Revisions); msg != "" {
			return out.with(Inconclusive, msg)
		}
	case kindPrometheus:
		f, ok := toFloat(res.Value)
		if !ok {
			out.Error = fmt.Sprintf("the prometheus provider returned %T, want a number", res.Value)
			return out.with(Error, "error: "+out.Error)
		}
		out.Value = encodeValue(f)
		if math.IsNaN(f) {
			return out.with(Inconclusive, "inconclusive: the query returned NaN (nothing counted in its range)")
		}
		env = &resultEnv{Result: f}
	default:
		out.Value = encodeValue(res.Value)
		env = &anyEnv{Result: res.Value}
	}
	return m.decide(out, env)
}

// tooFew returns the inconclusive message of a builtin result with too
// small a sample, or "".
func (m *Metric) tooFew(c *Comparison) string {
	if c.Candidate.Requests < m.MinRequests {
		return fmt.Sprintf("inconclusive: %d requests, need %d", c.Candidate.Requests, m.MinRequests)
	}
	if m.readsStable() && c.Stable.Requests < m.MinRequests {
		return fmt.Sprintf("inconclusive: stable served %d requests, need %d", c.Stable.Requests, m.MinRequests)
	}
	return ""
}

// readsStable reports whether a condition reads the stable revision.
func (m *Metric) readsStable() bool {
	return (m.success != nil && m.success.roots[placeholderStable]) ||
		(m.failure != nil && m.failure.roots[placeholderStable])
}

// decide evaluates the conditions against env.
func (m *Metric) decide(out Measurement, env any) Measurement {
	var clauses []string
	if c := m.failure; c != nil {
		bad, err := c.eval(env)
		if err != nil {
			out.Error = err.Error()
			return out.with(Error, "error: "+out.Error)
		}
		if bad {
			return out.with(Failed, fmt.Sprintf("failed: %s is true%s", c.source, m.quote(env)))
		}
		clauses = append(clauses, c.source+" is false")
	}
	if c := m.success; c != nil {
		good, err := c.eval(env)
		if err != nil {
			out.Error = err.Error()
			return out.with(Error, "error: "+out.Error)
		}
		if !good {
			return out.with(Failed, fmt.Sprintf("failed: %s is false%s", c.source, m.quote(env)))
		}
		clauses = append([]string{c.source + " is true"}, clauses...)
	}
	msg := "successful: " + clauses[0]
	if len(clauses) > 1 {
		msg += ", " + clauses[1]
	}
	return out.with(Successful, msg+m.quote(env))
}

// quote returns " (the values the conditions read)", or "".
func (m *Metric) quote(env any) string {
	ev := evidence(env, m.success, m.failure)
	if m.kind == kindBuiltin {
		c := env.(*Comparison)
		ev = joinNonEmpty(fmt.Sprintf("%d requests", c.Candidate.Requests), ev)
	}
	if ev == "" {
		return ""
	}
	return " (" + ev + ")"
}

func joinNonEmpty(a, b string) string {
	if b == "" {
		return a
	}
	return a + ", " + b
}

// with sets the verdict and message.
func (m Measurement) with(v Verdict, msg string) Measurement {
	m.Verdict, m.Message = v, msg
	return m
}

// toFloat accepts the numbers a provider may return.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// maxValue bounds the JSON of a stored value, in bytes; a larger one (a
// webhook's long report) is kept as a string of its start.
const maxValue = 16 << 10

// encodeValue writes v as JSON, with NaN and the infinities as the strings
// Prometheus uses, which JSON has no numbers for.
func encodeValue(v any) json.RawMessage {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		v = formatFloat(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprint(v))
	}
	if len(b) > maxValue {
		head := strings.ToValidUTF8(string(b[:1024]), "")
		b, _ = json.Marshal(fmt.Sprintf("%s… (%d bytes of JSON, cut)", head, len(b)))
	}
	return b
}
