package browser

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsoleWatchCatchesCSPViolations checks the tests' own watch: a page
// whose inline script its CSP refuses must be reported, or a silent watch
// would let every dashboard test pass.
func TestConsoleWatchCatchesCSPViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>csp</title><p id="p">x</p><script>document.title = "ran"</script>`))
	}))
	defer srv.Close()
	p := newPage(t, startBrowser(t), srv.URL)
	p.open("/")
	if title := eval[string](p, `document.title`); title != "csp" {
		t.Fatalf("the inline script ran: title %q", title)
	}
	_ = p.path() // a round trip, so the console events have arrived
	p.mu.Lock()
	problems := strings.Join(p.problems, "\n")
	p.problems = nil // seen: not a failure of this test
	p.mu.Unlock()
	if !strings.Contains(problems, "Content Security Policy") {
		t.Fatalf("no CSP violation reported; console:\n%s", strings.Join(p.console, "\n"))
	}
}
