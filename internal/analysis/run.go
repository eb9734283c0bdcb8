package analysis

import (
	"fmt"
	"time"
)

// MetricState is where one metric stands after the measurements taken so
// far.
type MetricState struct {
	// Template and Metric name the metric.
	Template string `json:"template"`
	Metric   string `json:"metric"`
	// Verdict is Running until a limit or the count decides it.
	Verdict Verdict `json:"verdict"`
	// Measurements counts every measurement taken; Successful, Failed,
	// Inconclusive and Errors count them by verdict.
	Measurements int `json:"measurements"`
	Successful   int `json:"successful"`
	Failed       int `json:"failed"`
	Inconclusive int `json:"inconclusive"`
	Errors       int `json:"errors"`
	// ConsecutiveErrors counts the Error measurements since the last
	// other one.
	ConsecutiveErrors int `json:"consecutiveErrors"`
	// Last is the latest measurement counted: the one that decided, once
	// the metric has a verdict. Nil before the first.
	Last *Measurement `json:"last,omitempty"`
	// Message says why the metric has its verdict, with the deciding
	// measurement's message; empty while Running.
	Message string `json:"message,omitempty"`
}

// State is where an analysis stands.
type State struct {
	// Verdict is the analysis' verdict: Failed as soon as any metric
	// failed, else Error as soon as any metric errored, else Inconclusive
	// as soon as any metric is inconclusive, Successful once every metric
	// is, Running otherwise.
	Verdict Verdict `json:"verdict"`
	// Message explains a final verdict with the deciding metric's numbers.
	Message string `json:"message,omitempty"`
	// Metrics is each metric's state, in the analysis' order.
	Metrics []MetricState `json:"metrics"`
}

// Start returns the state of the analysis before any measurement: every
// metric Running.
func (a *Analysis) Start() State {
	st := State{Verdict: Running, Metrics: make([]MetricState, len(a.Metrics))}
	for i, m := range a.Metrics {
		st.Metrics[i] = m.newState()
	}
	return st
}

// Evaluate folds the measurements taken so far (oldest first; those of
// metrics not in the analysis are ignored) into the state of each metric
// and of the analysis.
func (a *Analysis) Evaluate(ms []Measurement) State {
	return a.Observe(a.Start(), ms...)
}

// Observe returns st with more measurements (oldest first) folded in, so
// that a caller that keeps the state (in a rollout's status) need not read
// every measurement again. Metrics of the analysis that st lacks start from
// nothing; st itself is not changed.
func (a *Analysis) Observe(st State, ms ...Measurement) State {
	prev := make(map[metricKey]*MetricState, len(st.Metrics))
	for i := range st.Metrics {
		prev[metricKey{st.Metrics[i].Template, st.Metrics[i].Metric}] = &st.Metrics[i]
	}
	out := State{Verdict: Successful, Metrics: make([]MetricState, len(a.Metrics))}
	index := make(map[metricKey]int, len(a.Metrics))
	for i, m := range a.Metrics {
		index[m.key()] = i
		out.Metrics[i] = m.newState()
		if p, ok := prev[m.key()]; ok {
			out.Metrics[i] = *p
		}
	}
	lasts := make([]*Measurement, len(a.Metrics))
	for i := range ms {
		if j, ok := index[ms[i].key()]; ok {
			if a.Metrics[j].observe(&out.Metrics[j], &ms[i]) {
				lasts[j] = &ms[i]
			}
		}
	}
	var decider *MetricState
	for i := range out.Metrics {
		mst := &out.Metrics[i]
		if lasts[i] != nil { // copied, so the state does not hold on to ms
			last := *lasts[i]
			mst.Last = &last
		}
		if mst.Verdict.rank() > out.Verdict.rank() {
			out.Verdict = mst.Verdict
			decider = mst
		}
	}
	switch {
	case out.Verdict == Successful:
		out.Message = "every metric is successful"
	case decider != nil && decider.Verdict != Running:
		out.Message = fmt.Sprintf("%s/%s: %s", decider.Template, decider.Metric, decider.Message)
	}
	return out
}

