package server

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
)

func TestFlagMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := feed.New()
	m := newFlagMetrics(reg, f)
	m.observe("production", "new-checkout", "on", flags.ReasonTargetingMatch)
	m.observe("production", "new-checkout", "on", flags.ReasonTargetingMatch)
	if got := testutil.ToFloat64(m.evaluations.WithLabelValues("production", "new-checkout", "on", "TARGETING_MATCH")); got != 2 {
		t.Fatalf("evaluations = %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Subscribe(ctx, "production")
	n, err := testutil.GatherAndCount(reg, "sluice_flag_stream_subscribers")
	if err != nil || n != 1 {
		t.Fatalf("subscriber gauge: %d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "sluice_flag_stream_subscribers" && mf.Metric[0].GetGauge().GetValue() != 1 {
			t.Fatalf("subscribers = %v, want 1", mf.Metric[0].GetGauge().GetValue())
		}
	}
}
