package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
)

func TestInstrumentedCountsFailuresNotAnswers(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	in := store.Instrument(s, reg)
	_ = in.Read(ctx, func(tx store.Tx) error {
		_, err := tx.Get(ctx, "App", "missing")
		return err
	})
	boom := errors.New("boom")
	if err := in.Write(ctx, func(store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	s.Close()
	_ = in.Ping(ctx)
	want := `
# HELP sluice_store_errors_total Store transactions that failed, by operation.
# TYPE sluice_store_errors_total counter
sluice_store_errors_total{operation="ping"} 1
sluice_store_errors_total{operation="write"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_store_errors_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "sluice_store_operation_duration_seconds"); n != 3 {
		t.Fatalf("%d duration series, want read, write and ping", n)
	}
}
