package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestLivezURL(t *testing.T) {
	tests := []struct {
		listen, want string
	}{
		{"127.0.0.1:7070", "http://127.0.0.1:7070/livez"},
		{"0.0.0.0:7070", "http://127.0.0.1:7070/livez"},
		{":7070", "http://127.0.0.1:7070/livez"},
		{"[::]:7070", "http://[::1]:7070/livez"},
		{"[::1]:9000", "http://[::1]:9000/livez"},
		{"sluice.internal:7070", "http://sluice.internal:7070/livez"},
	}
	for _, tt := range tests {
		if got := livezURL(tt.listen); got != tt.want {
			t.Errorf("livezURL(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}

// runHealthcheck runs `sluice healthcheck args...` with env as the
// environment and returns the exit code and what it wrote.
func runHealthcheck(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), append([]string{"healthcheck"}, args...),
		IO{In: strings.NewReader(""), Out: &out, Err: &errb},
		func(k string) string { return env[k] }, apiv1.VersionInfo{Version: "test"})
	return code, out.String(), errb.String()
}

func TestHealthcheckExitCodes(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"not ready"}`))
	})
	mux.HandleFunc("GET /hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	closed := httptest.NewServer(mux)
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"alive", []string{"--url", srv.URL + "/livez"}, ExitOK, ""},
		{"not ready", []string{"--url", srv.URL + "/readyz"}, ExitFailure, "503 Service Unavailable: {\"status\":\"not ready\"}"},
		{"not found", []string{"--url", srv.URL + "/nope"}, ExitFailure, "404"},
		{"nobody listens", []string{"--url", closedURL + "/livez"}, ExitFailure, "connect"},
		{"no answer in time", []string{"--url", srv.URL + "/hang", "--timeout", "50ms"}, ExitFailure, "deadline exceeded"},
		{"bad timeout", []string{"--url", srv.URL + "/livez", "--timeout", "0s"}, ExitUsage, "--timeout"},
		{"bad flag", []string{"--nope"}, ExitUsage, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runHealthcheck(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestHealthcheckDefaultsToLivezAtSluiceListen(t *testing.T) {
	paths := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	// A server listening on every address is checked over loopback.
	code, stdout, stderr := runHealthcheck(t, map[string]string{"SLUICE_LISTEN": "0.0.0.0:" + port})
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if want := "ok: http://127.0.0.1:" + port + "/livez\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if n := len(paths); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if p := <-paths; p != "/livez" {
		t.Errorf("requested %q, want /livez", p)
	}
}
