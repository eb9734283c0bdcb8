package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingBackend is an instance that counts the connections it accepted
// and closed.
type countingBackend struct {
	*httptest.Server
	opened, closed atomic.Int64
}

func newCountingBackend(t *testing.T, idle time.Duration, h http.HandlerFunc) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }
	}
	b.Server = httptest.NewUnstartedServer(h)
	b.Config.IdleTimeout = idle
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.closed.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *countingBackend) table(t *testing.T) *Table {
	return mustTable(t, TableSpec{App: "up", Stable: Revision{Name: "1", Instances: []Instance{{ID: "i", Addr: b.Listener.Addr().String()}}}})
}

func TestUpstreamReusesConnections(t *testing.T) {
	b := newCountingBackend(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "part one,")
			http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, "part two")
			w.Header().Set("X-Sum", "42")
		default:
			_, _ = io.WriteString(w, "body")
		}
	})
	p := startProxy(t, Options{}, b.table(t))
	c := newClient(t)
	for _, path := range []string{"/", "/empty", "/chunked", "/", "/chunked", "/empty"} {
		resp, err := c.Get(p.url("up") + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if path == "/chunked" && (string(body) != "part one,part two" || resp.Trailer.Get("X-Sum") != "42") {
			t.Fatalf("chunked body %q, trailer %q", body, resp.Trailer.Get("X-Sum"))
		}
	}
	head, err := c.Head(p.url("up"))
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if n := b.opened.Load(); n != 1 {
		t.Fatalf("the proxy opened %d connections to the instance for sequential requests, want 1", n)
	}
}

func TestUpstreamReplacesConnectionClosedWhileIdle(t *testing.T) {
	b := newCountingBackend(t, 30*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	})
	p := startProxy(t, Options{EjectThreshold: 1}, b.table(t))
	c := newClient(t)
	for i := range 3 {
		resp, err := c.Post(p.url("up"), "text/plain", strings.NewReader("order"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "order" {
			t.Fatalf("request %d: status %d, body %q", i, resp.StatusCode, body)
		}
		// Wait until the instance closed the idle keep-alive connection.
		want := int64(i + 1)
		eventually(t, 5*time.Second, "instance closed the idle connection", func() bool { return b.closed.Load() >= want })
	}
}

func TestUpstreamConnectionCloseIsHonoured(t *testing.T) {
	b := newCountingBackend(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	})
	p := startProxy(t, Options{}, b.table(t))
	c := newClient(t)
	for range 3 {
		if code, _, body := do(t, c, p.url("up"), nil); code != http.StatusOK || body != "bye" {
			t.Fatalf("status %d, body %q", code, body)
		}
	}
	if n := b.opened.Load(); n != 3 {
		t.Fatalf("%d connections opened, want one per request", n)
	}
}

func TestClientLeavingClosesUpstreamRequest(t *testing.T) {
	gone := make(chan struct{})
	b := newCountingBackend(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the proxy closed its connection
		close(gone)
	})
	p := startProxy(t, Options{}, b.table(t))
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url("up"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /wait HTTP/1.1\r\nHost: up\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "request in flight", func() bool { return p.InFlight("up", "i") == 1 })
	conn.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the instance's request was not cancelled when the client left")
	}
	eventually(t, 5*time.Second, "in-flight count back to 0", func() bool { return p.InFlight("up", "i") == 0 })
}

func TestUpstreamPrunesIdleConnections(t *testing.T) {
	b := newCountingBackend(t, time.Minute, nil)
	u := newUpstream(Options{IdleConnTimeout: 20 * time.Millisecond, MaxIdleConnsPerInstance: 4, DialTimeout: time.Second})
	defer u.closeIdle()
	addr := b.Listener.Addr().String()
	pc, _, err := u.get(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	u.put(pc)
	eventually(t, 5*time.Second, "idle timeout passed", func() bool { return time.Since(pc.idleSince) > 30*time.Millisecond })
	other, _, err := u.get(t.Context(), addr) // the stale one is skipped
	if err != nil {
		t.Fatal(err)
	}
	if other == pc {
		t.Fatal("a connection idle past the timeout was reused")
	}
	u.put(other)
	eventually(t, 5*time.Second, "instance saw the stale connection close", func() bool { return b.closed.Load() == 1 })
}
