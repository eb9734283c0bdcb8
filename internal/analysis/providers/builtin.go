package providers

import (
	"context"
	"fmt"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/spec"
)

// Counters reads what the data plane measured for one revision of an app.
type Counters interface {
	// Summary returns the revision's requests, errors and latencies over
	// the last window ending now, and its totals. A revision that has not
	// served yet has an empty summary, not an error.
	Summary(ctx context.Context, app string, revision int, window time.Duration) (analysis.RevisionStats, error)
}

// Builtin measures a candidate against its stable revision from the proxy's
// own counters, so no metrics system is needed.
type Builtin struct {
	counters Counters
}

// NewBuiltin returns a builtin provider reading counters.
func NewBuiltin(counters Counters) *Builtin {
	return &Builtin{counters: counters}
}

// Measure implements analysis.Provider: the candidate's and the stable
// revision's stats over the metric's window. Without a stable revision
// (Target.Stable 0) the stable stats are zero.
func (b *Builtin) Measure(ctx context.Context, req analysis.Request) (analysis.Result, error) {
	bp := req.Provider.Builtin
	if bp == nil {
		return analysis.Result{}, fmt.Errorf("builtin: metric %s/%s: %w", req.Template, req.Metric, ErrWrongProvider)
	}
	window := spec.DefaultBuiltinWindow
	if bp.Window != nil {
		window = bp.Window.Duration
	}
	var c analysis.Comparison
	var err error
	if c.Candidate, err = b.counters.Summary(ctx, req.Target.App, req.Target.Candidate, window); err != nil {
		return analysis.Result{}, fmt.Errorf("candidate revision %d: %w", req.Target.Candidate, err)
	}
	if req.Target.Stable != 0 {
		if c.Stable, err = b.counters.Summary(ctx, req.Target.App, req.Target.Stable, window); err != nil {
			return analysis.Result{}, fmt.Errorf("stable revision %d: %w", req.Target.Stable, err)
		}
	}
	return analysis.Result{Revisions: &c, SampleSize: int64(c.Candidate.Requests)}, nil
}
