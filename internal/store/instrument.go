package store

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instrumented wraps a Store and measures its transactions: how long each
// takes and how many fail, by operation (read, write, ping). Conflicts and
// missing objects are answers, not failures, so they are not counted as
// errors.
type Instrumented struct {
	Store
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// Instrument registers the store's metrics on reg and returns the wrapper.
func Instrument(s Store, reg prometheus.Registerer) *Instrumented {
	in := &Instrumented{
		Store: s,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "sluice_store_operation_duration_seconds",
			Help:                        "Time taken by store transactions, by operation.",
			Buckets:                     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_store_errors_total",
			Help: "Store transactions that failed, by operation.",
		}, []string{"operation"}),
	}
	reg.MustRegister(in.duration, in.errors)
	return in
}

// Read measures the wrapped Read.
func (in *Instrumented) Read(ctx context.Context, fn func(Tx) error) error {
	return in.measure("read", func() error { return in.Store.Read(ctx, fn) })
}

// Write measures the wrapped Write.
func (in *Instrumented) Write(ctx context.Context, fn func(Tx) error) error {
	return in.measure("write", func() error { return in.Store.Write(ctx, fn) })
}

// Ping measures the wrapped Ping.
func (in *Instrumented) Ping(ctx context.Context) error {
	return in.measure("ping", func() error { return in.Store.Ping(ctx) })
}

func (in *Instrumented) measure(op string, fn func() error) error {
	start := time.Now()
	err := fn()
	in.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !isAnswer(err) {
		in.errors.WithLabelValues(op).Inc()
	}
	return err
}

// isAnswer reports errors that are the store's answer to a question rather
// than a failure of the store.
func isAnswer(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrExists)
}
