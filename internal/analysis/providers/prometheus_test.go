package providers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/spec"
)

// The test Prometheus asks for basic auth: user sluice, password
// promPassword, whose bcrypt hash (cost 4) is promPasswordHash.
const (
	promUser         = "sluice"
	promPassword     = "canary-test-secret"
	promPasswordHash = "$2a$04$8SLUy45nxUNn1uRKqfZuVOJTWSrG6hZqJpJ7uqRv0/3CjBhL5IOm6"
)

// exposition is what the test target serves: known series for the
// queries below.
const exposition = `# TYPE test_requests_total counter
test_requests_total{revision="1"} 1000
test_requests_total{revision="2"} 50
# TYPE test_errors_total counter
test_errors_total{revision="1"} 5
test_errors_total{revision="2"} 15
# TYPE test_ratio gauge
test_ratio 0.25
`

// startPrometheus runs Debian's Prometheus server in a temporary directory,
// scraping target every 100ms, behind basic auth, and returns its address
// once it has scraped target (Prometheus 2.42 hands new targets to its
// scrapers after about 5s). It skips the test when the binary is missing,
// unless CI is set.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		bin, err = exec.LookPath("/usr/bin/prometheus")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the prometheus server is not installed; CI must run this test (Debian package prometheus, which .ci/run installs): %v", err)
		}
		t.Skip("the prometheus server is not installed (apt-get install prometheus): the prometheus provider is tested against fakes only")
	}
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 100ms
  scrape_timeout: 100ms
scrape_configs:
  - job_name: test
    static_configs:
      - targets: [%q]
