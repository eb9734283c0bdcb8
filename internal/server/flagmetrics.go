package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
)

// flagMetrics count flag evaluations served over OFREP and the event
// streams that follow flag changes. Flag keys are labels: their number is
// bounded by the flag sets, and no context value ever becomes a label.
type flagMetrics struct {
	evaluations *prometheus.CounterVec
}

func newFlagMetrics(reg prometheus.Registerer, f *feed.Feed) *flagMetrics {
	m := &flagMetrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_flag_evaluations_total",
			Help: "Flag evaluations served over OFREP, by environment, flag, variant and reason.",
		}, []string{"env", "flag", "variant", "reason"}),
	}
	reg.MustRegister(m.evaluations, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_flag_stream_subscribers",
		Help: "Open OFREP event streams and other subscribers to flag changes.",
	}, func() float64 { return float64(f.Subscribers()) }))
	return m
}

// observe is the OFREP handler's evaluation hook.
func (m *flagMetrics) observe(env, key, variant string, reason flags.Reason) {
	m.evaluations.WithLabelValues(env, key, variant, string(reason)).Inc()
}
