package providers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/spec"
)

func webhookRequest(url string, timeout time.Duration) analysis.Request {
	return analysis.Request{
		Target:   analysis.Target{App: "hello", Candidate: 3, Stable: 2},
		Template: "smoke", Metric: "checkout",
		Provider: spec.MetricProvider{Webhook: &spec.WebhookProvider{
			URL:     url,
			Headers: []spec.Header{{Name: "Authorization", Value: "Bearer s3cret"}},
			Timeout: spec.Dur(timeout),
		}},
		Args: map[string]string{"path": "/checkout"},
	}
}

func TestWebhook(t *testing.T) {
	answers := map[string]struct {
		code int
		body string
	}{
		"/object":   {200, `{"ok": true, "passed": 9, "total": 10}`},
		"/number":   {201, `0.42`},
		"/failing":  {500, "<html>\n  internal   error\n</html>"},
		"/gate":     {403, ``},
		"/notjson":  {200, `ok`},
		"/empty":    {204, ``},
		"/huge":     {200, `"` + strings.Repeat("x", maxBody) + `"`},
		"/redirect": {307, ``},
	}
	done := make(chan struct{})
	defer close(done)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var got WebhookRequest
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "bad request shape", http.StatusTeapot)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil || got.App != "hello" || got.Candidate != 3 || got.Stable != 2 ||
			got.Template != "smoke" || got.Metric != "checkout" || got.Args["path"] != "/checkout" {
			http.Error(w, "bad payload", http.StatusTeapot)
			return
		}
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		case "/redirect":
			w.Header().Set("Location", "/object")
		}
		a := answers[r.URL.Path]
		w.WriteHeader(a.code)
		_, _ = w.Write([]byte(a.body))
	}))
	defer srv.Close()
	wh := NewWebhook(srv.Client())
	cases := []struct {
		path    string
		timeout time.Duration
		want    any
		is      error
		errText string
	}{
		{"/object", time.Second, map[string]any{"ok": true, "passed": 9.0, "total": 10.0}, nil, ""},
		{"/number", time.Second, 0.42, nil, ""},
		{"/redirect", time.Second, map[string]any{"ok": true, "passed": 9.0, "total": 10.0}, nil, ""},
		{"/failing", time.Second, nil, nil, "answered 500 Internal Server Error: <html> internal error </html>"},
		{"/gate", time.Second, nil, nil, "answered 403 Forbidden"},
		{"/notjson", time.Second, nil, ErrBadResponse, "not JSON"},
		{"/empty", time.Second, nil, ErrBadResponse, "not JSON"},
		{"/huge", time.Second, nil, ErrBadResponse, "larger than"},
		{"/slow", 50 * time.Millisecond, nil, context.DeadlineExceeded, ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res, err := wh.Measure(context.Background(), webhookRequest(srv.URL+tc.path, tc.timeout))
			if tc.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := json.Marshal(res.Value)
				want, _ := json.Marshal(tc.want)
				if string(got) != string(want) {
					t.Errorf("result %s, want %s", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, result %v", res.Value)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q, want it to contain %q", err, tc.errText)
			}
			if se := (*StatusError)(nil); strings.Contains(tc.errText, "answered") && (!errors.As(err, &se) || se.URL != srv.URL+tc.path) {
				t.Errorf("error %v is not a *StatusError with the URL", err)
			}
		})
	}
}

// TestWebhookJudged runs a webhook metric from a template end to end: args
// in the URL, the JSON result judged by its condition.
func TestWebhookJudged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req WebhookRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		passed := 10
		if r.URL.Path == "/smoke/hello/3" && req.Args["suite"] == "full" {
			passed = 7
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"passed": passed, "total": 10})
	}))
	defer srv.Close()
	docs, err := spec.Decode([]byte(`
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata: {name: smoke}
spec:
  args: [{name: suite, value: quick}]
  metrics:
    - name: suite
      provider: {webhook: {url: "` + srv.URL + `/smoke/{{app}}/{{candidate}}"}}
      successCondition: result.passed == result.total
`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := analysis.Compile(analysis.Target{App: "hello", Candidate: 3, Stable: 2},
		[]analysis.Template{{Name: "smoke", Spec: docs[0].AnalysisTemplate}}, []spec.AnalysisArg{{Name: "suite", Value: "full"}}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := analysis.Take(context.Background(), New(nil, srv.Client()), a.Metrics[0], time.Now())
	want := "failed: result.passed == result.total is false (result.passed = 7, result.total = 10)"
	if m.Verdict != analysis.Failed || m.Message != want || string(m.Value) != `{"passed":7,"total":10}` {
		t.Errorf("got %s %q %s\nwant %q", m.Verdict, m.Message, m.Value, want)
	}
}
