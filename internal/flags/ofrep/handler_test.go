package ofrep_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
	"sluice.dev/sluice/internal/flags/ofrep"
)

// evaluationPaths are the two evaluation operations.
var evaluationPaths = []string{"/ofrep/v1/evaluate/flags/new-checkout", ofrep.FlagsPath}

func TestAuthenticationAnswers(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	for _, path := range evaluationPaths {
		t.Run(path, func(t *testing.T) {
			missing := f.post(t, path, "", `{"context":{}}`).wantStatus(t, http.StatusUnauthorized)
			missing.conform(t, s, path)
			if missing.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			f.post(t, path, "sdk-unknown", `{"context":{}}`).wantStatus(t, http.StatusUnauthorized).conform(t, s, path)
			f.post(t, path, forbiddenKey, `{"context":{}}`).wantStatus(t, http.StatusForbidden).conform(t, s, path)
			f.post(t, path, brokenKey, `{"context":{}}`).wantStatus(t, http.StatusInternalServerError).conform(t, s, path)

			// Both credential headers the spec names are accepted.
			f.post(t, path, prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
			f.post(t, path, "", `{"context":{}}`, "X-API-Key", prodKey).wantStatus(t, http.StatusOK)
		})
	}
}

func TestAuthenticationComesBeforeTheBody(t *testing.T) {
	f := newFixture(t)
	// A stranger learns nothing about the body's validity.
	f.post(t, ofrep.FlagsPath, "", `not json`).wantStatus(t, http.StatusUnauthorized)
}

func TestRateLimitAnswers429(t *testing.T) {
	s := loadSpec(t)
	var mu sync.Mutex
	var seen []string
	limit := func(r *http.Request, env string) (time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, env)
		return 1500 * time.Millisecond, env != "production"
	}
	f := newFixture(t, ofrep.WithLimiter(limit))
	f.feed.Publish("staging", f.set, "1")
	for _, path := range evaluationPaths {
		r := f.post(t, path, prodKey, `{"context":{}}`).wantStatus(t, http.StatusTooManyRequests)
		r.conform(t, s, path)
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Fatalf("Retry-After = %q, want 2 (1.5 s rounded up)", got)
		}
		f.post(t, path, stagingKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 || seen[0] != "production" || seen[1] != "staging" {
		t.Fatalf("limiter saw %v, want the authenticated environments", seen)
	}
}

// panickingSource is a Source whose reads fail the hard way.
type panickingSource struct{ *feed.Feed }

// Current panics, as a corrupt flag set might.
func (panickingSource) Current(string) (feed.Snapshot, bool) { panic("flag set corrupted") }

func TestPanicAnswers500(t *testing.T) {
	s := loadSpec(t)
	h := ofrep.NewHandler(panickingSource{feed.New()}, testAuth)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	for _, path := range evaluationPaths {
		f.post(t, path, prodKey, `{"context":{}}`).wantStatus(t, http.StatusInternalServerError).conform(t, s, path)
	}
}

func TestOnEvaluateSeesEveryEvaluation(t *testing.T) {
	type call struct {
		env, key, variant string
		reason            flags.Reason
	}
	var mu sync.Mutex
	var calls []call
	f := newFixture(t, ofrep.WithOnEvaluate(func(env, key, variant string, reason flags.Reason) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{env, key, variant, reason})
	}))
	f.post(t, flagPath("beta-users"), prodKey, `{"context":{"targetingKey":"user-42"}}`).wantStatus(t, http.StatusOK)
	f.post(t, flagPath("nope"), prodKey, `{"context":{}}`).wantStatus(t, http.StatusNotFound)
	f.post(t, ofrep.FlagsPath, prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
	f.post(t, flagPath("beta-users"), prodKey, `{"context":`).wantStatus(t, http.StatusBadRequest)

	mu.Lock()
	defer mu.Unlock()
	if want := 2 + f.set.Len(); len(calls) != want {
		t.Fatalf("%d calls, want %d: %v", len(calls), want, calls)
	}
	if calls[0] != (call{"production", "beta-users", "on", flags.ReasonTargetingMatch}) {
		t.Fatalf("first call = %+v", calls[0])
	}
	if calls[1].key != "nope" || calls[1].reason != flags.ReasonError {
		t.Fatalf("not-found call = %+v", calls[1])
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, ofrep.WithAllowedOrigins("https://app.example.com"))

	preflight, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, f.srv.URL+ofrep.FlagsPath, nil)
	preflight.Header.Set("Origin", "https://app.example.com")
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	preflight.Header.Set("Access-Control-Request-Headers", "authorization, content-type, if-none-match")
	r := do(t, f.srv.Client(), preflight).wantStatus(t, http.StatusNoContent)
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		r.header.Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("preflight headers = %v", r.header)
	}

	ok := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{}}`, "Origin", "https://app.example.com").wantStatus(t, http.StatusOK)
	if ok.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		ok.header.Get("Access-Control-Expose-Headers") == "" {
		t.Fatalf("answer headers = %v", ok.header)
	}

	stranger := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{}}`, "Origin", "https://evil.example.com")
	if stranger.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a foreign origin was allowed")
	}
}
