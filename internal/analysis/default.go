package analysis

import (
	"time"

	"sluice.dev/sluice/internal/spec"
)

// The default analysis, which canary steps run when they name no template
// (and the default progression runs between its weights).
const (
	// DefaultTemplateName names the default template in measurements.
	DefaultTemplateName = "default"
	// defaultInterval is the time between the default metrics'
	// measurements.
	defaultInterval = 5 * time.Second
	// defaultWindow is how far back each default measurement looks.
	defaultWindow = 30 * time.Second
	// defaultMinRequests is the default metrics' minimum sample size.
	defaultMinRequests = 50
	// defaultInconclusiveLimit tolerates two minutes of too little
	// traffic before the rollout pauses for a human.
	defaultInconclusiveLimit = 24
	// defaultFailureLimit: two failed measurements abort, so one unlucky
	// window does not.
	defaultFailureLimit = 1
)

// Conditions of the default template. The margins are wide enough that a
// healthy candidate does not fail on 50 requests by chance (at a 1 % error
// rate, 4 errors in 50 happen 0.2 % of the time), and narrow enough to
// catch a candidate failing one request in ten or answering 100 ms slower.
const (
	defaultErrorsCondition  = "candidate.errorRate <= stable.errorRate + 0.05"
	defaultLatencyCondition = "candidate.p95 <= stable.p95 * 1.5 + 0.05"
)

// DefaultTemplate returns sluice's default analysis: the golden signals
// from the proxy's own counters, so no metrics system is needed. Two
// builtin metrics are measured every 5s over a 30s window with at least 50
// candidate requests: `errors` (the candidate's error rate at most 5 points
// above stable's) and `latency` (the candidate's p95 at most 1.5 × stable's
// + 50 ms). Each tolerates one failed measurement and 24 inconclusive ones.
// Every call returns a new spec, which the caller may change.
func DefaultTemplate() Template {
	metric := func(name, condition string) spec.Metric {
		return spec.Metric{
			Name:                  name,
			Interval:              spec.Dur(defaultInterval),
			Count:                 intPtr(0),
			InitialDelay:          spec.Dur(0),
			SuccessCondition:      condition,
			FailureLimit:          intPtr(defaultFailureLimit),
			InconclusiveLimit:     intPtr(defaultInconclusiveLimit),
			ConsecutiveErrorLimit: intPtr(spec.DefaultConsecutiveErrorLimit),
			Provider: spec.MetricProvider{Builtin: &spec.BuiltinProvider{
				Window:      spec.Dur(defaultWindow),
				MinRequests: intPtr(defaultMinRequests),
			}},
		}
	}
	return Template{
		Name: DefaultTemplateName,
		Spec: &spec.AnalysisTemplate{Metrics: []spec.Metric{
			metric("errors", defaultErrorsCondition),
			metric("latency", defaultLatencyCondition),
		}},
	}
}

func intPtr(v int) *int { return &v }
