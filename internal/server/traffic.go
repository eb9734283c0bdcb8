package server

import (
	"strconv"
	"time"

	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/pkg/apiv1"
)

// proxyTraffic reads the proxy's per-revision windows for the API's
// traffic route.
type proxyTraffic struct{ proxy *proxy.Server }

// RevisionTraffic implements api.TrafficReader.
func (p proxyTraffic) RevisionTraffic(app string, revision int, window time.Duration) (apiv1.RevisionTraffic, bool) {
	s, err := p.proxy.Stats(app, strconv.Itoa(revision), window)
	if err != nil {
		return apiv1.RevisionTraffic{}, false
	}
	t := apiv1.RevisionTraffic{Requests: s.Requests, Errors: s.Errors, ErrorRate: s.ErrorRate,
		P50Seconds: s.P50, P99Seconds: s.P99, TotalRequests: s.TotalRequests, TotalErrors: s.TotalErrors}
	if s.Window > 0 {
		t.RequestsPerSecond = float64(s.Requests) / s.Window.Seconds()
	}
	return t, true
}
