package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a test instance: a real HTTP server on 127.0.0.1 that names
// its revision in the X-Revision header and the body, and counts requests.
type backend struct {
	*httptest.Server
	revision string
	hits     atomic.Int64
}

// newBackend starts a backend; h, when not nil, handles requests after the
// revision header is set.
func newBackend(t testing.TB, revision string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{revision: revision}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.Header().Set("X-Revision", revision)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, revision)
	}))
	t.Cleanup(b.Close)
	return b
}

// addr returns the backend's host:port.
func (b *backend) addr() string { return b.Listener.Addr().String() }

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// mustTable builds a table or fails the test.
func mustTable(t testing.TB, spec TableSpec) *Table {
	t.Helper()
	if spec.Listen == "" {
		spec.Listen = "127.0.0.1:0"
	}
	tb, err := NewTable(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// rev builds a revision from backends, with instance IDs name-0, name-1, …
func rev(name string, bs ...*backend) Revision {
	r := Revision{Name: name}
	for i, b := range bs {
		r.Instances = append(r.Instances, Instance{ID: name + "-" + string(rune('0'+i)), Addr: b.addr()})
	}
	return r
}

// runningProxy is a Server under Run, stopped when the test ends.
type runningProxy struct {
	*Server
	t testing.TB
}

// startProxy creates a Server with opts, applies tables and runs it.
func startProxy(t testing.TB, opts Options, tables ...*Table) *runningProxy {
	t.Helper()
	if os.Getenv("SLUICE_TEST_PROXY_NETHTTP") != "" {
		opts.DisableEventLoops = true // the whole suite on the net/http path
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if err := s.Apply(tb); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop within 10s")
		}
	})
	return &runningProxy{Server: s, t: t}
}

// url returns the base URL of app's listener.
func (p *runningProxy) url(app string) string {
	p.t.Helper()
	addr, err := p.Addr(app)
	if err != nil {
		p.t.Fatal(err)
	}
	return "http://" + addr.String()
}

// newClient returns a keep-alive client with a pool big enough for tests.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// do sends a GET with headers and returns the status, the X-Revision header
// and the body.
func do(t testing.TB, c *http.Client, url string, header map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("X-Revision"), string(body)
}

// eventually polls cond every few milliseconds until it holds or the
// deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
