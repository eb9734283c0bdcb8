package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/pkg/apiv1"
)

// fuzzThrottle never throttles: the fuzzers fail to authenticate on
// purpose, all from one address.
func fuzzThrottle() Throttler { return auth.NewThrottle(1<<30, time.Nanosecond, 0) }

// serve answers one request in process.
func (f *secureFixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, r)
	return w
}

// FuzzAuthorizationHeader sends arbitrary Authorization and X-API-Key
// headers to a route that needs a token. `{admin}` and `{sdk}` in the
// input stand for real tokens of those roles. The answer must be 200 for
// exactly the admin token, 403 for an sdk key, 401 otherwise, and never
// an internal error.
func FuzzAuthorizationHeader(f *testing.F) {
	f.Add("Bearer {admin}", "") // more seeds: testdata/fuzz/FuzzAuthorizationHeader
	fx := newSecureFixture(f, fuzzThrottle())
	admin, sdk := fx.tokens[auth.RoleAdmin], fx.tokens[auth.RoleSDK]
	f.Fuzz(func(t *testing.T, authorization, apiKey string) {
		expand := strings.NewReplacer("{admin}", admin, "{sdk}", sdk)
		authorization, apiKey = expand.Replace(authorization), expand.Replace(apiKey)
		r := httptest.NewRequest("GET", "/api/v1/secrets", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if apiKey != "" {
			r.Header.Set("X-API-Key", apiKey)
		}
		secret := bearer(r)
		if secret != strings.TrimSpace(secret) {
			t.Fatalf("bearer(%q, %q) = %q: white space kept", authorization, apiKey, secret)
		}
		want := http.StatusUnauthorized
		switch secret {
		case admin:
			want = http.StatusOK
		case sdk:
			want = http.StatusForbidden
		}
		w := fx.serve(r)
		if w.Code != want {
			t.Fatalf("Authorization %q, X-API-Key %q: %d, want %d: %s", authorization, apiKey, w.Code, want, w.Body)
		}
	})
}

// jsonRoutes are the JSON request bodies the fuzzer sends, by index.
var jsonRoutes = []struct{ method, target string }{
	{"PUT", "/api/v1/secrets/data?path=fuzz/a"},
	{"POST", "/api/v1/secrets/rollback?path=fuzz/a"},
	{"POST", "/api/v1/tokens"},
	{"PUT", "/api/v1/secrets/data?path=fuzz/b"},
}

// FuzzJSONRequests sends arbitrary bodies to the JSON endpoints as an
// admin. Every answer must be a success or a client error (never a 5xx),
// its body valid JSON, and an error must not quote any secret value the
// body held.
func FuzzJSONRequests(f *testing.F) {
	f.Add(uint8(0), []byte(`{"data":{"password":"hunter2hunter2"}}`)) // more seeds: testdata/fuzz/FuzzJSONRequests
	fx := newSecureFixture(f, fuzzThrottle())
	admin := fx.tokens[auth.RoleAdmin]
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := jsonRoutes[int(route)%len(jsonRoutes)]
		r := httptest.NewRequest(rt.method, rt.target, strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+admin)
		r.Header.Set("Content-Type", "application/json")
		w := fx.serve(r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.target, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s %q: the answer is not JSON: %q", rt.method, rt.target, body, w.Body)
		}
		if w.Code < 400 || !strings.Contains(rt.target, "/secrets/") {
			return
		}
		var req apiv1.SecretWrite
		if json.Unmarshal(body, &req) != nil {
			return
		}
		for _, v := range req.Data {
			if len(v) >= 8 && strings.Contains(w.Body.String(), v) {
				t.Fatalf("the error answer quotes the value %q: %s", v, w.Body)
			}
		}
	})
}
