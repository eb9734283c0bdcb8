package analysis

import (
	"context"
	"fmt"
	"time"

	"sluice.dev/sluice/internal/store"
)

// Run is one analysis run as its owner (the rollout controller) drives it:
// the compiled analysis, the name its measurements are stored under, and
// when it started. It is the thin I/O shell around the pure parts: it
// reads and appends measurements and calls the provider; Schedule and
// Observe decide.
type Run struct {
	// Name identifies the run within its app in the store, such as
	// `3/1764144000/step-2`.
	Name string
	// Analysis is the compiled analysis.
	Analysis *Analysis
	// Started is when the run began; initialDelay counts from it.
	Started time.Time

	page int // measurements Load reads per query; 0 means loadPage
}

// loadPage is how many measurements Load reads per query.
const loadPage = 1000

// Load reads every measurement of the run from s, oldest first, so that
// Evaluate can rebuild its state (after a restart, say).
func (r *Run) Load(ctx context.Context, s store.Store) ([]Measurement, error) {
	var out []Measurement
	after := int64(-1)
	limit := r.page
	if limit <= 0 {
		limit = loadPage
	}
	for {
		var page []store.Measurement
		err := s.Read(ctx, func(tx store.Tx) (err error) {
			page, err = tx.ListMeasurements(ctx, store.MeasurementFilter{
				App: r.Analysis.Target.App, Run: r.Name, AfterID: after, Limit: limit,
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("load measurements of analysis run %q: %w", r.Name, err)
		}
		out = append(out, FromRecords(page)...)
		if len(page) < limit {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// Advance takes the measurements due at now through p, one after another
// (each bounded by its metric's timeout and ctx), appends them to s in one
// transaction, and returns st with them folded in and when the next
// measurement falls due (zero once the run has its verdict). The
// measurements taken are returned too, for events that quote them. When
// nothing is due it only returns st and the next due time. When ctx ends
// while measuring, nothing is stored and ctx's error is returned.
func (r *Run) Advance(ctx context.Context, s store.Store, p Provider, st State, now time.Time) (State, time.Time, []Measurement, error) {
	due, next := r.Analysis.Schedule(r.Started, st, now)
	if len(due) == 0 {
		return st, next, nil, nil
	}
	taken := make([]Measurement, 0, len(due))
	for _, m := range due {
		taken = append(taken, Take(ctx, p, m, now))
	}
	if err := ctx.Err(); err != nil {
		// Measurements cut short by a shutdown say nothing of the
		// candidate: they are not stored, and are taken again later.
		return st, next, nil, fmt.Errorf("analysis run %q: %w", r.Name, err)
	}
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, m := range taken {
			if _, err := tx.AppendMeasurement(ctx, NewRecord(r.Name, r.Analysis.Target, m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return st, next, nil, fmt.Errorf("store measurements of analysis run %q: %w", r.Name, err)
	}
	st = r.Analysis.Observe(st, taken...)
	_, next = r.Analysis.Schedule(r.Started, st, now)
	return st, next, taken, nil
}
