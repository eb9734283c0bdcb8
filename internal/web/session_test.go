package web

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/audit"
	"sluice.dev/sluice/internal/auth"
)

func TestSignInAndOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)

	p := b.get("/ui/apps/web?part=1")
	if p.status != http.StatusSeeOther || p.location != "/ui/login?next="+url.QueryEscape("/ui/apps/web?part=1") {
		t.Fatalf("a page without a session: %d %q", p.status, p.location)
	}
	if p := b.get("/"); p.status != http.StatusFound || p.location != "/ui/" {
		t.Fatalf("the root: %d %q", p.status, p.location)
	}
	login := b.get("/ui/login?next=/ui/flags")
	contains(t, "login page", login.body, `type="password"`, `<label for="token">`, `name="next" value="/ui/flags"`)
	for h, want := range map[string]string{
		"Content-Security-Policy": contentSecurityPolicy, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if got := login.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}

	// Refusals: a wrong token, an SDK key, a form from another site, one
	// without its one-time value. None starts a session.
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
		status int
		says   string
	}{
		{"unknown token", url.Values{"token": {"sl_nope"}}, "", http.StatusUnauthorized, "unknown, revoked or expired"},
		{"empty token", url.Values{"token": {" "}}, "", http.StatusBadRequest, "Enter an API token"},
		{"sdk key", url.Values{"token": {f.tokens[auth.RoleSDK]}}, "", http.StatusForbidden, "cannot sign in"},
		{"cross-site", url.Values{"token": {f.tokens[auth.RoleAdmin]}}, "https://evil.example", http.StatusForbidden, "another site"},
		{"no nonce", url.Values{"token": {f.tokens[auth.RoleAdmin]}, "csrf": {"forged"}}, "", http.StatusForbidden, "expired"},
	} {
		b.get("/ui/login")
		form := tc.form
		if _, ok := form["csrf"]; !ok {
			form.Set("csrf", csrfOf(b.last))
		}
		req, _ := http.NewRequest("POST", f.srv.URL+"/ui/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		p := b.do(req)
		if p.status != tc.status || !strings.Contains(p.body, tc.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%s", tc.name, p.status, tc.status, tc.says, p.body)
		}
		for _, c := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, SessionCookie+"=") && !strings.HasPrefix(c, SessionCookie+"=;") {
				t.Errorf("%s: a session was started: %s", tc.name, c)
			}
		}
	}

	b.get("/ui/login?next=/ui/flags")
	p = b.post("/ui/login", url.Values{"token": {f.tokens[auth.RoleViewer]}, "next": {"/ui/flags"}})
	if p.status != http.StatusSeeOther || p.location != "/ui/flags" {
		t.Fatalf("sign in: %d %q", p.status, p.location)
	}
	cookie := ""
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, SessionCookie+"=") {
			cookie = c
		}
	}
	for _, attr := range []string{"Path=/ui/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("a session cookie over plain HTTP is marked Secure: %q", cookie)
	}
	home := b.get("/ui/")
	contains(t, "overview", home.body, "the-viewer", "viewer", "Sign out")
	lacks(t, "viewer's navigation", home.body, `href="/ui/audit"`)

	// Signing in again goes straight on; a next that leaves the dashboard
	// is ignored.
	if p := b.get("/ui/login?next=//evil.example/"); p.status != http.StatusSeeOther || p.location != "/ui/" {
		t.Errorf("login page while signed in: %d %q", p.status, p.location)
	}

	// Revoking the token ends the session at the next page.
	f.call(t, auth.RoleAdmin, "DELETE", "/api/v1/tokens/the-viewer", "", http.StatusNoContent)
	if p := b.get("/ui/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/login") {
		t.Fatalf("after the token was revoked: %d %q", p.status, p.location)
	}

	// Sign out: the cookie is cleared, pages need a sign-in again.
	b2 := f.browser(t).login(auth.RoleDeployer)
	b2.get("/ui/")
	if p := b2.post("/ui/logout", nil); p.status != http.StatusSeeOther || p.location != "/ui/login" {
		t.Fatalf("sign out: %d %q", p.status, p.location)
	}
	if p := b2.get("/ui/"); p.status != http.StatusSeeOther {
		t.Fatalf("after signing out: %d", p.status)
	}
}

func TestFailedSignInsAreThrottledAndAudited(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	var last page
	for range 12 {
		b.get("/ui/login")
		last = b.post("/ui/login", url.Values{"token": {"sl_guess"}})
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(last.body, "Too many failed sign-ins") {
		t.Fatalf("after 12 wrong tokens: %d %s", last.status, last.body)
	}
	entries, err := f.audit.List(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range entries {
		if e.Action == "GET /api/v1/whoami" && (e.Status == 401 || e.Status == 429) && strings.HasPrefix(e.Source, "127.0.0.1") {
			refused++
		}
	}
	if refused < 10 {
		t.Fatalf("%d refused sign-ins audited with the browser's address, want at least 10: %+v", refused, entries)
	}
}

func TestLiveEventsFollowTheSession(t *testing.T) {
	f := newFixture(t)
	f.apply(t, webApp)
	b := f.browser(t).login(auth.RoleViewer)
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/events?app=web", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := b.c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	f.setStatus(t, "web", statusAt(2500))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "TestStatus") {
			return
		}
	}
	t.Fatalf("no event reached the stream: %v", sc.Err())
}

func TestEventsNeedASession(t *testing.T) {
	f := newFixture(t)
	if p := f.browser(t).get("/ui/events"); p.status != http.StatusUnauthorized {
		t.Fatalf("events without a session: %d", p.status)
	}
	b := f.browser(t)
	u, _ := url.Parse(f.srv.URL + "/ui/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: "sl_forged"}})
	if p := b.get("/ui/events"); p.status != http.StatusUnauthorized {
		t.Fatalf("events with a forged session: %d", p.status)
	}
}