`, target)
	web := fmt.Sprintf("basic_auth_users:\n  %s: %s\n", promUser, promPasswordHash)
	for name, text := range map[string]string{"prometheus.yml": config, "web.yml": web} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--web.config.file="+filepath.Join(dir, "web.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	base := "http://" + addr
	// Poll until a scrape has landed: the gauge is queryable.
	p := NewPrometheus(&http.Client{})
	req := promRequest(base, "test_ratio", true)
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := p.Measure(context.Background(), req)
		if err == nil && res.Value == 0.25 {
			return base
		}
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v", err)
		case <-deadline.C:
			t.Fatalf("prometheus did not scrape the target within 30s; last answer: %v", err)
		case <-tick.C:
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func promRequest(address, query string, auth bool) analysis.Request {
	pp := &spec.PrometheusProvider{Address: address, Query: query, Timeout: spec.Dur(5 * time.Second)}
	if auth {
		token := base64.StdEncoding.EncodeToString([]byte(promUser + ":" + promPassword))
		pp.Headers = []spec.Header{{Name: "Authorization", Value: "Basic " + token}}
	}
	return analysis.Request{
		Target:   analysis.Target{App: "hello", Candidate: 2, Stable: 1},
		Template: "t", Metric: "m",
		Provider: spec.MetricProvider{Prometheus: pp},
	}
}

// TestPrometheus queries a real Prometheus server that scrapes known
// series.
func TestPrometheus(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(exposition))
	}))
	defer target.Close()
	base := startPrometheus(t, strings.TrimPrefix(target.URL, "http://"))
	p := NewPrometheus(&http.Client{})

	cases := []struct {
		name    string
		query   string
		noAuth  bool
		want    float64
		is      error
		errText string
	}{
		{"a single sample", "test_ratio", false, 0.25, nil, ""},
		{"a scalar", "scalar(test_ratio) * 2", false, 0.5, nil, ""},
		{"an aggregated ratio", `sum(test_errors_total{revision="2"}) / sum(test_requests_total{revision="2"})`, false, 0.3, nil, ""},
		{"a literal", "42", false, 42, nil, ""},
		{"a division by zero", "1 / 0", false, math.Inf(1), nil, ""},
		{"nothing counted", "scalar(test_requests_total)", false, math.NaN(), nil, ""},
		{"an empty vector", `test_requests_total{revision="9"}`, false, 0, analysis.ErrNoData, "empty result"},
		{"several series", "test_requests_total", false, 0, ErrTooManySeries, `{__name__="test_requests_total", instance=`},
		{"a range vector", "test_ratio[1m]", false, 0, ErrBadResponse, "matrix"},
		{"a string", `"text"`, false, 0, ErrBadResponse, "string"},
		{"a syntax error", "sum(test_ratio", false, 0, nil, "answered 400 Bad Request: bad_data:"},
		{"without credentials", "test_ratio", true, 0, nil, "answered 401 Unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Measure(context.Background(), promRequest(base, tc.query, !tc.noAuth))
			if tc.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				f, ok := res.Value.(float64)
				if !ok || !(f == tc.want || math.Abs(f-tc.want) < 1e-9 || (math.IsNaN(f) && math.IsNaN(tc.want))) {
					t.Errorf("value %v, want %v", res.Value, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, value %v", res.Value)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q, want it to contain %q", err, tc.errText)
			}
		})
	}

	// A template with args, through the Set and the judge: the
	// candidate's error ratio is 0.3, far over the limit.
	docs, err := spec.Decode([]byte(`
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata: {name: prom}
spec:
  args: [{name: limit, value: "0.05"}, {name: auth}]
  metrics:
    - name: error-ratio
      provider:
        prometheus:
          address: ` + base + `
          query: sum(test_errors_total{revision="{{candidate}}"}) / sum(test_requests_total{revision="{{candidate}}"}) > {{args.limit}}
          headers: [{name: Authorization, value: "Basic {{args.auth}}"}]
      failureCondition: result > 0
    - name: quiet
      provider:
        prometheus:
          address: ` + base + `
          query: sum(test_requests_total{revision="9"})
          headers: [{name: Authorization, value: "Basic {{args.auth}}"}]
      successCondition: result > 100
`))
	if err != nil {
		t.Fatal(err)
	}
	token := base64.StdEncoding.EncodeToString([]byte(promUser + ":" + promPassword))
	a, err := analysis.Compile(analysis.Target{App: "hello", Candidate: 2, Stable: 1},
		[]analysis.Template{{Name: "prom", Spec: docs[0].AnalysisTemplate}}, []spec.AnalysisArg{{Name: "auth", Value: token}}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	providers := New(nil, &http.Client{})
	got := analysis.Take(context.Background(), providers, a.Metrics[0], time.Now())
	if got.Verdict != analysis.Failed || got.Message != "failed: result > 0 is true (result = 0.3)" || string(got.Value) != "0.3" {
		t.Errorf("error ratio: %s %q %s", got.Verdict, got.Message, got.Value)
	}
	got = analysis.Take(context.Background(), providers, a.Metrics[1], time.Now())
	if got.Verdict != analysis.Inconclusive || !strings.Contains(got.Message, "inconclusive: ") || !strings.Contains(got.Message, "empty result: no data") {
		t.Errorf("quiet: %s %q", got.Verdict, got.Message)
	}
}

// TestPrometheusAnswers covers answers a healthy Prometheus does not give.
func TestPrometheusAnswers(t *testing.T) {
	cases := []struct {
		name    string
		code    int
		body    string
		errText string
	}{
		{"a proxy's error page", 502, "<html>bad gateway</html>", "answered 502 Bad Gateway: <html>bad gateway</html>"},
		{"not the API", 200, "hello", "not a Prometheus API answer"},
		{"a bad value", 200, `{"status":"success","data":{"resultType":"scalar","result":[1,"x"]}}`, `sample value "x"`},
		{"a number value", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}`, "is not a string"},
		{"an error status with 200", 200, `{"status":"error","errorType":"execution","error":"query timed out"}`, "execution: query timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/prefix/api/v1/query" || r.FormValue("query") != "up" || r.FormValue("timeout") != "5s" {
					http.Error(w, "unexpected request "+r.URL.String(), http.StatusTeapot)
					return
				}
				w.WriteHeader(tc.code)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := NewPrometheus(srv.Client()).Measure(context.Background(), promRequest(srv.URL+"/prefix/", "up", false))
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %v, want it to contain %q", err, tc.errText)
			}
		})
	}
	_, err := NewPrometheus(&http.Client{}).Measure(context.Background(), analysis.Request{Provider: spec.MetricProvider{Builtin: &spec.BuiltinProvider{}}})
	if !errors.Is(err, ErrWrongProvider) {
		t.Errorf("a builtin metric: %v", err)
	}
}
