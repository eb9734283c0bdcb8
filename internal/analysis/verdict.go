package analysis

import (
	"encoding/json"
	"time"

	"sluice.dev/sluice/internal/store"
)

// Verdict is the outcome of a measurement, of a metric's run of
// measurements, or of a whole analysis.
type Verdict string

// The verdicts. A measurement is always one of Successful, Failed,
// Inconclusive or Error; a metric or an analysis is Running until it
// reaches one of them.
const (
	// Running means no verdict yet: more measurements are needed.
	Running Verdict = "Running"
	// Successful means the candidate met the conditions.
	Successful Verdict = "Successful"
	// Failed means the candidate broke a condition (more often than the
	// failureLimit allows, for a metric).
	Failed Verdict = "Failed"
	// Inconclusive means there was too little data to judge (more often
	// than the inconclusiveLimit allows, for a metric). It is never a
	// failure: the caller pauses for a human.
	Inconclusive Verdict = "Inconclusive"
	// Error means the measurement could not be taken or judged (more often
	// in a row than the consecutiveErrorLimit allows, for a metric).
	Error Verdict = "Error"
)

// Done reports whether v is a final verdict, that is anything but Running.
func (v Verdict) Done() bool { return v != Running && v != "" }

// rank orders final verdicts for combining metrics: the highest wins.
func (v Verdict) rank() int {
	switch v {
	case Failed:
		return 4
	case Error:
		return 3
	case Inconclusive:
		return 2
	case Running:
		return 1
	}
	return 0
}

// Measurement is one judged measurement of one metric: what was measured,
// how much data was behind it, the condition that judged it and the
// verdict. It is what the store keeps and what events quote.
type Measurement struct {
	// Template and Metric name the metric measured.
	Template string `json:"template"`
	Metric   string `json:"metric"`
	// At is when the measurement was taken.
	At time.Time `json:"at"`
	// Value is what the provider returned, as JSON: for builtin
	// {"candidate": {...}, "stable": {...}} with requests, errors,
	// successRate, errorRate, p50, p90, p95, p99 (seconds), totalRequests
	// and totalErrors; for prometheus a number (or "NaN", "+Inf", "-Inf");
	// for webhook the response body. Empty when the provider failed.
	Value json.RawMessage `json:"value,omitempty"`
	// SampleSize is the number of requests behind the value (the
	// candidate's, for builtin); 0 when the provider does not say.
	SampleSize int64 `json:"sampleSize"`
	// Condition is the condition evaluated, such as
	// `successCondition: candidate.p99 <= stable.p99 * 1.2`.
	Condition string `json:"condition,omitempty"`
	// Verdict is Successful, Failed, Inconclusive or Error.
	Verdict Verdict `json:"verdict"`
	// Message says why, for a human, with the numbers that decided, such
	// as "inconclusive: 12 requests, need 50".
	Message string `json:"message"`
	// Error is the provider's or the condition's error, when Verdict is
	// Error.
	Error string `json:"error,omitempty"`
}

// key identifies the metric a measurement belongs to.
func (m *Measurement) key() metricKey { return metricKey{m.Template, m.Metric} }

// metricKey identifies a metric within an analysis.
type metricKey struct{ template, metric string }

// NewRecord returns m as the store keeps it, for the analysis run named
// run (the caller's name for it, unique within the app, such as
// `3/step-2`) of target.
func NewRecord(run string, target Target, m Measurement) store.Measurement {
	return store.Measurement{
		App:        target.App,
		Run:        run,
		Candidate:  target.Candidate,
		Stable:     target.Stable,
		Template:   m.Template,
		Metric:     m.Metric,
		Time:       m.At,
		Value:      m.Value,
		SampleSize: m.SampleSize,
		Condition:  m.Condition,
		Verdict:    string(m.Verdict),
		Message:    m.Message,
		Error:      m.Error,
	}
}

// FromRecords returns stored measurements (as ListMeasurements gives them,
// oldest first) as Evaluate and Due take them.
func FromRecords(rs []store.Measurement) []Measurement {
	out := make([]Measurement, len(rs))
	for i, r := range rs {
		out[i] = Measurement{
			Template:   r.Template,
			Metric:     r.Metric,
			At:         r.Time,
			Value:      r.Value,
			SampleSize: r.SampleSize,
			Condition:  r.Condition,
			Verdict:    Verdict(r.Verdict),
			Message:    r.Message,
			Error:      r.Error,
		}
	}
	return out
}
