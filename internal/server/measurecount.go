package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/internal/store"
)

// measurementCounter wraps the store that analysis runs write their
// measurements to, and counts each measurement once its transaction has
// committed, by app, template, metric and verdict.
type measurementCounter struct {
	store.Store
	count *prometheus.CounterVec
}

func newMeasurementCounter(s store.Store, reg prometheus.Registerer) *measurementCounter {
	m := &measurementCounter{Store: s, count: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_analysis_measurements_total",
		Help: "Analysis measurements taken, by app, template, metric and verdict.",
	}, []string{"app", "template", "metric", "verdict"})}
	reg.MustRegister(m.count)
	return m
}

// Write runs fn and, when it commits, counts the measurements it added.
func (m *measurementCounter) Write(ctx context.Context, fn func(store.Tx) error) error {
	var added []store.Measurement
	err := m.Store.Write(ctx, func(tx store.Tx) error {
		added = added[:0] // a retried transaction starts over
		return fn(&countingTx{Tx: tx, added: &added})
	})
	if err == nil {
		for _, ms := range added {
			m.count.WithLabelValues(ms.App, ms.Template, ms.Metric, ms.Verdict).Inc()
		}
	}
	return err
}

// countingTx notes the measurements appended through it.
type countingTx struct {
	store.Tx
	added *[]store.Measurement
}

// AppendMeasurement appends and notes the measurement.
func (t *countingTx) AppendMeasurement(ctx context.Context, ms store.Measurement) (store.Measurement, error) {
	out, err := t.Tx.AppendMeasurement(ctx, ms)
	if err == nil {
		*t.added = append(*t.added, out)
	}
	return out, err
}
