package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"syscall"
	"time"
)

// Defaults of Target's fields, the same as an app spec's healthCheck.
const (
	DefaultPath               = "/"
	DefaultInterval           = 2 * time.Second
	DefaultTimeout            = time.Second
	DefaultHealthyThreshold   = 1
	DefaultUnhealthyThreshold = 3
)

// Target is one instance to probe and how.
type Target struct {
	// ID identifies the target in the set, usually the instance ID.
	// Required and unique.
	ID string
	// Address is where to connect, as "host:port". Required.
	Address string
	// Path is requested with GET. Default "/".
	Path string
	// Interval is the time between the starts of two checks. Default 2s.
	Interval time.Duration
	// Timeout bounds one check, from connecting to the response headers.
	// Default 1s, and never more than Interval.
	Timeout time.Duration
	// HealthyThreshold is how many passes in a row make the target
	// Healthy. Default 1.
	HealthyThreshold int
	// UnhealthyThreshold is how many failures in a row make it Unhealthy.
	// Default 3.
	UnhealthyThreshold int
	// StatusCodes are the response codes that pass. Empty means 200–399.
	// Redirects are not followed: a 3xx answer is judged as it is.
	StatusCodes []StatusRange
}

// withDefaults fills in unset fields.
func (t Target) withDefaults() Target {
	if t.Path == "" {
		t.Path = DefaultPath
	}
	if t.Interval <= 0 {
		t.Interval = DefaultInterval
	}
	if t.Timeout <= 0 {
		t.Timeout = min(DefaultTimeout, t.Interval)
	}
	t.Timeout = min(t.Timeout, t.Interval)
	if t.HealthyThreshold <= 0 {
		t.HealthyThreshold = DefaultHealthyThreshold
	}
	if t.UnhealthyThreshold <= 0 {
		t.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if len(t.StatusCodes) == 0 {
		t.StatusCodes = DefaultStatusRanges()
	}
	return t
}

// clone returns a copy of t that shares no memory with it.
func (t Target) clone() Target {
	t.StatusCodes = slices.Clone(t.StatusCodes)
	return t
}

// thresholds returns t's thresholds for State.Observe.
func (t Target) thresholds() Thresholds {
	return Thresholds{Healthy: t.HealthyThreshold, Unhealthy: t.UnhealthyThreshold}
}

// equal reports whether t and o describe the same check.
func (t Target) equal(o Target) bool {
	return t.ID == o.ID && t.Address == o.Address && t.Path == o.Path &&
		t.Interval == o.Interval && t.Timeout == o.Timeout &&
		t.HealthyThreshold == o.HealthyThreshold && t.UnhealthyThreshold == o.UnhealthyThreshold &&
		slices.Equal(t.StatusCodes, o.StatusCodes)
}

// validate checks the fields that have no default.
func (t Target) validate() error {
	if t.ID == "" {
		return errors.New("target has no ID")
	}
	if _, _, err := net.SplitHostPort(t.Address); err != nil {
		return fmt.Errorf("target %s: address %q: %w", t.ID, t.Address, err)
	}
	if len(t.Path) == 0 || t.Path[0] != '/' {
		return fmt.Errorf("target %s: path %q must start with /", t.ID, t.Path)
	}
	return nil
}

// result is the outcome of one check.
type result struct {
	pass   bool
	reason string
}

// probe makes one check of t with client and says whether it passed and
// why, e.g. "GET /health: 503" or "GET /health: timeout after 1s".
func probe(ctx context.Context, client *http.Client, t Target) result {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	what := "GET " + t.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Address+t.Path, nil)
	if err != nil {
		return result{reason: fmt.Sprintf("%s: %v", what, err)}
	}
	req.Header.Set("User-Agent", "sluice-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return result{reason: fmt.Sprintf("%s: %s", what, describeError(ctx, err, t.Timeout))}
	}
	resp.Body.Close()
	return result{
		pass:   accepts(t.StatusCodes, resp.StatusCode),
		reason: fmt.Sprintf("%s: %d", what, resp.StatusCode),
	}
}

// describeError says briefly why a request failed, without the URL that
// the transport's errors repeat.
func describeError(ctx context.Context, err error, timeout time.Duration) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout after " + timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err.Error()
	}
	return err.Error()
}

// newClient returns the HTTP client checks use by default: no proxy from
// the environment, no connection reuse (each check proves that the instance
// still accepts connections), and no redirects followed.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
