package api

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"sluice.dev/sluice/internal/auth"
)

// Throttler limits failed authentications per source; *auth.Throttle is
// the implementation.
type Throttler interface {
	// Allow returns a *auth.ThrottledError when source must wait.
	Allow(source string, now time.Time) error
	// Fail records a failed authentication.
	Fail(source string, now time.Time)
}

// sourceOf is the caller's address without its port, as the connection
// shows it. sluice does not trust X-Forwarded-For: behind a proxy of your
// own, every caller has the proxy's address.
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// throttleKey groups callers for the throttle: an IPv4 address, or the /64
// network of an IPv6 address, since one IPv6 host usually owns a whole /64.
func throttleKey(r *http.Request) string {
	addr, err := netip.ParseAddr(sourceOf(r))
	if err != nil {
		return sourceOf(r)
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64) // a /64 of an IPv6 address always exists
		return p.String()
	}
	return addr.String()
}

// throttled answers 429 with Retry-After and returns true when the caller
// has failed to authenticate too often lately.
func (a *API) throttled(w http.ResponseWriter, r *http.Request) bool {
	err := a.opts.Throttle.Allow(throttleKey(r), a.opts.Now())
	if err == nil {
		return false
	}
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.RetryAfter.Seconds()))))
	}
	a.log.WarnContext(r.Context(), "authentication throttled", append(requestAttrs(r), "source", sourceOf(r))...)
	a.writeError(w, r, err)
	return true
}

// authFailed counts a presented credential that did not authenticate. A
// request without any credential is not a guess and is not counted.
func (a *API) authFailed(r *http.Request, secret string, err error) {
	if secret != "" && errors.Is(err, auth.ErrUnauthenticated) {
		a.opts.Throttle.Fail(throttleKey(r), a.opts.Now())
	}
}
