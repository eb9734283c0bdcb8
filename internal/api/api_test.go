package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

type fixture struct {
	srv    *httptest.Server
	store  store.Store
	tokens map[auth.Role]string
}

func newFixture(t *testing.T, extra ...Route) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	toks := auth.NewTokens(st, time.Now)
	f := &fixture{store: st, tokens: map[auth.Role]string{}}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleDeployer, auth.RoleViewer, auth.RoleSDK} {
		secret, _, err := toks.Create(ctx, auth.NewToken{Name: string(role), Role: role, Env: "production"})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
	}
	a := New(Options{
		Resources: resources.New(st), Auth: toks, Tokens: toks, Extra: extra,
		Ready: []ReadyCheck{{Name: "store", Check: st.Ping}},
	})
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, role auth.Role, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const webApp = `apiVersion: sluice.dev/v1
kind: App
metadata: {name: web}
spec:
  listen: 127.0.0.1:18080
  runtime: {process: {command: [./web]}}
`

func TestApplyGetHistory(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", webApp)
	if resp.StatusCode != 200 {
		t.Fatalf("apply: %d %s", resp.StatusCode, body)
	}
	var res apiv1.ApplyResult
	json.Unmarshal(body, &res)
	if res.Resources[0].Action != apiv1.ActionCreated || res.Resources[0].Revision != 1 {
		t.Fatalf("apply result %s", body)
	}
	_, body = f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", webApp)
	json.Unmarshal(body, &res)
	if res.Resources[0].Action != apiv1.ActionUnchanged {
		t.Fatalf("second apply %s", body)
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web", "")
	var obj apiv1.Object
	if err := json.Unmarshal(body, &obj); err != nil || resp.StatusCode != 200 {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(obj.Spec), `"healthCheck":{"path":"/"`) || obj.Metadata.ResourceVersion != 1 {
		t.Fatalf("get did not fill defaults: %s", body)
	}
	var st apiv1.AppStatus
	json.Unmarshal(obj.Status, &st)
	if st.LatestRevision != 1 {
		t.Fatalf("status %s", obj.Status)
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web/revisions", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"number":1`) {
		t.Fatalf("revisions: %d %s", resp.StatusCode, body)
	}
	resp, _ = f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/nope", "")
	if resp.StatusCode != 404 {
		t.Fatalf("missing app: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, auth.RoleDeployer, "DELETE", "/api/v1/apps/web", "")
	if resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
}

func TestBadInputIsRejectedWithFieldPaths(t *testing.T) {
	f := newFixture(t)
	bad := strings.Replace(webApp, "runtime:", "healthCheck: {interval: 5x}\n  runtime:", 1)
	bad = strings.Replace(bad, "18080", "99999", 1)
	cases := []struct {
		name, body string
		fields     []string
	}{
		{"invalid fields", bad, []string{"spec.healthCheck.interval"}},
		{"malformed", "{{{", nil},
		{"unknown field", webApp + "bogus: 1\n", []string{"bogus"}},
	}
	for _, c := range cases {
		resp, body := f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", c.body)
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != apiv1.ProblemContentType {
			t.Fatalf("%s: %d %s %s", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var p apiv1.Problem
		if err := json.Unmarshal(body, &p); err != nil || p.Status != 400 || p.RequestID == "" {
			t.Fatalf("%s: problem %s", c.name, body)
		}
		for i, want := range c.fields {
			if i >= len(p.Errors) || p.Errors[i].Field != want {
				t.Errorf("%s: errors %+v, want field %s", c.name, p.Errors, want)
			}
		}
	}
	_, body := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps", "")
	if !strings.Contains(string(body), `"items":[]`) {
		t.Fatalf("a rejected apply stored something: %s", body)
	}
}

func TestAuthAndLimits(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "", "GET", "/api/v1/apps", "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer sluice_wrong")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, auth.RoleViewer, "POST", "/api/v1/apply", webApp)
	if resp.StatusCode != 403 {
		t.Fatalf("viewer apply: %d", resp.StatusCode)
	}
	big := webApp + "# " + strings.Repeat("x", MaxDocumentBytes) + "\n"
	resp, _ = f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", big)
	if resp.StatusCode != 413 {
		t.Fatalf("big document: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, auth.RoleAdmin, "POST", "/api/v1/tokens", `{"name": "`+strings.Repeat("x", MaxBodyBytes)+`"}`)
	if resp.StatusCode != 413 {
		t.Fatalf("big token request: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, "", "GET", "/livez", "")
	if resp.StatusCode != 200 {
		t.Fatalf("livez: %d", resp.StatusCode)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	boom := Route{"GET /boom", auth.PermRead, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") })}
	f := newFixture(t, boom)
	resp, body := f.do(t, auth.RoleViewer, "GET", "/boom", "")
	if resp.StatusCode != 500 || !strings.Contains(string(body), resp.Header.Get(RequestIDHeader)) {
		t.Fatalf("panic: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps", ""); resp.StatusCode != 200 {
		t.Fatalf("server did not survive the panic: %d", resp.StatusCode)
	}
}

// TestEveryRouteDeclaresItsPermission walks every route with every role: a
// role either passes the permission check or is refused with 403, exactly
// as the role table says.
func TestEveryRouteDeclaresItsPermission(t *testing.T) {
	f := newFixture(t)
	a := New(Options{Auth: auth.NewTokens(f.store, time.Now)})
	for _, r := range a.Routes() {
		if r.Permission == "" {
			t.Errorf("%s declares no permission", r.Pattern)
			continue
		}
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.NewReplacer("{kind}", "apps", "{name}", "zz-missing").Replace(path)
		for role := range f.tokens {
			resp, _ := f.do(t, role, method, path, "")
			forbidden := resp.StatusCode == http.StatusForbidden
			if forbidden == role.Allows(r.Permission) {
				t.Errorf("%s as %s: %d, but the role table says allowed=%v", r.Pattern, role, resp.StatusCode, role.Allows(r.Permission))
			}
		}
	}
}

func TestConcurrentAppliesLandOrConflict(t *testing.T) {
	f := newFixture(t)
	if resp, body := f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", webApp); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc := strings.Replace(webApp, "{name: web}", "{name: web, resourceVersion: 1}", 1)
			doc = strings.Replace(doc, "[./web]", fmt.Sprintf("[./web, '%d']", i), 1)
			req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/apply", strings.NewReader(doc))
			req.Header.Set("Authorization", "Bearer "+f.tokens[auth.RoleAdmin])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	landed := 0
	for c := range codes {
		switch c {
		case 200:
			landed++
		case 409:
		default:
			t.Errorf("status %d, want 200 or 409", c)
		}
	}
	if landed != 1 {
		t.Fatalf("%d applies at version 1 landed, want exactly 1", landed)
	}
	_, body := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web/revisions", "")
	var revs apiv1.RevisionList
	json.Unmarshal(body, &revs)
	if len(revs.Items) != 2 {
		t.Fatalf("revisions after the race: %d, want 2", len(revs.Items))
	}
}

func TestWatchEvents(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events?watch=true&app=web", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[auth.RoleViewer])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	if r, body := f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", webApp); r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, body)
	}
	sc := bufio.NewScanner(resp.Body)
	var reasons []string
	for sc.Scan() && len(reasons) < 2 {
		if data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
			var e apiv1.Event
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatal(err)
			}
			reasons = append(reasons, e.Reason)
		}
	}
	if strings.Join(reasons, ",") != "RevisionCreated,Created" {
		t.Fatalf("streamed %v", reasons)
	}
}

func TestReadyzFollowsTheStore(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "", "GET", "/readyz", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"store","ok":true`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	f.store.Close()
	resp, body = f.do(t, "", "GET", "/readyz", "")
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"ok":false`) {
		t.Fatalf("readyz with a closed store: %d %s", resp.StatusCode, body)
	}
}

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{store.ErrNotFound, 404}, {fmt.Errorf("x: %w", store.ErrConflict), 409}, {store.ErrExists, 409},
		{auth.ErrUnauthenticated, 401}, {errForbidden, 403}, {&http.MaxBytesError{Limit: 1}, 413},
		{errors.New("disk on fire"), 500},
	}
	for _, c := range cases {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestTemplateConditionsAreCheckedWhenApplied(t *testing.T) {
	f := newFixture(t)
	tpl := `apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata: {name: golden}
spec:
  metrics:
    - name: errors
      provider: {builtin: {}}
      successCondition: candidate.sucessRate >= 0.99
`
	resp, body := f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", tpl)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"spec.metrics[0].successCondition"`) {
		t.Fatalf("misspelt condition: %d %s", resp.StatusCode, body)
	}
	good := strings.Replace(tpl, "sucessRate", "successRate", 1)
	if resp, body := f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", good); resp.StatusCode != 200 {
		t.Fatalf("good template: %d %s", resp.StatusCode, body)
	}
}
