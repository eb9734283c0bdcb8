package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixed returns a random source that yields the given numbers in turn.
func fixed(values ...float64) func() float64 {
	i := 0
	return func() float64 {
		v := values[i%len(values)]
		i++
		return v
	}
}

func testConfig() config {
	return config{host: "127.0.0.1", port: "0", version: "v2", instance: "hello-2-abc", revision: 2, tick: time.Second, shutdownTimeout: 5 * time.Second}
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestRootAnswersVersionInstanceRevision(t *testing.T) {
	h := newHandler(testConfig(), fixed(0.5), make(chan struct{}))
	rec := get(t, h, "/")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET / = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["version"] != "v2" || body["instance"] != "hello-2-abc" || body["revision"] != float64(2) {
		t.Errorf("body = %v", body)
	}
}

func TestErrorRate(t *testing.T) {
	tests := []struct {
		rate   float64
		random []float64
		want   []int
	}{
		{0, []float64{0, 0.5}, []int{200, 200}},
		{1, []float64{0, 0.99}, []int{500, 500}},
		{0.3, []float64{0.1, 0.29, 0.3, 0.9}, []int{500, 500, 200, 200}},
	}
	for _, tt := range tests {
		cfg := testConfig()
		cfg.errorRate = tt.rate
		h := newHandler(cfg, fixed(tt.random...), make(chan struct{}))
		for i, want := range tt.want {
			rec := get(t, h, "/")
			if rec.Code != want {
				t.Errorf("ERROR_RATE=%v request %d: %d, want %d", tt.rate, i, rec.Code, want)
			}
			if want == 500 && !strings.Contains(rec.Body.String(), `"version":"v2"`) {
				t.Errorf("error answer lacks the version: %s", rec.Body)
			}
		}
	}
}

func TestLatency(t *testing.T) {
	cfg := testConfig()
	cfg.latency, cfg.jitter = 50*time.Millisecond, 100*time.Millisecond
	h := newHandler(cfg, fixed(0.5), make(chan struct{}))
	start := time.Now()
	get(t, h, "/")
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("request took %v, want at least 50ms + half of 100ms jitter", took)
	}
	// Health checks are not slowed down.
	start = time.Now()
	get(t, h, "/health")
	if took := time.Since(start); took > 40*time.Millisecond {
		t.Errorf("/health took %v", took)
	}
}

func TestHealth(t *testing.T) {
	cfg := testConfig()
	if rec := get(t, newHandler(cfg, fixed(0), make(chan struct{})), "/health"); rec.Code != http.StatusOK {
		t.Errorf("healthy: %d", rec.Code)
	}
	cfg.failHealth = true
	if rec := get(t, newHandler(cfg, fixed(0), make(chan struct{})), "/health"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("FAIL_HEALTH: %d", rec.Code)
	}
	stopping := make(chan struct{})
	close(stopping)
	if rec := get(t, newHandler(testConfig(), fixed(0), stopping), "/health"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("while stopping: %d", rec.Code)
	}
}

func TestEventsStreamTicks(t *testing.T) {
	stopping := make(chan struct{})
	srv := httptest.NewServer(newHandler(testConfig(), fixed(0), stopping))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events?interval=20ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	var ticks []tick
	for len(ticks) < 2 && lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			var tk tick
			if err := json.Unmarshal([]byte(data), &tk); err != nil {
				t.Fatal(err)
			}
			ticks = append(ticks, tk)
		}
	}
	if len(ticks) != 2 || ticks[0].Seq != 1 || ticks[1].Seq != 2 || ticks[1].Version != "v2" {
		t.Fatalf("ticks = %+v", ticks)
	}
	close(stopping) // shutting down ends the stream
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}

	if rec := get(t, newHandler(testConfig(), fixed(0), stopping), "/events?interval=oops"); rec.Code != http.StatusBadRequest {
		t.Errorf("bad interval: %d", rec.Code)
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	cfg := testConfig()
	cfg.latency = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sigterm := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, cfg, slog.New(slog.DiscardHandler)) }()

	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	// Wait until the request is in flight, then ask for shutdown.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + ln.Addr().String() + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server never answered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the slow request reach the handler
	sigterm()

	if code := <-answered; code != http.StatusOK {
		t.Errorf("in-flight request got %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Error("server still accepts after shutdown")
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := loadConfig(env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.host != "127.0.0.1" || cfg.port != "8080" || cfg.version != "v1" || cfg.errorRate != 0 || cfg.tick != time.Second {
		t.Errorf("defaults = %+v", cfg)
	}
	cfg, err = loadConfig(env("HOST", "0.0.0.0", "PORT", "9000", "VERSION", "v3", "ERROR_RATE", "0.3",
		"LATENCY", "20ms", "LATENCY_JITTER", "5ms", "FAIL_HEALTH", "true", "START_DELAY", "1s",
		"EVENTS_INTERVAL", "250ms", "SLUICE_INSTANCE", "i-1", "SLUICE_REVISION", "3"))
	if err != nil {
		t.Fatal(err)
	}
	want := config{host: "0.0.0.0", port: "9000", version: "v3", instance: "i-1", revision: 3, errorRate: 0.3,
		latency: 20 * time.Millisecond, jitter: 5 * time.Millisecond, failHealth: true, startDelay: time.Second,
		tick: 250 * time.Millisecond, shutdownTimeout: 10 * time.Second}
	if cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
	for _, bad := range [][]string{
		{"ERROR_RATE", "1.5"}, {"ERROR_RATE", "lots"}, {"LATENCY", "-1s"}, {"LATENCY", "5"},
		{"FAIL_HEALTH", "maybe"}, {"EVENTS_INTERVAL", "0s"}, {"SLUICE_REVISION", "two"},
	} {
		if _, err := loadConfig(env(bad...)); err == nil {
			t.Errorf("%s=%s accepted", bad[0], bad[1])
		}
	}
}
