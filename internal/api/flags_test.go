package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
	"sluice.dev/sluice/internal/flags/ofrep"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

// flagFixture is an API with a live flag feed and OFREP mounted, as the
// server wires them.
type flagFixture struct {
	*fixture
	feed *feed.Feed
}

func newFlagFixture(t *testing.T) *flagFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	toks := auth.NewTokens(st, time.Now)
	f := &flagFixture{fixture: &fixture{store: st, tokens: map[auth.Role]string{}}, feed: feed.New()}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleDeployer, auth.RoleViewer, auth.RoleSDK} {
		secret, _, err := toks.Create(ctx, auth.NewToken{Name: string(role), Role: role, Env: "production"})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
	}
	h := ofrep.NewHandler(f.feed, OFREPEnvironment)
	a := New(Options{Resources: resources.New(st), Auth: toks, Tokens: toks, Flags: f.feed, Extra: OFREPRoutes(h)})
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	t.Cleanup(h.CloseStreams)
	return f
}

// publish serves doc as the environment's flags.
func (f *flagFixture) publish(t *testing.T, env, doc, version string) {
	t.Helper()
	set, err := flags.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	f.feed.Publish(env, set, version)
}

const checkoutFlags = `{"flags":{
  "new-checkout":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
    "targeting":{"if":[{"ends_with":[{"var":"email"},"@example.com"]},"on",null]}},
  "color":{"state":"ENABLED","variants":{"red":"#f00","blue":"#00f"},"defaultVariant":"red"}}}`

func flagSetDoc(env, specJSON string) string {
	return `{"apiVersion":"sluice.dev/v1","kind":"FlagSet","metadata":{"name":"` + env + `"},"spec":` + specJSON + `}`
}

