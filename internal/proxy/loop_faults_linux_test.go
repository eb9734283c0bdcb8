//go:build linux

package proxy

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// Many clients at once misbehaving in every way the event loops meet —
// hanging up mid-head, mid-body, mid-response, sending garbage, pipelining
// and leaving — leave nothing behind once they are gone: no connection, no
// request in flight, no file descriptor; and none of it counts as the
// revision's error, while every answered request is counted.
func TestLoopLeavesNothingBehindAfterMisbehavingClients(t *testing.T) {
	loopsOnly(t, "net/http's upstream pool closes idle connections only when next used")
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			for i := 0; i < 20 && r.Context().Err() == nil; i++ {
				fmt.Fprintf(w, "data: %d\n\n", i)
				_ = http.NewResponseController(w).Flush()
				time.Sleep(5 * time.Millisecond)
			}
		case "/big":
			_, _ = w.Write(make([]byte, 1<<20))
		default:
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, "ok")
		}
	})
	p := startProxy(t, Options{IdleConnTimeout: 200 * time.Millisecond}, webTable(t, time.Second, b))
	addr := strings.TrimPrefix(p.url("web"), "http://")
	var answered atomic.Int64
	misbehave(t, addr, 0, &answered) // warm-up: pools, buffers, goroutines
	eventually(t, 5*time.Second, "the warm-up's connections closed", func() bool {
		return p.InFlight("web", "1-0") == 0 && fastConns(p.Server, "web") == 0
	})
	before := openFDs(t)

	var wg sync.WaitGroup
	stop := time.Now().Add(1500 * time.Millisecond)
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for time.Now().Before(stop) {
				misbehave(t, addr, rng.IntN(8), &answered)
			}
		})
	}
	wg.Wait()

	eventually(t, 10*time.Second, "every connection and request gone", func() bool {
		return fastConns(p.Server, "web") == 0 && p.InFlight("web", "1-0") == 0
	})
	eventually(t, 10*time.Second, "file descriptors back to where they were", func() bool {
		return openFDs(t) <= before
	})
	s, err := p.Stats("web", "1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.Requests < uint64(answered.Load()) {
		t.Fatalf("stats %+v after %d answered requests: clients' faults must not count as errors", s, answered.Load())
	}
	if answered.Load() == 0 {
		t.Fatal("no request was answered")
	}
}

// misbehave runs one client action against addr: well-behaved keep-alive
// requests (counted in answered) or one of the ways a client can leave.
func misbehave(t *testing.T, addr string, action int, answered *atomic.Int64) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	readSome := func(n int) { _, _ = io.ReadFull(br, make([]byte, n)) }
	switch action {
	case 0: // good requests on one keep-alive connection
		for range 3 {
			fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("a good request: %v", err)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != "ok" {
				t.Errorf("a good request: %d %q %v", resp.StatusCode, body, err)
				return
			}
			answered.Add(1)
		}
	case 1: // half a head, then gone
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHo")
	case 2: // an event stream left early
		fmt.Fprint(c, "GET /stream HTTP/1.1\r\nHost: web\r\n\r\n")
		readSome(200)
	case 3: // half an upload, then gone
		fmt.Fprint(c, "POST /up HTTP/1.1\r\nHost: web\r\nContent-Length: 100000\r\n\r\n")
		_, _ = c.Write(make([]byte, 5000))
	case 4: // a large response left early
		fmt.Fprint(c, "GET /big HTTP/1.1\r\nHost: web\r\n\r\n")
		readSome(1000)
	case 5: // garbage, answered by net/http
		fmt.Fprint(c, "BLAH\r\n\r\n")
		readSome(12)
	case 6: // a request, and gone before the answer
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n")
	case 7: // pipelined requests, one answer read
		fmt.Fprint(c, strings.Repeat("GET / HTTP/1.1\r\nHost: web\r\n\r\n", 3))
		readSome(20)
	}
}

// fastConns returns how many client connections the event loops serve
// for app's listener.
func fastConns(s *Server, app string) int64 {
	a, err := s.app(app)
	if err != nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ln.fast.conns.Load()
}
