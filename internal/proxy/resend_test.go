package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// closingSecondBackend answers the first request on each connection and
// closes the connection, unanswered, when a second one arrives on it: the
// race of an instance closing a keep-alive connection just as the proxy
// reuses it.
func closingSecondBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				_, _ = http.ReadRequest(br) // the second request: closed unanswered
			}()
		}
	}()
	return ln.Addr().String()
}

// A reused connection that the instance closed before answering is
// replaced and the request sent again, but only for an idempotent request
// without a body: a POST may have been received, so it gets 502.
func TestReusedConnectionClosedUnansweredIsResentOnlyWhenSafe(t *testing.T) {
	addr := closingSecondBackend(t)
	spec := TableSpec{App: "web", Listen: "127.0.0.1:0", DrainTimeout: time.Second,
		Stable: Revision{Name: "1", Instances: []Instance{{ID: "i", Addr: addr}}}}
	p := startProxy(t, Options{EjectThreshold: -1}, mustTable(t, spec))
	c := newClient(t)
	for i := range 3 { // each after the first reuses the connection the one before left
		if code, _, body := do(t, c, p.url("web"), nil); code != http.StatusOK || body != "ok" {
			t.Fatalf("GET %d: %d %q", i, code, body)
		}
	}
	resp, err := c.Post(p.url("web"), "text/plain", strings.NewReader("order"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("POST on a reused connection the instance closed: %d, want 502", resp.StatusCode)
	}
}
