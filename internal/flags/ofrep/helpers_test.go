package ofrep_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
	"sluice.dev/sluice/internal/flags/ofrep"
)

// SDK keys the test authenticator knows.
const (
	prodKey      = "sdk-prod"
	stagingKey   = "sdk-staging"
	forbiddenKey = "sdk-revoked"
	brokenKey    = "sdk-store-down"
)

// flagDoc is the production flag set: one flag of every type, targeting,
// a fractional split, a disabled flag and one without a default variant.
const flagDoc = `{
  "metadata": {"team": "checkout", "revision": 3},
  "flags": {
    "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "metadata": {"owner": "payments"}},
    "beta-users": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"if": [{"==": [{"var": "targetingKey"}, "user-42"]}, "on", null]}},
    "banner-color": {"state": "ENABLED", "variants": {"red": "#c00", "blue": "#00c"}, "defaultVariant": "blue"},
    "max-items": {"state": "ENABLED", "variants": {"small": 10, "large": 50}, "defaultVariant": "large"},
    "discount": {"state": "ENABLED", "variants": {"none": 0, "some": 0.15}, "defaultVariant": "some"},
    "theme": {"state": "ENABLED", "variants": {"dark": {"bg": "black", "fg": "white"}, "light": {"bg": "white", "fg": "black"}},
      "defaultVariant": "dark"},
    "split": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "a",
      "targeting": {"fractional": [["a", 50], ["b", 50]]}},
    "retired": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "no-default": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "targeting": {"if": [{"==": [{"var": "targetingKey"}, "user-42"]}, "on", null]}}
  }
}`

// parseSet parses a flag definition document.
func parseSet(t testing.TB, doc string) *flags.Set {
	t.Helper()
	set, err := flags.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse flag set: %v", err)
	}
	return set
}

// testAuth reads the SDK key from "Authorization: Bearer" or "X-API-Key",
// as the server does.
func testAuth(r *http.Request) (string, error) {
	key := r.Header.Get("X-API-Key")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		key = bearer
	}
	switch key {
	case prodKey:
		return "production", nil
	case stagingKey:
		return "staging", nil
	case forbiddenKey:
		return "", ofrep.ErrForbidden
	case brokenKey:
		return "", errors.New("look up SDK key: database is closed")
	default:
		return "", ofrep.ErrUnauthenticated
	}
}

// fixture is a handler over a feed, served over real HTTP.
type fixture struct {
	feed    *feed.Feed
	handler *ofrep.Handler
	srv     *httptest.Server
	set     *flags.Set
}

// newFixture serves a handler whose production environment holds flagDoc
// at version "1".
func newFixture(t testing.TB, opts ...ofrep.Option) *fixture {
	t.Helper()
	f := &fixture{feed: feed.New(), set: parseSet(t, flagDoc)}
	f.feed.Publish("production", f.set, "1")
	f.handler = ofrep.NewHandler(f.feed, testAuth, opts...)
	f.srv = httptest.NewServer(f.handler)
	t.Cleanup(func() {
		f.handler.CloseStreams()
		f.srv.Close()
	})
	return f
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// post sends body to path with the SDK key (none when empty) and extra
// headers given as name, value pairs.
func (f *fixture) post(t testing.TB, path, key, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, f.srv.Client(), req)
}

// do sends req and reads the whole answer.
func do(t testing.TB, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// decode decodes a JSON answer into a generic map.
func (r reply) decode(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// wantStatus fails unless the answer has the status.
func (r reply) wantStatus(t testing.TB, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// conform checks the answer against the schema the OFREP spec declares for
// the operation at path and its status. Statuses the spec declares without
// a body (401, 403, 429) carry sluice's generalErrorResponse.
func (r reply) conform(t testing.TB, s *spec, path string) {
	t.Helper()
	if strings.HasPrefix(path, ofrep.FlagsPath+"/") {
		path = "/ofrep/v1/evaluate/flags/{key}"
	}
	schema, declared := s.responseSchema(path, r.status)
	if !declared {
		t.Fatalf("status %d is not declared by the spec for %s", r.status, path)
	}
	if r.status == http.StatusNotModified {
		if len(r.body) != 0 {
			t.Fatalf("304 carries a body: %s", r.body)
		}
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if schema == nil {
		schema = map[string]any{"$ref": "#/components/schemas/generalErrorResponse"}
	}
	s.validate(t, schema, r.body)
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