// Evaluate folds the metric's measurements (oldest first; those of other
// metrics are ignored) into its state. The first limit crossed decides, in
// the order the measurements came:
//
//   - more Failed measurements than failureLimit: Failed;
//   - more Error measurements in a row than consecutiveErrorLimit: Error;
//   - more Inconclusive measurements than inconclusiveLimit: Inconclusive
//     (the caller pauses for a human);
//   - count conclusive (Successful or Failed) measurements taken: Successful.
//
// Measurements after the deciding one are ignored. Without a count the
// metric stays Running until a limit is crossed. The state's Last points
// into ms.
func (m *Metric) Evaluate(ms []Measurement) MetricState {
	st := m.newState()
	for i := range ms {
		if ms[i].key() == m.key() {
			m.observe(&st, &ms[i])
		}
	}
	return st
}

// newState is the state before any measurement.
func (m *Metric) newState() MetricState {
	return MetricState{Template: m.Template, Metric: m.Name, Verdict: Running}
}

// observe adds one measurement of m to st, unless st has its verdict, and
// reports whether it did.
func (m *Metric) observe(st *MetricState, ms *Measurement) bool {
	if st.Verdict.Done() {
		return false
	}
	st.count(ms)
	if v, why := m.decided(st); v != Running {
		st.Verdict = v
		st.Message = why + ": " + ms.Message
	}
	return true
}

// count adds one measurement.
func (st *MetricState) count(ms *Measurement) {
	st.Measurements++
	st.Last = ms
	if ms.Verdict == Error {
		st.Errors++
		st.ConsecutiveErrors++
		return
	}
	st.ConsecutiveErrors = 0
	switch ms.Verdict {
	case Successful:
		st.Successful++
	case Failed:
		st.Failed++
	case Inconclusive:
		st.Inconclusive++
	}
}

// decided applies the limits to the counts so far.
func (m *Metric) decided(st *MetricState) (Verdict, string) {
	switch {
	case st.Failed > m.FailureLimit:
		return Failed, fmt.Sprintf("%d failed measurements, failureLimit %d", st.Failed, m.FailureLimit)
	case st.ConsecutiveErrors > m.ConsecutiveErrorLimit:
		return Error, fmt.Sprintf("%d errors in a row, consecutiveErrorLimit %d", st.ConsecutiveErrors, m.ConsecutiveErrorLimit)
	case st.Inconclusive > m.InconclusiveLimit:
		return Inconclusive, fmt.Sprintf("%d inconclusive measurements, inconclusiveLimit %d", st.Inconclusive, m.InconclusiveLimit)
	case m.Count > 0 && st.Successful+st.Failed >= m.Count:
		return Successful, fmt.Sprintf("%d of %d measurements successful", st.Successful, st.Successful+st.Failed)
	}
	return Running, ""
}

// Due is the scheduler. Given when the analysis started, the measurements
// taken so far (oldest first) and now, it returns the metrics to measure
// now and when the next measurement after those falls due, assuming the
// due ones are taken at now. It is Schedule over Evaluate(ms).
func (a *Analysis) Due(started time.Time, ms []Measurement, now time.Time) (due []*Metric, next time.Time) {
	return a.Schedule(started, a.Evaluate(ms), now)
}

// Schedule is Due from a state the caller kept.
//
// A metric's first measurement falls due at started + initialDelay, each
// later one an interval after the previous one was taken (so after a
// restart a late metric is measured once, not once per missed interval).
// A metric that has its verdict is not measured again, and nothing is due
// once the analysis has its verdict; next is then the zero time.
func (a *Analysis) Schedule(started time.Time, st State, now time.Time) (due []*Metric, next time.Time) {
	if st.Verdict.Done() {
		return nil, time.Time{}
	}
	states := make(map[metricKey]*MetricState, len(st.Metrics))
	for i := range st.Metrics {
		states[metricKey{st.Metrics[i].Template, st.Metrics[i].Metric}] = &st.Metrics[i]
	}
	for _, m := range a.Metrics {
		at := started.Add(m.InitialDelay)
		if mst := states[m.key()]; mst != nil {
			if mst.Verdict.Done() {
				continue
			}
			if mst.Last != nil {
				at = mst.Last.At.Add(m.Interval)
			}
		}
		if !at.After(now) {
			due = append(due, m)
			at = now.Add(m.Interval)
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return due, next
}
