package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

func TestRolloutSeriesFollowTheStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res := resources.New(st)
	docs, err := spec.Decode([]byte("apiVersion: sluice.dev/v1\nkind: App\nmetadata: {name: web}\nspec: {listen: '127.0.0.1:18200', runtime: {process: {command: [x]}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Apply(ctx, docs, "t"); err != nil {
		t.Fatal(err)
	}
	status := apiv1.AppStatus{Phase: apiv1.PhaseProgressing, Weight: 2500}
	status.Revisions = []apiv1.RevisionStatus{{Revision: 2, Instances: []apiv1.InstanceStatus{{Health: "Healthy"}, {Health: "Unhealthy"}, {Health: "Healthy"}}}}
	raw, _ := json.Marshal(status)
	err = st.Write(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, spec.KindApp, "web")
		if err != nil {
			return err
		}
		o.Status = raw
		_, err = tx.Update(ctx, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newRolloutCollector(res, slog.New(slog.DiscardHandler)))
	want := `
# HELP sluice_instances Instances of each revision by health (healthy, unhealthy).
# TYPE sluice_instances gauge
sluice_instances{app="web",health="healthy",revision="2"} 2
sluice_instances{app="web",health="unhealthy",revision="2"} 1
# HELP sluice_rollout_candidate_weight_ratio The candidate's share of an app's traffic, 0 to 1.
# TYPE sluice_rollout_candidate_weight_ratio gauge
sluice_rollout_candidate_weight_ratio{app="web"} 0.25
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_instances", "sluice_rollout_candidate_weight_ratio"); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "sluice_rollout_phase")
	if err != nil || n != 7 {
		t.Fatalf("%d phase series, %v", n, err)
	}

	// Stopped before it could start, the counter stops without an error
	// (a server told to stop just after it started exits cleanly).
	stopped, stop := context.WithCancel(ctx)
	stop()
	if err := newEventCounters(res, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)).Run(stopped); err != nil {
		t.Fatalf("run with a stopped context: %v", err)
	}

	// Events recorded after the counters start are counted; older ones not.
	counters := newEventCounters(res, reg, slog.New(slog.DiscardHandler))
	if err := res.Record(ctx, store.Event{App: "web", Reason: apiv1.ReasonPromoted, Message: "old"}); err != nil {
		t.Fatal(err)
	}
	last, err := counters.tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- counters.follow(runCtx, last) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for _, e := range []store.Event{
		{App: "web", Reason: apiv1.ReasonAborted, Message: "a"},
		{App: "web", Reason: apiv1.ReasonProgressDeadline, Message: "f"},
		{App: "web", Revision: 2, Reason: "InstanceRestarted", Message: "r"},
	} {
		if err := res.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for testutil.ToFloat64(counters.restarts.WithLabelValues("web", "2")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the restart was not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := testutil.ToFloat64(counters.rollouts.WithLabelValues("web", "aborted")); got != 1 {
		t.Errorf("aborted = %v", got)
	}
	if got := testutil.ToFloat64(counters.rollouts.WithLabelValues("web", "promoted")); got != 0 {
		t.Errorf("an event from before the start was counted: promoted = %v", got)
	}
	if got := testutil.ToFloat64(counters.rollouts.WithLabelValues("web", "failed")); got != 1 {
		t.Errorf("failed = %v", got)
	}
}
