package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A setting that is not what it should be stops the server at once, with
// the setting named.
func TestServerRefusesABadSetting(t *testing.T) {
	cmd := exec.Command(binary, "server", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "SLUICE_PROXY_EVENT_LOOPS=maybe")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `proxy-event-loops "maybe": use true or false`) {
		t.Fatalf("exit %v, output:\n%s", err, out)
	}
}

// --proxy-event-loops picks which of the proxy's two paths serves an
// app's plain connections. They answer alike but for one detail that
// shows which one answered: net/http's server gives a response without a
// Content-Type one it sniffed, the event loops pass the instance's
// response on as it is.
func TestServerEventLoopsSetting(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // the instance sends none
		fmt.Fprintln(w, "ok")
	}))
	defer backend.Close()
	for _, tc := range []struct {
		flag, contentType string
	}{
		{"--proxy-event-loops=false", "text/plain; charset=utf-8"},
		{"--proxy-event-loops=true", ""},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			s := startServer(t, "", tc.flag)
			listen := freePort(t)
			s.must(fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata: {name: web}
spec:
  listen: %s
  runtime: {static: {addresses: ["%s"]}}
  healthCheck: {path: /health, interval: 200ms}
`, listen, strings.TrimPrefix(backend.URL, "http://")), "apply", "-f", "-")
			client := &http.Client{Timeout: 5 * time.Second}
			var got *http.Response
			eventually(t, 20*time.Second, "the app serves", func() bool {
				resp, err := client.Get("http://" + listen + "/")
				if err != nil {
					return false
				}
				resp.Body.Close()
				got = resp
				return resp.StatusCode == 200 && resp.Header.Get("X-Request-Id") != ""
			})
			if ct := got.Header.Get("Content-Type"); ct != tc.contentType {
				t.Fatalf("Content-Type %q, want %q from the path %s picks", ct, tc.contentType, tc.flag)
			}
		})
	}
}
