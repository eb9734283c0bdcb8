package server

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
)

func TestMeasurementsAreCountedWhenStored(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := newMeasurementCounter(db, prometheus.NewRegistry())
	ms := store.Measurement{App: "web", Run: "2/step-1", Candidate: 2, Stable: 1, Template: "golden", Metric: "errors",
		Time: time.Now(), Verdict: "Failed", Message: "x"}
	if err := m.Write(ctx, func(tx store.Tx) error { _, err := tx.AppendMeasurement(ctx, ms); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_ = m.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendMeasurement(ctx, ms); err != nil {
			return err
		}
		return boom // rolled back: not counted
	})
	if got := testutil.ToFloat64(m.count.WithLabelValues("web", "golden", "errors", "Failed")); got != 1 {
		t.Fatalf("counted %v, want 1", got)
	}
}
