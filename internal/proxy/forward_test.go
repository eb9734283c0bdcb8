package proxy

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestForwardedHeadersAndRequestID(t *testing.T) {
	seen := make(chan http.Header, 2)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		seen <- h
	})
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "web", Stable: rev("1", b)}))
	c := newClient(t)

	req, _ := http.NewRequest(http.MethodGet, p.url("web")+"/x", nil)
	req.Host = "shop.example"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-seen
	for k, want := range map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Host":  "shop.example",
		"X-Forwarded-Proto": "http",
		"Host":              "shop.example",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	id := h.Get("X-Request-Id")
	if len(id) != 32 {
		t.Errorf("generated X-Request-ID %q is not 32 hex characters", id)
	}
	if got := resp.Header.Get("X-Request-Id"); got != id {
		t.Errorf("response X-Request-ID %q, instance saw %q", got, id)
	}

	// An incoming request ID is kept; an incoming X-Forwarded-For is
	// extended with the client's address.
	req, _ = http.NewRequest(http.MethodGet, p.url("web")+"/y", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h = <-seen
	if got := h.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-ID = %q, want the client's", got)
	}
	if got := h.Get("X-Forwarded-For"); got != "203.0.113.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
}

func TestRetryOnDialErrorReachesLiveInstance(t *testing.T) {
	live := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	})
	stable := Revision{Name: "1", Instances: []Instance{
		{ID: "dead", Addr: deadAddr(t)},
		{ID: "live", Addr: live.addr()},
	}}
	p := startProxy(t, Options{EjectThreshold: -1}, mustTable(t, TableSpec{App: "web", Stable: stable}))
	c := newClient(t)
	// Round robin sends every other request to the dead instance first;
	// each must be retried on the live one, body and all.
	for i := range 10 {
		resp, err := c.Post(p.url("web"), "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "payload" {
			t.Fatalf("request %d: status %d, body %q", i, resp.StatusCode, body)
		}
	}
	if got := live.hits.Load(); got != 10 {
		t.Fatalf("live instance got %d of 10 requests", got)
	}
}

func TestNoRetryOnceRequestReachedInstance(t *testing.T) {
	// The first instance reads the request and drops the connection
	// without answering: the request may have had effects, so it must not
	// be sent to the second instance.
	dropper := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	other := newBackend(t, "1", nil)
	stable := Revision{Name: "1", Instances: []Instance{
		{ID: "dropper", Addr: dropper.addr()},
		{ID: "other", Addr: other.addr()},
	}}
	p := startProxy(t, Options{EjectThreshold: -1}, mustTable(t, TableSpec{App: "web", Stable: stable}))
	c := newClient(t)
	statuses := map[int]int{}
	for range 4 {
		resp, err := c.Post(p.url("web"), "text/plain", strings.NewReader("charge card"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses[resp.StatusCode]++
	}
	if statuses[http.StatusBadGateway] != 2 || statuses[http.StatusOK] != 2 {
		t.Fatalf("statuses %v, want two 502 and two 200", statuses)
	}
	if dropper.hits.Load() != 2 || other.hits.Load() != 2 {
		t.Fatalf("hits: dropper %d, other %d; want 2 and 2 (no retries)", dropper.hits.Load(), other.hits.Load())
	}
}

func TestNoInstanceAnswers503(t *testing.T) {
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "empty", Stable: Revision{Name: "1"}}))
	resp, err := newClient(t).Get(p.url("empty"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
	if !strings.Contains(string(body), "no ready instance") || len(body) > 200 {
		t.Errorf("body %q", body)
	}
	s, err := p.Stats("empty", "1", time.Minute)
	if err != nil || s.Requests != 1 || s.Errors != 1 {
		t.Fatalf("stats %+v, %v: a 503 counts as the revision's error", s, err)
	}
}

func TestEmptyRevisionHandsTrafficToTheOther(t *testing.T) {
	b1 := newBackend(t, "1", nil)
	spec := TableSpec{App: "web", Stable: rev("1", b1), Candidate: &Revision{Name: "2"}, Weight: MaxWeight}
	p := startProxy(t, Options{}, mustTable(t, spec))
	if code, got, _ := do(t, newClient(t), p.url("web"), nil); code != http.StatusOK || got != "1" {
		t.Fatalf("status %d from %q, want the stable revision", code, got)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	b := newBackend(t, "1", echoUpgrade)
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "ws", Stable: rev("1", b)}))
	conn, br := dialUpgrade(t, p.url("ws"))
	defer conn.Close()
	for _, msg := range []string{"hello\n", "world\n"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo %q, %v; want %q", got, err, msg)
		}
	}
	if n := p.InFlight("ws", "1-0"); n != 1 {
		t.Errorf("in flight during the tunnel = %d, want 1", n)
	}
}

// echoUpgrade is a backend that accepts a WebSocket-style upgrade and then
// echoes lines, a stand-in for framed messages.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "upgrade required", http.StatusUpgradeRequired)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	_, _ = io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"X-Revision: 1\r\nSec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	_ = brw.Flush()
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = io.WriteString(brw, line)
		_ = brw.Flush()
	}
}

// dialUpgrade opens a raw connection to base and performs a WebSocket
// handshake, returning the connection and a reader positioned after the
// 101 response.
func dialUpgrade(t testing.TB, base string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.WriteString(conn, "GET /socket HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	return conn, br
}

func TestEventStreamFlushesAtOnce(t *testing.T) {
	next := make(chan string)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		for ev := range next {
			_, _ = io.WriteString(w, "data: "+ev+"\n\n")
			_ = rc.Flush()
		}
	})
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "sse", Stable: rev("1", b)}))
	resp, err := newClient(t).Get(p.url("sse"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for _, ev := range []string{"one", "two", "three"} {
		next <- ev // the backend stays open: each event must arrive on its own
		line, err := br.ReadString('\n')
		if err != nil || line != "data: "+ev+"\n" {
			t.Fatalf("read %q, %v", line, err)
		}
		_, _ = br.ReadString('\n')
	}
	close(next)
}
