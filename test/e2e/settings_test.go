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

// With the proxy's event loops off, net/http serves the apps alone, and
// they work the same.
func TestServerWithoutEventLoops(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	defer backend.Close()
	s := startServer(t, "", "--proxy-event-loops=false")
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
	eventually(t, 20*time.Second, "the app serves", func() bool {
		resp, err := client.Get("http://" + listen + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.Header.Get("X-Request-Id") != ""
	})
}
