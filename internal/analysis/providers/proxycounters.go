package providers

import (
	"context"
	"errors"
	"strconv"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/proxy"
)

// ProxyCounters reads an in-process proxy's per-revision measurements: it
// is the Counters of `sluice server`.
type ProxyCounters struct {
	server *proxy.Server
}

// NewProxyCounters returns Counters over s.
func NewProxyCounters(s *proxy.Server) ProxyCounters {
	return ProxyCounters{server: s}
}

// Summary implements Counters. A revision the proxy has not routed to (yet,
// or any more) has an empty summary; an app it does not serve is an error
// matching proxy.ErrUnknownApp.
func (p ProxyCounters) Summary(_ context.Context, app string, revision int, window time.Duration) (analysis.RevisionStats, error) {
	s, err := p.server.Stats(app, strconv.Itoa(revision), window)
	if errors.Is(err, proxy.ErrUnknownRevision) {
		return analysis.RevisionStats{}, nil
	}
	if err != nil {
		return analysis.RevisionStats{}, err
	}
	return FromSummary(s), nil
}

// FromSummary converts the proxy's summary of a revision to the variables
// of a builtin condition.
func FromSummary(s proxy.Summary) analysis.RevisionStats {
	return analysis.RevisionStats{
		Requests:      int(s.Requests),
		Errors:        int(s.Errors),
		SuccessRate:   s.SuccessRate,
		ErrorRate:     s.ErrorRate,
		P50:           s.P50,
		P90:           s.P90,
		P95:           s.P95,
		P99:           s.P99,
		TotalRequests: int(s.TotalRequests),
		TotalErrors:   int(s.TotalErrors),
	}
}
