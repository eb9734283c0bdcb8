package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/secrets"
)

func TestRepeatedAuthenticationFailuresAreThrottled(t *testing.T) {
	f := newSecureFixture(t, auth.NewThrottle(3, 10*time.Second, 0))
	wrong := func() *http.Response {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/apps", nil)
		req.Header.Set("Authorization", "Bearer sluice_guess")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Calls without any token are not guesses and do not count.
	for range 5 {
		if resp, _ := f.do(t, "", "GET", "/api/v1/apps", ""); resp.StatusCode != 401 {
			t.Fatalf("no token: %d", resp.StatusCode)
		}
	}
	for i := range 3 {
		if resp := wrong(); resp.StatusCode != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := wrong()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "10" {
		t.Fatalf("fourth guess: %d, Retry-After %q; want 429 and 10", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if e := f.lastEntry(t); e.Status != 429 || e.Actor != "" || e.Source != "127.0.0.1" {
		t.Fatalf("throttled call audited as %+v", e)
	}
	// While throttled, even a good token waits: it is not checked at all.
	if resp, _ := f.do(t, auth.RoleAdmin, "GET", "/api/v1/apps", ""); resp.StatusCode != 429 {
		t.Fatalf("a good token while throttled: %d", resp.StatusCode)
	}
	// Health probes carry no token and are never throttled.
	if resp, _ := f.do(t, "", "GET", "/livez", ""); resp.StatusCode != 200 {
		t.Fatalf("livez while throttled: %d", resp.StatusCode)
	}
	f.clock.advance(10 * time.Second)
	if resp, body := f.do(t, auth.RoleAdmin, "GET", "/api/v1/apps", ""); resp.StatusCode != 200 {
		t.Fatalf("after the wait: %d %s", resp.StatusCode, body)
	}
}

func TestThrottleKey(t *testing.T) {
	cases := map[string]string{
		"192.0.2.7:5555":                  "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443":      "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:1":            "192.0.2.7",
		"not an address":                  "not an address",
		"@":                               "@",
		"[fe80::1%eth0]:80":               "fe80::/64",
		"[2001:db8:1:3:3:4:5:6]:443":      "2001:db8:1:3::/64",
		"198.51.100.1:0":                  "198.51.100.1",
		"[2001:db8:0:0:0:0:0:1]:65535":    "2001:db8::/64",
		"[2001:0db8:0000:0000::0001]:123": "2001:db8::/64",
	}
	for remote, want := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := throttleKey(r); got != want {
			t.Errorf("throttleKey(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestStatusOfSecurityErrors(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{&auth.ThrottledError{RetryAfter: time.Second}, 429},
		{fmt.Errorf("x: %w", auth.ErrThrottled), 429},
		{&secrets.InvalidError{Problems: []secrets.Problem{{Field: "path", Message: "bad"}}}, 400},
		{fmt.Errorf("get: %w", secrets.ErrNotFound), 404},
		{errNoSecrets, 404},
		{fmt.Errorf("open: %w", secrets.ErrSealed), 500},
		{errors.Join(secrets.ErrUnknownKey), 500},
	}
	for _, c := range cases {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
