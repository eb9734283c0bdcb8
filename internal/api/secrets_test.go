package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/audit"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

// secureFixture is an API with secrets, an audit log, a throttle on a
// clock the test moves, and a token per role.
type secureFixture struct {
	*fixture
	api   *API
	audit *audit.Log
	logs  *lockedBuffer
	clock *testClock
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// fakeRotator rotates the secrets service's key as the server would.
type fakeRotator struct{ svc *secrets.Service }

func (f fakeRotator) RotateMasterKey(ctx context.Context) (apiv1.MasterKeyRotation, error) {
	k := secrets.NewKey()
	n, err := f.svc.Rotate(ctx, k)
	return apiv1.MasterKeyRotation{KeyID: k.ID(), Rewrapped: n, Source: apiv1.MasterKeyFromFile}, err
}

func newSecureFixture(t testing.TB, throttle Throttler) *secureFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{t: time.Now()}
	toks := auth.NewTokens(st, time.Now)
	f := &secureFixture{fixture: &fixture{store: st, tokens: map[auth.Role]string{}}, logs: &lockedBuffer{}, clock: clock}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleDeployer, auth.RoleViewer, auth.RoleSDK} {
		secret, _, err := toks.Create(ctx, auth.NewToken{Name: "the-" + string(role), Role: role, Env: "production"})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
	}
	svc := secrets.New(st, secrets.NewKey(), nil, time.Now)
	f.audit = audit.New(st, time.Now)
	f.api = New(Options{
		Resources: resources.New(st), Auth: toks, Tokens: toks, Secrets: svc, MasterKey: fakeRotator{svc},
		Audit: f.audit, Throttle: throttle, Now: clock.now,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	f.srv = httptest.NewServer(f.api)
	t.Cleanup(f.srv.Close)
	return f
}

// entries returns the audit log, oldest first.
func (f *secureFixture) entries(t *testing.T) []audit.Entry {
	t.Helper()
	list, err := f.audit.List(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// lastEntry returns the newest audit entry.
func (f *secureFixture) lastEntry(t *testing.T) audit.Entry {
	t.Helper()
	list := f.entries(t)
	if len(list) == 0 {
		t.Fatal("the audit log is empty")
	}
	return list[len(list)-1]
}

const secretValue = "tr0ub4dor-and-3-more-words"

func TestSecretsRoundTripAndMasking(t *testing.T) {
	f := newSecureFixture(t, nil)
	put := `{"data":{"password":"` + secretValue + `","user":"web"}}`
	resp, body := f.do(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path=hello/db", put)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":1`) {
		t.Fatalf("put: %d %s", resp.StatusCode, body)
	}
	f.do(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path=hello/db", `{"data":{"password":"second"}}`)

	resp, body = f.do(t, auth.RoleAdmin, "GET", "/api/v1/secrets/data?path=hello/db&version=1", "")
	var sec apiv1.Secret
	if err := json.Unmarshal(body, &sec); err != nil || resp.StatusCode != 200 || sec.Data["password"] != secretValue || sec.Masked {
		t.Fatalf("admin read: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("a secret value may be cached")
	}
	for _, role := range []auth.Role{auth.RoleDeployer, auth.RoleViewer} {
		resp, body = f.do(t, role, "GET", "/api/v1/secrets/metadata?path=hello/db&version=1", "")
		var md apiv1.SecretMetadata
		if err := json.Unmarshal(body, &md); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s metadata: %d %s", role, resp.StatusCode, body)
		}
		if md.LatestVersion != 2 || len(md.Versions) != 2 || md.Secret.Version != 1 || !md.Secret.Masked ||
			md.Secret.Data["password"] != Mask || md.Secret.Data["user"] != Mask {
			t.Fatalf("%s metadata: %s", role, body)
		}
		if strings.Contains(string(body), secretValue) || strings.Contains(string(body), `"web"`) {
			t.Fatalf("%s saw a value: %s", role, body)
		}
		resp, body = f.do(t, role, "GET", "/api/v1/secrets/data?path=hello/db", "")
		if resp.StatusCode != 403 || strings.Contains(string(body), "second") {
			t.Fatalf("%s read a value: %d %s", role, resp.StatusCode, body)
		}
		e := f.lastEntry(t)
		if e.Status != 403 || e.Actor != "the-"+string(role) || e.Role != string(role) || e.Resource != "secrets/hello/db" ||
			e.Action != "GET /api/v1/secrets/data" {
			t.Fatalf("refused read audited as %+v", e)
		}
		if resp, _ := f.do(t, role, "PUT", "/api/v1/secrets/data?path=hello/db", put); resp.StatusCode != 403 {
			t.Fatalf("%s wrote a secret: %d", role, resp.StatusCode)
		}
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/secrets", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"path":"hello/db","latestVersion":2`) {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleAdmin, "POST", "/api/v1/secrets/rollback?path=hello/db", `{"version":1}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":3,`) || !strings.Contains(string(body), `"restoredFrom":1`) {
		t.Fatalf("rollback: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleAdmin, "POST", "/api/v1/secrets/rotate-master-key", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"rewrapped":3`) {
		t.Fatalf("rotate: %d %s", resp.StatusCode, body)
	}
	if _, body = f.do(t, auth.RoleAdmin, "GET", "/api/v1/secrets/data?path=hello/db", ""); !strings.Contains(string(body), secretValue) {
		t.Fatalf("after rollback and rotation: %s", body)
	}
	if resp, _ = f.do(t, auth.RoleAdmin, "DELETE", "/api/v1/secrets/metadata?path=hello/db", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	for _, p := range []string{"/api/v1/secrets/data?path=hello/db", "/api/v1/secrets/metadata?path=hello/db"} {
		if resp, _ = f.do(t, auth.RoleAdmin, "GET", p, ""); resp.StatusCode != 404 {
			t.Fatalf("%s after delete: %d", p, resp.StatusCode)
		}
	}
	if strings.Contains(f.logs.String(), secretValue) {
		t.Fatalf("the server log holds a secret value:\n%s", f.logs)
	}
	_, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/events", "")
	if strings.Contains(string(body), secretValue) || !strings.Contains(string(body), "SecretWritten") {
		t.Fatalf("events: %s", body)
	}
}

func TestSecretsBadInput(t *testing.T) {
	f := newSecureFixture(t, nil)
	cases := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"PUT", "/api/v1/secrets/data?path=Bad/Path", `{"data":{"k":"v"}}`, 400, "path"},
		{"PUT", "/api/v1/secrets/data", `{"data":{"k":"v"}}`, 400, "path"},
		{"PUT", "/api/v1/secrets/data?path=a", `{"data":{}}`, 400, "data"},
		{"PUT", "/api/v1/secrets/data?path=a", `{"data":{"k":"` + secretValue + `"}, "extra": 1}`, 400, ""},
		{"PUT", "/api/v1/secrets/data?path=a", `{"data":{"k":"` + secretValue + `"`, 400, ""},
		{"PUT", "/api/v1/secrets/data?path=a", `{"data":{"k":1}}`, 400, ""},
		{"PUT", "/api/v1/secrets/data?path=a", `{"data":{"k":"v"}} {"data":{}}`, 400, ""},
		{"PUT", "/api/v1/secrets/data?path=a", `{"data":{"k":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`, 413, ""},
		{"GET", "/api/v1/secrets/data?path=a&version=zero", "", 400, "version"},
		{"GET", "/api/v1/secrets/metadata?path=a&version=-1", "", 400, "version"},
		{"POST", "/api/v1/secrets/rollback?path=a", `{"version":0}`, 400, "version"},
		{"POST", "/api/v1/secrets/rollback?path=a", `{"version":1}`, 404, ""},
		{"DELETE", "/api/v1/secrets/metadata?path=a", "", 404, ""},
	}
	for _, c := range cases {
		resp, body := f.do(t, auth.RoleAdmin, c.method, c.path, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.status)
			continue
		}
		var p apiv1.Problem
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s %s: not a problem: %s", c.method, c.path, body)
		}
		if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
			t.Errorf("%s %s: errors %+v, want field %s", c.method, c.path, p.Errors, c.field)
		}
		if strings.Contains(string(body), secretValue) {
			t.Errorf("%s %s: the answer quotes a value: %s", c.method, c.path, body)
		}
	}
	if strings.Contains(f.logs.String(), secretValue) {
		t.Fatal("a refused secret value reached the log")
	}
}
