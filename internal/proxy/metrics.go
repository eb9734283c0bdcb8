package proxy

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the proxy's Prometheus collectors. Series are labelled by
// app and revision, and requests also by status code and method; both are
// bounded (codes 100–599, nine methods plus "OTHER"), and no label carries
// a path or a user.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      *prometheus.GaugeVec
	bytes         *prometheus.CounterVec
	connectErrors *prometheus.CounterVec
	retries       *prometheus.CounterVec
	ejections     *prometheus.CounterVec
}

// durationBuckets suit web latencies, from half a millisecond to 30 s.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// newMetrics creates the collectors and registers them with reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	rev := []string{"app", "revision"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_http_requests_total",
			Help: "Requests served through the proxy, by app, revision, status code and method.",
		}, []string{"app", "revision", "code", "method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "sluice_http_request_duration_seconds",
			Help:                            "Time from a request's arrival at the proxy to the end of its response.",
			Buckets:                         durationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, rev),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_http_requests_in_flight",
			Help: "Requests being served through the proxy.",
		}, rev),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_http_response_bytes_total",
			Help: "Response body bytes sent to clients.",
		}, rev),
		connectErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_upstream_connect_errors_total",
			Help: "Failed attempts to connect to an instance.",
		}, rev),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_proxy_retries_total",
			Help: "Requests sent to another instance after a connect error.",
		}, rev),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_proxy_ejections_total",
			Help: "Instances taken out of rotation by passive health checks.",
		}, rev),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight, m.bytes, m.connectErrors, m.retries, m.ejections} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register proxy metrics: %w", err)
		}
	}
	return m, nil
}

// forget deletes the series of a revision that is gone.
func (m *metrics) forget(app, revision string) {
	labels := prometheus.Labels{"app": app, "revision": revision}
	m.requests.DeletePartialMatch(labels)
	m.duration.DeletePartialMatch(labels)
	m.inFlight.DeletePartialMatch(labels)
	m.bytes.DeletePartialMatch(labels)
	m.connectErrors.DeletePartialMatch(labels)
	m.retries.DeletePartialMatch(labels)
	m.ejections.DeletePartialMatch(labels)
}

const (
	numMethods = 10  // nine standard methods and OTHER
	numCodes   = 501 // 100–599 and one slot for anything else
	otherCode  = 500 // slot index of an out-of-range code
	otherLabel = "OTHER"
)

// revisionMetrics are one revision's series, resolved once so that the hot
// path does no label lookups. Request counters are resolved on first use
// per method and code.
type revisionMetrics struct {
	app, revision string
	vec           *prometheus.CounterVec
	counters      [numMethods][numCodes]atomic.Pointer[prometheus.Counter]
	duration      prometheus.Observer
	inFlight      prometheus.Gauge
	bytes         prometheus.Counter
	connectErrors prometheus.Counter
	retries       prometheus.Counter
	ejections     prometheus.Counter
}

// forRevision resolves the series of one revision. A nil m gives nil.
func (m *metrics) forRevision(app, revision string) *revisionMetrics {
	if m == nil {
		return nil
	}
	return &revisionMetrics{
		app:           app,
		revision:      revision,
		vec:           m.requests,
		duration:      m.duration.WithLabelValues(app, revision),
		inFlight:      m.inFlight.WithLabelValues(app, revision),
		bytes:         m.bytes.WithLabelValues(app, revision),
		connectErrors: m.connectErrors.WithLabelValues(app, revision),
		retries:       m.retries.WithLabelValues(app, revision),
		ejections:     m.ejections.WithLabelValues(app, revision),
	}
}

// request counts one completed request.
func (rm *revisionMetrics) request(method string, code int, seconds float64, bytes int64) {
	mi := methodIndex(method)
	ci := code - 100
	if ci < 0 || ci >= otherCode {
		ci = otherCode
	}
	cell := &rm.counters[mi][ci]
	c := cell.Load()
	if c == nil {
		label := otherLabel
		if ci != otherCode {
			label = strconv.Itoa(code)
		}
		counter := rm.vec.WithLabelValues(rm.app, rm.revision, label, methodLabel(mi, method))
		c = &counter
		cell.Store(c)
	}
	(*c).Inc()
	rm.duration.Observe(seconds)
	if bytes > 0 {
		rm.bytes.Add(float64(bytes))
	}
}

// methodIndex maps a method to its counter slot; unknown methods share one.
func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	case "CONNECT":
		return 7
	case "TRACE":
		return 8
	default:
		return 9
	}
}

// methodLabel is the label of slot i; method is the request's own method.
func methodLabel(i int, method string) string {
	if i == numMethods-1 {
		return otherLabel
	}
	return method
}