func TestFlagSetsThroughTheAPI(t *testing.T) {
	f := newFlagFixture(t)
	resp, body := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", flagSetDoc("production", checkoutFlags))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"kind":"FlagSet"`) {
		t.Fatalf("apply: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/flagsets/production", "")
	var obj apiv1.Object
	if err := json.Unmarshal(body, &obj); err != nil || resp.StatusCode != 200 || obj.Kind != "FlagSet" {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(obj.Spec), `"defaultVariant":"off"`) {
		t.Fatalf("spec not stored as given: %s", obj.Spec)
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/flagsets", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"production"`) {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}

	// An invalid set is refused whole, with paths, and nothing changes.
	bad := strings.Replace(checkoutFlags, `"defaultVariant":"red"`, `"defaultVariant":"green"`, 1)
	resp, body = f.do(t, auth.RoleDeployer, "PUT", "/api/v1/flagsets/production", flagSetDoc("production", bad))
	var p apiv1.Problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 400 || len(p.Errors) != 1 ||
		p.Errors[0].Field != "spec.flags.color.defaultVariant" {
		t.Fatalf("invalid set: %d %s", resp.StatusCode, body)
	}
	_, after := f.do(t, auth.RoleViewer, "GET", "/api/v1/flagsets/production", "")
	var kept apiv1.Object
	json.Unmarshal(after, &kept)
	if kept.Metadata.ResourceVersion != 1 || string(kept.Spec) != string(obj.Spec) {
		t.Fatalf("a refused set changed the stored one: %s", after)
	}
}

func TestHistoryThroughTheAPI(t *testing.T) {
	f := newFlagFixture(t)
	f.do(t, auth.RoleAdmin, "POST", "/api/v1/apply", flagSetDoc("production", checkoutFlags))
	changed := strings.Replace(checkoutFlags, `"defaultVariant":"red"`, `"defaultVariant":"blue"`, 1)
	f.do(t, auth.RoleDeployer, "PUT", "/api/v1/flagsets/production", flagSetDoc("production", changed))
	if resp, _ := f.do(t, auth.RoleAdmin, "DELETE", "/api/v1/flagsets/production", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}

	resp, body := f.do(t, auth.RoleViewer, "GET", "/api/v1/flagsets/production/history", "")
	var list apiv1.HistoryList
	if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("history: %d %s", resp.StatusCode, body)
	}
	want := []struct{ action, actor string }{{"created", "admin"}, {"updated", "deployer"}, {"deleted", "admin"}}
	if len(list.Items) != len(want) {
		t.Fatalf("history: %s", body)
	}
	for i, w := range want {
		if e := list.Items[i]; e.Version != int64(i+1) || e.Action != w.action || e.Actor != w.actor || e.Time.IsZero() {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/flagsets/production/history/2", "")
	var one apiv1.HistoryEntry
	if err := json.Unmarshal(body, &one); err != nil || resp.StatusCode != 200 || !strings.Contains(string(one.Spec), `"defaultVariant":"blue"`) {
		t.Fatalf("version 2: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/flagsets/production/history?limit=1", "")
	if json.Unmarshal(body, &list) != nil || len(list.Items) != 1 || list.Items[0].Version != 3 {
		t.Fatalf("limit 1: %d %s", resp.StatusCode, body)
	}
	for path, status := range map[string]int{
		"/api/v1/flagsets/production/history/9":       404,
		"/api/v1/flagsets/production/history/zero":    400,
		"/api/v1/flagsets/production/history?limit=0": 400,
		"/api/v1/flagsets/staging/history":            404,
		"/api/v1/gadgets/production/history":          404,
	} {
		if resp, body := f.do(t, auth.RoleViewer, "GET", path, ""); resp.StatusCode != status {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, status)
		}
	}
	if resp, _ := f.do(t, auth.RoleSDK, "GET", "/api/v1/flagsets/production/history", ""); resp.StatusCode != 403 {
		t.Errorf("sdk key read the history: %d", resp.StatusCode)
	}
}

func TestEvaluateThroughTheAPI(t *testing.T) {
	f := newFlagFixture(t)
	f.publish(t, "production", checkoutFlags, "7")
	resp, body := f.do(t, auth.RoleViewer, "POST", "/api/v1/flagsets/production/evaluate/new-checkout",
		`{"context":{"targetingKey":"u1","email":"kim@example.com"}}`)
	var ev apiv1.FlagEvaluation
	if err := json.Unmarshal(body, &ev); err != nil || resp.StatusCode != 200 {
		t.Fatalf("evaluate: %d %s", resp.StatusCode, body)
	}
	if ev.Value != true || ev.Variant != "on" || ev.Reason != "TARGETING_MATCH" || ev.FlagSetVersion != "7" {
		t.Fatalf("evaluation = %+v", ev)
	}
	resp, body = f.do(t, auth.RoleViewer, "POST", "/api/v1/flagsets/production/evaluate/new-checkout", "")
	if json.Unmarshal(body, &ev) != nil || resp.StatusCode != 200 || ev.Value != false || ev.Reason != "DEFAULT" {
		t.Fatalf("empty context: %d %s", resp.StatusCode, body)
	}
	cases := []struct {
		path, body string
		status     int
	}{
		{"/api/v1/flagsets/production/evaluate/nope", `{}`, 404},
		{"/api/v1/flagsets/staging/evaluate/new-checkout", `{}`, 404},
		{"/api/v1/flagsets/production/evaluate/new-checkout", `{"context": [1]}`, 400},
		{"/api/v1/flagsets/production/evaluate/new-checkout", `{"ctx": {}}`, 400},
		{"/api/v1/flagsets/production/evaluate/new-checkout", `{{`, 400},
	}
	for _, c := range cases {
		if resp, body := f.do(t, auth.RoleViewer, "POST", c.path, c.body); resp.StatusCode != c.status {
			t.Errorf("POST %s %s: %d %s, want %d", c.path, c.body, resp.StatusCode, body, c.status)
		}
	}
	if resp, _ := f.do(t, auth.RoleSDK, "POST", "/api/v1/flagsets/production/evaluate/color", `{}`); resp.StatusCode != 403 {
		t.Errorf("an sdk key used the management API: %d", resp.StatusCode)
	}
}

// ofrepCall evaluates a flag over OFREP with the given headers.
func (f *flagFixture) ofrepCall(t *testing.T, path string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(`{"context":{"targetingKey":"u1"}}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp, b.String()
}

// TestOFREPAuthentication walks the OFREP routes with every kind of
// credential: SDK keys read their own environment only, admin and
// deployer tokens name one, viewers are refused, and nothing is read
// without a token.
func TestOFREPAuthentication(t *testing.T) {
	f := newFlagFixture(t)
	f.publish(t, "production", checkoutFlags, "1")
	f.publish(t, "staging", strings.Replace(checkoutFlags, `"defaultVariant":"red"`, `"defaultVariant":"blue"`, 1), "1")
	bearer := func(role auth.Role) string { return "Bearer " + f.tokens[role] }
	cases := []struct {
		name    string
		headers map[string]string
		status  int
		color   string
	}{
		{"sdk key by bearer", map[string]string{"Authorization": bearer(auth.RoleSDK)}, 200, "#f00"},
		{"sdk key by X-API-Key", map[string]string{"X-API-Key": f.tokens[auth.RoleSDK]}, 200, "#f00"},
		{"sdk key naming its own env", map[string]string{"Authorization": bearer(auth.RoleSDK), EnvironmentHeader: "production"}, 200, "#f00"},
		{"sdk key naming another env", map[string]string{"Authorization": bearer(auth.RoleSDK), EnvironmentHeader: "staging"}, 403, ""},
		{"deployer naming staging", map[string]string{"Authorization": bearer(auth.RoleDeployer), EnvironmentHeader: "staging"}, 200, "#00f"},
		{"admin naming production", map[string]string{"Authorization": bearer(auth.RoleAdmin), EnvironmentHeader: "production"}, 200, "#f00"},
		{"admin naming nothing", map[string]string{"Authorization": bearer(auth.RoleAdmin)}, 403, ""},
		{"viewer", map[string]string{"Authorization": bearer(auth.RoleViewer), EnvironmentHeader: "production"}, 403, ""},
		{"no token", nil, 401, ""},
		{"unknown token", map[string]string{"Authorization": "Bearer sluice_nope"}, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.ofrepCall(t, ofrep.FlagsPath+"/color", c.headers)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, c.status)
			}
			if c.color != "" && !strings.Contains(body, `"value":"`+c.color+`"`) {
				t.Fatalf("answer %s, want %s", body, c.color)
			}
			bulk, _ := f.ofrepCall(t, ofrep.FlagsPath, c.headers)
			if bulk.StatusCode != c.status {
				t.Fatalf("bulk status %d, want %d", bulk.StatusCode, c.status)
			}
		})
	}
}

// TestOFREPEventStreamAuthentication: the event stream's route needs no
// token at the API layer, because its URL carries a signed channel token;
// without one it takes an evaluate key like the evaluations.
func TestOFREPEventStreamAuthentication(t *testing.T) {
	f := newFlagFixture(t)
	f.publish(t, "production", checkoutFlags, "1")
	_, bulk := f.ofrepCall(t, ofrep.FlagsPath, map[string]string{"Authorization": "Bearer " + f.tokens[auth.RoleSDK]})
	var advert struct {
		EventStreams []struct {
			Endpoint struct {
				RequestURI string `json:"requestUri"`
			} `json:"endpoint"`
		} `json:"eventStreams"`
	}
	if err := json.Unmarshal([]byte(bulk), &advert); err != nil || len(advert.EventStreams) != 1 {
		t.Fatalf("bulk answer %s", bulk)
	}
	signed := advert.EventStreams[0].Endpoint.RequestURI
	cases := []struct {
		name, uri string
		role      auth.Role
		status    int
	}{
		{"signed URL, no token", signed, "", 200},
		{"signed URL, viewer token", signed, auth.RoleViewer, 200},
		{"forged channel", ofrep.EventsPath + "?channel=cHJvZA.AAAA", "", 401},
		{"no channel, sdk key", ofrep.EventsPath, auth.RoleSDK, 200},
		{"no channel, viewer", ofrep.EventsPath, auth.RoleViewer, 403},
		{"no channel, no token", ofrep.EventsPath, "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+c.uri, nil)
			if c.role != "" {
				req.Header.Set("Authorization", "Bearer "+f.tokens[c.role])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status != 200 {
				return
			}
			// A change reaches the stream.
			f.publish(t, "production", checkoutFlags, "v-"+c.name)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "refetchEvaluation") {
					return
				}
			}
			t.Fatalf("no refetchEvaluation event: %v", sc.Err())
		})
	}
}

// TestOFREPBadInputThroughTheAPI sends OFREP requests that cannot be read
// through the whole middleware chain: each gets OFREP's 400 with its error
// code, or the API's 413 for a body over its limit, never a crash.
func TestOFREPBadInputThroughTheAPI(t *testing.T) {
	f := newFlagFixture(t)
	f.publish(t, "production", checkoutFlags, "1")
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed JSON", `{"context":`, 400, "PARSE_ERROR"},
		{"no context", `{}`, 400, "INVALID_CONTEXT"},
		{"context not an object", `{"context":[1]}`, 400, "INVALID_CONTEXT"},
		{"deep nesting", `{"context":` + deep + `}`, 400, "INVALID_CONTEXT"},
		{"over OFREP's limit", `{"context":{"x":"` + strings.Repeat("x", 100<<10) + `"}}`, 400, "PARSE_ERROR"},
		{"over the API's limit", `{"context":{"x":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.srv.URL+ofrep.FlagsPath+"/color", strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+f.tokens[auth.RoleSDK])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				ErrorCode string `json:"errorCode"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != c.status || body.ErrorCode != c.code {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body.ErrorCode, c.status, c.code)
			}
		})
	}
	if resp, _ := f.ofrepCall(t, ofrep.FlagsPath+"/color", map[string]string{"Authorization": "Bearer " + f.tokens[auth.RoleSDK]}); resp.StatusCode != 200 {
		t.Fatalf("the server did not survive: %d", resp.StatusCode)
	}
}
