package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// statusReader lists stored resources; resources.Service satisfies it.
type statusReader interface {
	List(ctx context.Context, kind string) ([]store.Object, error)
}

// scrapeTimeout bounds the store read behind one scrape.
const scrapeTimeout = 2 * time.Second

// rolloutCollector exports what the apps' stored statuses say: the
// candidate's weight, the phase, and instances by health. It reads the
// store at scrape time, so it adds nothing to the rollout or request path
// and reports the same in every server sharing the store.
type rolloutCollector struct {
	apps      statusReader
	log       *slog.Logger
	weight    *prometheus.Desc
	phase     *prometheus.Desc
	instances *prometheus.Desc
}

func newRolloutCollector(apps statusReader, log *slog.Logger) *rolloutCollector {
	return &rolloutCollector{
		apps: apps, log: log,
		weight: prometheus.NewDesc("sluice_rollout_candidate_weight_ratio",
			"The candidate's share of an app's traffic, 0 to 1.", []string{"app"}, nil),
		phase: prometheus.NewDesc("sluice_rollout_phase",
			"1 for the app's current phase, 0 for the others.", []string{"app", "phase"}, nil),
		instances: prometheus.NewDesc("sluice_instances",
			"Instances of each revision by health (healthy, unhealthy).", []string{"app", "revision", "health"}, nil),
	}
}

// Describe sends the descriptors.
func (c *rolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.weight
	ch <- c.phase
	ch <- c.instances
}

// phases are the values sluice_rollout_phase reports for every app.
func phases() [7]string {
	return [...]string{apiv1.PhasePending, apiv1.PhaseProgressing, apiv1.PhasePaused, apiv1.PhaseHealthy,
		apiv1.PhaseDegraded, apiv1.PhaseAborted, apiv1.PhaseFailed}
}

// Collect reads every app's status and sends its series.
func (c *rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	apps, err := c.apps.List(ctx, spec.KindApp)
	if err != nil {
		c.log.Warn("metrics: read app statuses", "error", err)
		return
	}
	for _, o := range apps {
		var st apiv1.AppStatus
		if len(o.Status) > 0 && json.Unmarshal(o.Status, &st) != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(st.Weight)/10000, o.Name)
		for _, p := range phases() {
			v := 0.0
			if st.Phase == p {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.phase, prometheus.GaugeValue, v, o.Name, p)
		}
		for _, rev := range st.Revisions {
			healthy, unhealthy := 0, 0
			for _, in := range rev.Instances {
				if in.Health == "Healthy" {
					healthy++
				} else {
					unhealthy++
				}
			}
			r := strconv.Itoa(rev.Revision)
			ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(healthy), o.Name, r, "healthy")
			ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(unhealthy), o.Name, r, "unhealthy")
		}
	}
}

// eventReader follows the event log; resources.Service satisfies it.
type eventReader interface {
	Events(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	Changed() <-chan struct{}
}

// eventCounters turn events into counters: rollouts by result and
// instance restarts. They count what this server saw since it started, as
// Prometheus counters do.
type eventCounters struct {
	events   eventReader
	log      *slog.Logger
	rollouts *prometheus.CounterVec
	restarts *prometheus.CounterVec
}

func newEventCounters(events eventReader, reg prometheus.Registerer, log *slog.Logger) *eventCounters {
	ec := &eventCounters{
		events: events, log: log,
		rollouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_rollouts_total",
			Help: "Rollouts that ended, by result: promoted, aborted or failed.",
		}, []string{"app", "result"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_instance_restarts_total",
			Help: "Instances restarted after they exited, by app and revision.",
		}, []string{"app", "revision"}),
	}
	reg.MustRegister(ec.rollouts, ec.restarts)
	return ec
}

// rolloutResult maps an event reason to a rollout result, or "".
func rolloutResult(reason string) string {
	switch reason {
	case apiv1.ReasonPromoted:
		return "promoted"
	case apiv1.ReasonAborted, apiv1.ReasonRolledBack, apiv1.ReasonAnalysisFailed, apiv1.ReasonAnalysisError:
		return "aborted"
	case apiv1.ReasonProgressDeadline, apiv1.ReasonInvalidWorkload:
		return "failed"
	}
	return ""
}

// count applies one event to the counters.
func (ec *eventCounters) count(e store.Event) {
	if res := rolloutResult(e.Reason); res != "" && e.App != "" {
		ec.rollouts.WithLabelValues(e.App, res).Inc()
	}
	if e.Reason == "InstanceRestarted" {
		ec.restarts.WithLabelValues(e.App, strconv.Itoa(e.Revision)).Inc()
	}
}

// Run follows the event log from its current end until ctx ends.
func (ec *eventCounters) Run(ctx context.Context) error {
	last, err := ec.tail(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return err
	}
	return ec.follow(ctx, last)
}

// follow counts every event after last until ctx ends.
func (ec *eventCounters) follow(ctx context.Context, last int64) error {
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	for {
		changed := ec.events.Changed()
		evs, err := ec.events.Events(ctx, store.EventFilter{AfterID: last, Limit: 1000})
		if err != nil && ctx.Err() == nil {
			ec.log.Warn("metrics: read events", "error", err)
		}
		for _, e := range evs {
			ec.count(e)
			last = e.ID
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-poll.C:
		}
	}
}

// tail returns the ID of the newest event, so that counting starts now.
func (ec *eventCounters) tail(ctx context.Context) (int64, error) {
	evs, err := ec.events.Events(ctx, store.EventFilter{Limit: 1})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].ID, nil
}

// pollEvery bounds how late counters learn of events written by another
// server sharing the store.
const pollEvery = 2 * time.Second
