package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sluice.dev/sluice/pkg/apiv1"
)

// NewRegistry returns a fresh Prometheus registry holding the Go runtime
// and process collectors and sluice_build_info. Every part of sluice
// registers its own metrics on the registry it is given; nothing uses the
// global one.
func NewRegistry(build apiv1.VersionInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "sluice_build_info",
			Help:        "Always 1; labels describe the running build.",
			ConstLabels: prometheus.Labels{"version": build.Version, "commit": build.Commit, "goversion": build.GoVersion},
		}, func() float64 { return 1 }),
	)
	return reg
}

// MetricsHandler serves reg in the Prometheus text format, or OpenMetrics
// when the scraper asks for it.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		Registry:          reg, // counts its own scrape errors
	})
}
