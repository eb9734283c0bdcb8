package proxy

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that hangs up in the middle of a streamed response is not an
// error of the revision that answered it; an instance that breaks off its
// own response is.
func TestABrokenOffResponseCountsAgainstWhoBrokeIt(t *testing.T) {
	stream := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %d %s\n\n", i, strings.Repeat("x", 512)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			if r.URL.Path == "/die" && i == 3 {
				panic(http.ErrAbortHandler) // the instance breaks its response off
			}
		}
	}
	b := newBackend(t, "1", stream)
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "s", Stable: rev("1", b)}))

	// The client reads a few events, then closes its connection.
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url("s"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /stream HTTP/1.1\r\nHost: s\r\n\r\n")
	br := bufio.NewReader(conn)
	for range 10 {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	eventually(t, 10*time.Second, "the request is counted", func() bool {
		s, _ := p.Stats("s", "1", time.Minute)
		return s.Requests == 1
	})
	if s, _ := p.Stats("s", "1", time.Minute); s.Errors != 0 {
		t.Fatalf("a client that hung up counted as the revision's error: %+v", s)
	}

	// The instance breaks off: that is an error.
	resp, err := http.Get(p.url("s") + "/die")
	if err == nil {
		_, _ = bufio.NewReader(resp.Body).WriteTo(discard{})
		resp.Body.Close()
	}
	eventually(t, 10*time.Second, "the broken response is counted", func() bool {
		s, _ := p.Stats("s", "1", time.Minute)
		return s.Requests == 2
	})
	if s, _ := p.Stats("s", "1", time.Minute); s.Errors != 1 {
		t.Fatalf("an instance that broke its response off was not counted as an error: %+v", s)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
