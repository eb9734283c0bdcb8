package web

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/api"
	"sluice.dev/sluice/internal/audit"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

// fixture is the real API (SQLite store, tokens, secrets, audit log) with
// the dashboard mounted, on a real listener. No rollout controller runs:
// tests write app statuses as it would.
type fixture struct {
	srv    *httptest.Server
	store  store.Store
	audit  *audit.Log
	tokens map[auth.Role]string
	toks   *auth.Tokens
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, audit: audit.New(st, time.Now), tokens: map[auth.Role]string{}, toks: auth.NewTokens(st, time.Now)}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleDeployer, auth.RoleViewer, auth.RoleSDK} {
		nt := auth.NewToken{Name: "the-" + string(role), Role: role}
		if role == auth.RoleSDK {
			nt.Env = "production"
		}
		secret, _, err := f.toks.Create(ctx, nt)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
	}
	late := &lateAPI{}
	d, err := New(Options{API: late, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var extra []api.Route
	for _, r := range d.Routes() {
		extra = append(extra, api.Route{Pattern: r.Pattern, Permission: auth.PermNone, Handler: r.Handler})
	}
	a := api.New(api.Options{Resources: resources.New(st), Auth: f.toks, Tokens: f.toks, Extra: extra,
		Secrets: secrets.New(st, secrets.NewKey(), nil, time.Now), Audit: f.audit})
	late.h = a
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	return f
}

type lateAPI struct{ h http.Handler }

func (l *lateAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.h.ServeHTTP(w, r) }

// apply stores documents through the API as the admin.
func (f *fixture) apply(t *testing.T, doc string) {
	t.Helper()
	f.call(t, auth.RoleAdmin, "POST", "/api/v1/apply", doc, http.StatusOK)
}

// call makes one API call with a role's token and checks its status.
func (f *fixture) call(t *testing.T, role auth.Role, method, path, body string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// setStatus stores an app's status as the rollout controller would.
func (f *fixture) setStatus(t *testing.T, app string, st apiv1.AppStatus) {
	t.Helper()
	_, err := resources.New(f.store).UpdateStatus(context.Background(), spec.KindApp, app, func(store.Object) (json.RawMessage, []store.Event, error) {
		b, err := json.Marshal(st)
		return b, []store.Event{{App: app, Type: store.EventNormal, Reason: "TestStatus", Message: "status set by the test"}}, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// status reads an app's stored status.
func (f *fixture) status(t *testing.T, app string) apiv1.AppStatus {
	t.Helper()
	var o apiv1.Object
	if err := json.Unmarshal(f.call(t, auth.RoleAdmin, "GET", "/api/v1/apps/"+app, "", http.StatusOK), &o); err != nil {
		t.Fatal(err)
	}
	var st apiv1.AppStatus
	_ = json.Unmarshal(o.Status, &st)
	return st
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see them.
type browser struct {
	t    *testing.T
	f    *fixture
	c    *http.Client
	last string // the last page's body, where forms take their CSRF token
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one answer.
type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
	if strings.Contains(p.body, `name="csrf"`) {
		b.last = p.body
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.f.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form as the browser would: same origin, with the CSRF token
// of the last page that had a form, unless form sets its own.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", csrfOf(b.last))
	}
	req, _ := http.NewRequest("POST", b.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.f.srv.URL)
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func csrfOf(body string) string {
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// login signs in with a role's token and checks it worked.
func (b *browser) login(role auth.Role) *browser {
	b.t.Helper()
	if p := b.get("/ui/login"); p.status != http.StatusOK {
		b.t.Fatalf("login page: %d", p.status)
	}
	p := b.post("/ui/login", url.Values{"token": {b.f.tokens[role]}})
	if p.status != http.StatusSeeOther || p.location != "/ui/" {
		b.t.Fatalf("login as %s: %d %q %s", role, p.status, p.location, p.body)
	}
	return b
}

// contains fails the test unless body has every string.
func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: no %q in\n%s", what, w, body)
		}
	}
}

// lacks fails the test if body has any of the strings.
func lacks(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("%s: %q should not be there", what, n)
		}
	}
}

// entries returns the audit log, oldest first.
func entries(t *testing.T, f *fixture) []audit.Entry {
	t.Helper()
	es, err := f.audit.List(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

var errorRE = regexp.MustCompile(`(?s)class="error" role="alert">(.*?)</p>`)

// errorOf is the error line of a page, for test messages.
func errorOf(body string) string {
	if m := errorRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "(no error line)"
}
