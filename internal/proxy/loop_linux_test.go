//go:build linux

package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loopsOnly skips a test of how the event loops behave where net/http's
// server behaves otherwise, when the suite runs on the net/http path
// (SLUICE_TEST_PROXY_NETHTTP).
func loopsOnly(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SLUICE_TEST_PROXY_NETHTTP") != "" {
		t.Skip("event loops only: " + why)
	}
}

// rawConn dials the app's listener for a test that writes HTTP by hand.
func rawConn(t *testing.T, p *runningProxy, app string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(p.url(app), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readResponse reads one response to method from br, with its whole body.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response to %s: %v", method, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body of the response to %s: %v", method, err)
	}
	return resp, string(body)
}

// waitClosed blocks until the server closes c, failing after within.
func waitClosed(t *testing.T, c net.Conn, br *bufio.Reader, within time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	n, err := io.Copy(io.Discard, br)
	if err != nil {
		t.Fatalf("connection not closed within %v: %v", within, err)
	}
	if n != 0 {
		t.Fatalf("%d unexpected bytes before the close", n)
	}
}

// echo is a backend handler that answers the method, path and body it got.
func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Path", r.URL.RequestURI())
	w.Header().Set("X-Proto", r.Proto)
	_, _ = w.Write(body)
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestLoopPipelinedRequestsAnsweredInOrder(t *testing.T) {
	b := newBackend(t, "1", echo)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c, br := rawConn(t, p, "web")

	var batch bytes.Buffer
	var want []string
	for i := range 20 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&batch, "GET /get/%d HTTP/1.1\r\nHost: web\r\n\r\n", i)
			want = append(want, "GET /get/"+strconv.Itoa(i)+" ")
		case 1:
			body := strings.Repeat(strconv.Itoa(i), i)
			fmt.Fprintf(&batch, "POST /post/%d HTTP/1.1\r\nHost: web\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
			want = append(want, "POST /post/"+strconv.Itoa(i)+" "+body)
		case 2:
			fmt.Fprintf(&batch, "HEAD /head/%d HTTP/1.1\r\nHost: web\r\n\r\n", i)
			want = append(want, "HEAD /head/"+strconv.Itoa(i)+" ")
		}
	}
	if _, err := c.Write(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		method, _, _ := strings.Cut(w, " ")
		resp, body := readResponse(t, br, method)
		if got := resp.Header.Get("X-Method") + " " + resp.Header.Get("X-Path") + " " + body; got != w {
			t.Fatalf("response %d: %q, want %q", i, got, w)
		}
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("response %d: status %d, close %v", i, resp.StatusCode, resp.Close)
		}
	}
}

func TestLoopEchoesALargeRequestBody(t *testing.T) {
	b := newBackend(t, "1", echo)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c := newClient(t)
	body := randomBytes(1<<20, 1)
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		req, _ := http.NewRequest(method, p.url("web")+"/upload", bytes.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(got, body) {
			t.Fatalf("%s of 1 MiB: status %d, %d bytes back, equal %v", method, resp.StatusCode, len(got), bytes.Equal(got, body))
		}
	}
}

// A client that reads a large response slowly gets all of it, whether the
// instance sends a length or chunks, and does not hold up other clients.
func TestLoopSlowReaderGetsALargeResponseIntact(t *testing.T) {
	body := randomBytes(4<<20, 2)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/small" {
			_, _ = io.WriteString(w, "small")
			return
		}
		if r.URL.Path == "/length" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		for off := 0; off < len(body); off += 64 << 10 {
			if _, err := w.Write(body[off : off+64<<10]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	other := newClient(t)
	for _, path := range []string{"/length", "/chunked"} {
		t.Run(path, func(t *testing.T) {
			c, br := rawConn(t, p, "web")
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: web\r\n\r\n", path)
			resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			wantChunked := path == "/chunked"
			if chunked := len(resp.TransferEncoding) > 0; chunked != wantChunked || !wantChunked && resp.ContentLength != int64(len(body)) {
				t.Fatalf("transfer encoding %v, content length %d", resp.TransferEncoding, resp.ContentLength)
			}
			h := sha256.New()
			buf := make([]byte, 8<<10)
			var n int64
			for i := 0; ; i++ {
				k, err := resp.Body.Read(buf)
				h.Write(buf[:k])
				n += int64(k)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d bytes: %v", n, err)
				}
				if i == 0 {
					// While this client lags and the proxy's writes to
					// it block, other clients are served.
					for range 20 {
						if code, _, got := do(t, other, p.url("web")+"/small", nil); code != 200 || got != "small" {
							t.Fatalf("another client got %d %q", code, got)
						}
					}
				}
				if i%4 == 0 {
					time.Sleep(time.Millisecond) // read slowly
				}
			}
			if want := sha256.Sum256(body); n != int64(len(body)) || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("got %d bytes, want %d; same content %v", n, len(body), bytes.Equal(h.Sum(nil), want[:]))
			}
		})
	}
}

// An instance that ends its response by closing the connection (no length,
// no chunks) reaches an HTTP/1.1 client as a chunked response, and the
// client's connection stays usable.
func TestLoopCloseDelimitedResponseIsChunkedToTheClient(t *testing.T) {
	body := randomBytes(300<<10, 3)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/eof" {
			_, _ = io.WriteString(w, "next")
			return
		}
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = bw.WriteString("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nX-Kind: eof\r\n\r\n")
		for off := 0; off < len(body); off += 10000 {
			_, _ = bw.Write(body[off:min(off+10000, len(body))])
			_ = bw.Flush()
		}
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c, br := rawConn(t, p, "web")
	for range 2 {
		fmt.Fprintf(c, "GET /eof HTTP/1.1\r\nHost: web\r\n\r\n")
		resp, got := readResponse(t, br, "GET")
		if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("X-Kind") != "eof" {
			t.Fatalf("transfer encoding %v, headers %v", resp.TransferEncoding, resp.Header)
		}
		if !bytes.Equal([]byte(got), body) {
			t.Fatalf("got %d bytes, want %d (same %v)", len(got), len(body), bytes.Equal([]byte(got), body))
		}
		if resp.Close {
			t.Fatal("the proxy closes the client's connection after a close-delimited response")
		}
	}
	fmt.Fprintf(c, "GET /other HTTP/1.1\r\nHost: web\r\n\r\n")
	if _, got := readResponse(t, br, "GET"); got != "next" {
		t.Fatalf("next request on the connection: %q", got)
	}
	eventually(t, 5*time.Second, "three requests counted", func() bool {
		s, _ := p.Stats("web", "1", time.Minute)
		return s.Requests == 3
	})
	if s, _ := p.Stats("web", "1", time.Minute); s.Errors != 0 {
		t.Fatalf("close-delimited responses counted as errors: %+v", s)
	}
}

func TestLoopHeadKeepsContentLengthWithoutBody(t *testing.T) {
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1234")
		if r.Method != http.MethodHead {
			_, _ = w.Write(bytes.Repeat([]byte("x"), 1234))
		}
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c, br := rawConn(t, p, "web")
	// The GET right behind the HEAD would be read as its body if the
	// proxy sent one.
	fmt.Fprintf(c, "HEAD / HTTP/1.1\r\nHost: web\r\n\r\nGET / HTTP/1.1\r\nHost: web\r\n\r\n")
	resp, body := readResponse(t, br, "HEAD")
	if resp.StatusCode != 200 || resp.ContentLength != 1234 || body != "" {
		t.Fatalf("HEAD: status %d, content length %d, body %q", resp.StatusCode, resp.ContentLength, body)
	}
	resp, body = readResponse(t, br, "GET")
	if resp.StatusCode != 200 || len(body) != 1234 {
		t.Fatalf("GET after HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
	}
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := br.Read(make([]byte, 1)); n != 0 {
		t.Fatal("bytes after the GET's response")
	}
}

// Every response carries a Date, as net/http's server gives one: the
// instance's own when it sent one, else the proxy's.
func TestLoopResponsesCarryADate(t *testing.T) {
	const theirs = "Mon, 02 Jan 2006 15:04:05 GMT"
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/own" {
			w.Header().Set("Date", theirs)
		} else {
			w.Header()["Date"] = nil // net/http's server then sends none
		}
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c, br := rawConn(t, p, "web")
	fmt.Fprintf(c, "GET /none HTTP/1.1\r\nHost: web\r\n\r\nGET /own HTTP/1.1\r\nHost: web\r\n\r\n")
	resp, _ := readResponse(t, br, "GET")
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d) > time.Minute || len(resp.Header["Date"]) != 1 {
		t.Fatalf("without the instance's Date: %q (%v)", resp.Header["Date"], err)
	}
	resp, _ = readResponse(t, br, "GET")
	if got := resp.Header["Date"]; len(got) != 1 || got[0] != theirs {
		t.Fatalf("with the instance's Date: %q", got)
	}
}

// An instance that closes its connection after every response still serves
// every request, safe or not.
func TestLoopInstanceClosingEveryConnection(t *testing.T) {
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		echo(w, r)
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c := newClient(t)
	for i := range 30 {
		want := "body-" + strconv.Itoa(i)
		var resp *http.Response
		var err error
		if i%2 == 0 {
			resp, err = c.Get(p.url("web") + "/" + want)
			want = ""
		} else {
			resp, err = c.Post(p.url("web")+"/p", "text/plain", strings.NewReader(want))
		}
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(got) != want {
			t.Fatalf("request %d: status %d, body %q (%v), want %q", i, resp.StatusCode, got, err, want)
		}
		if resp.Close {
			t.Fatalf("request %d: the instance's Connection: close reached the client", i)
		}
	}
	if s, _ := p.Stats("web", "1", time.Minute); s.Requests != 30 || s.Errors != 0 {
		t.Fatalf("stats %+v, want 30 requests without errors", s)
	}
}

// An instance that dies in the middle of a body breaks the client's
// response off, and the request counts as the revision's error.
func TestLoopInstanceDyingMidBody(t *testing.T) {
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/length" {
			w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		}
		_, _ = w.Write(bytes.Repeat([]byte("y"), 64<<10))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	c := newClient(t)
	for i, path := range []string{"/length", "/chunked"} {
		resp, err := c.Get(p.url("web") + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("%s: the broken response read as complete (%d bytes)", path, len(got))
		}
		if resp.StatusCode != 200 || len(got) < 1 || len(got) > 64<<10 {
			t.Fatalf("%s: status %d, %d bytes before the break", path, resp.StatusCode, len(got))
		}
		eventually(t, 5*time.Second, path+" counted", func() bool {
			s, _ := p.Stats("web", "1", time.Minute)
			return s.Requests == uint64(i+1)
		})
		if s, _ := p.Stats("web", "1", time.Minute); s.Errors != uint64(i+1) {
			t.Fatalf("%s: stats %+v, want every request an error", path, s)
		}
	}
	// The proxy is still fine.
	good := newBackend(t, "1", nil)
	if err := p.Apply(webTable(t, time.Second, good)); err != nil {
		t.Fatal(err)
	}
	if code, _, body := do(t, c, p.url("web"), nil); code != 200 || body != "1" {
		t.Fatalf("after the breaks: %d %q", code, body)
	}
}

// earlyAnswers sends uploads of 8 MiB of which only 1 MiB arrives to an
// instance that refuses them unread, and returns the responses.
func earlyAnswers(t *testing.T, n int) []*http.Response {
	t.Helper()
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	})
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	var resps []*http.Response
	for range n {
		c, br := rawConn(t, p, "web")
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: web\r\nContent-Length: %d\r\n\r\n", 8<<20)
		_, _ = c.Write(make([]byte, 1<<20)) // fails once the proxy closed
		resp, body := readResponse(t, br, "POST")
		if resp.StatusCode != http.StatusRequestEntityTooLarge || body != "too large\n" {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
		resps = append(resps, resp)
	}
	return resps
}

// An instance that answers before it read the whole request body (a
// refused upload) has its answer reach the client.
func TestLoopEarlyAnswerToAnUpload(t *testing.T) {
	loopsOnly(t, "net/http stops reading an upload it refused, and this client writes all of it before it reads")
	earlyAnswers(t, 5)
}

// The proxy closes a connection whose request body it did not read to its
// end; the response must say so (RFC 9112 9.6), as net/http's does.
func TestLoopEarlyAnswerSaysConnectionClose(t *testing.T) {
	loopsOnly(t, "net/http stops reading an upload it refused, and this client writes all of it before it reads")
	for i, resp := range earlyAnswers(t, 3) {
		if !resp.Close {
			t.Errorf("response %d: no Connection: close, yet the rest of the upload is not read", i)
		}
	}
}

// Requests the event loops do not serve are served by net/http on the same
// listener, with the bytes the loop had read.
func TestLoopHandsUnusualRequestsToNetHTTP(t *testing.T) {
	b := newBackend(t, "1", echo)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))

	t.Run("HTTP/1.0", func(t *testing.T) {
		c, br := rawConn(t, p, "web")
		fmt.Fprintf(c, "GET /old HTTP/1.0\r\nHost: web\r\n\r\n")
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("X-Path") != "/old" || body != "" {
			t.Fatalf("status %d, path %q, body %q", resp.StatusCode, resp.Header.Get("X-Path"), body)
		}
		waitClosed(t, c, br, 5*time.Second)
	})

	t.Run("after requests the loop served", func(t *testing.T) {
		c, br := rawConn(t, p, "web")
		fmt.Fprintf(c, "GET /first HTTP/1.1\r\nHost: web\r\n\r\n")
		if resp, _ := readResponse(t, br, "GET"); resp.Header.Get("X-Path") != "/first" {
			t.Fatalf("first: %v", resp.Header)
		}
		fmt.Fprintf(c, "GET /second HTTP/1.0\r\nHost: web\r\n\r\n")
		if resp, _ := readResponse(t, br, "GET"); resp.Header.Get("X-Path") != "/second" {
			t.Fatalf("second: %v", resp.Header)
		}
	})

	t.Run("Expect: 100-continue", func(t *testing.T) {
		c, br := rawConn(t, p, "web")
		fmt.Fprintf(c, "POST /expect HTTP/1.1\r\nHost: web\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
		line, err := br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("interim response %q, %v", line, err)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
			t.Fatalf("after 100 Continue: %q, %v", blank, err)
		}
		fmt.Fprintf(c, "hello world")
		resp, body := readResponse(t, br, "POST")
		if resp.StatusCode != 200 || body != "hello world" {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
		// The connection stays usable.
		fmt.Fprintf(c, "GET /after HTTP/1.1\r\nHost: web\r\n\r\n")
		if resp, _ := readResponse(t, br, "GET"); resp.Header.Get("X-Path") != "/after" {
			t.Fatalf("after: %v", resp.Header)
		}
	})

	t.Run("chunked request body", func(t *testing.T) {
		body := randomBytes(200<<10, 4)
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(body); off += 7000 {
				_, _ = pw.Write(body[off:min(off+7000, len(body))])
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, p.url("web")+"/chunked", pr)
		resp, err := newClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
			t.Fatalf("status %d, %d bytes back (%v)", resp.StatusCode, len(got), err)
		}
	})

	t.Run("pipelined behind a hand-off", func(t *testing.T) {
		c, br := rawConn(t, p, "web")
		fmt.Fprintf(c, "GET /a HTTP/1.1\r\nHost: web\r\nConnection: TE\r\nTE: trailers\r\n\r\n"+
			"POST /b HTTP/1.1\r\nHost: web\r\nContent-Length: 3\r\n\r\nabc"+
			"GET /c HTTP/1.1\r\nHost: web\r\n\r\n")
		for _, want := range []string{"/a ", "/b abc", "/c "} {
			resp, body := readResponse(t, br, "GET")
			if got := resp.Header.Get("X-Path") + " " + body; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})

	t.Run("bare LF line ends", func(t *testing.T) {
		c, br := rawConn(t, p, "web")
		fmt.Fprintf(c, "GET /lf HTTP/1.1\nHost: web\n\n")
		if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 || resp.Header.Get("X-Path") != "/lf" {
			t.Fatalf("status %d, path %q", resp.StatusCode, resp.Header.Get("X-Path"))
		}
	})

	for _, tc := range []struct{ name, in string }{
		{"malformed request line", "GARBAGE\r\n\r\n"},
		{"missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"},
		{"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{"conflicting lengths", "POST / HTTP/1.1\r\nHost: web\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := rawConn(t, p, "web")
			fmt.Fprint(c, tc.in)
			resp, _ := readResponse(t, br, "GET")
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
		})
	}
	if n := b.hits.Load(); n != 10 {
		t.Errorf("the instance got %d requests, want 10", n)
	}
}

func TestLoopClosesIdleClients(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "done")
	})
	const idle = 200 * time.Millisecond
	p := startProxy(t, Options{ClientIdleTimeout: idle}, webTable(t, time.Second, b))

	// busy has a request in flight for longer than the idle timeout.
	busy, busyR := rawConn(t, p, "web")
	fmt.Fprintf(busy, "GET /slow HTTP/1.1\r\nHost: web\r\n\r\n")
	eventually(t, 5*time.Second, "slow request in flight", func() bool { return p.InFlight("web", "1-0") == 1 })

	idler, idlerR := rawConn(t, p, "web")
	fmt.Fprintf(idler, "GET / HTTP/1.1\r\nHost: web\r\n\r\n")
	if _, body := readResponse(t, idlerR, "GET"); body != "done" {
		t.Fatalf("body %q", body)
	}
	start := time.Now()
	waitClosed(t, idler, idlerR, 5*time.Second)
	if d := time.Since(start); d < idle-20*time.Millisecond {
		t.Fatalf("idle connection closed after %v, before the idle timeout of %v", d, idle)
	}

	close(release)
	if resp, body := readResponse(t, busyR, "GET"); resp.StatusCode != 200 || body != "done" {
		t.Fatalf("busy connection: %d %q", resp.StatusCode, body)
	}
}

func TestLoopClosesClientsSlowToSendTheirHead(t *testing.T) {
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{ReadHeaderTimeout: 200 * time.Millisecond}, webTable(t, time.Second, b))
	c, br := rawConn(t, p, "web")
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHo")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("connection with a partial head not closed: %v", err)
	}
	if b.hits.Load() != 0 {
		t.Fatal("a partial head reached the instance")
	}
}

// forwardedBoth sends the raw request in through a proxy served by event
// loops and through one served by net/http, and describes the request each
// instance received; a request ID the proxy generated reads "generated".
func forwardedBoth(t *testing.T, in string) (fromLoop, fromStd string) {
	t.Helper()
	seen := make(chan string, 1)
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if id := r.Header.Get("X-Request-Id"); !strings.Contains(in, "X-Request-Id") {
			if len(id) != 32 {
				t.Errorf("generated X-Request-Id %q", id)
			}
			r.Header.Set("X-Request-Id", "generated")
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s %s %s host=%s length=%d body=%q\n", r.Method, r.RequestURI, r.Proto, r.Host, r.ContentLength, body)
		_ = r.Header.Write(&sb)
		seen <- sb.String()
	})
	capture := func(opts Options) string {
		t.Helper()
		p := startProxy(t, opts, webTable(t, time.Second, b))
		c, br := rawConn(t, p, "web")
		fmt.Fprint(c, in)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("status %d, X-Request-Id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
		}
		return <-seen
	}
	return capture(Options{}), capture(Options{DisableEventLoops: true})
}

// The event loops and net/http send the instance the same request: the
// same forwarding fields, without hop-by-hop fields.
func TestLoopForwardsTheSameHeadersAsNetHTTP(t *testing.T) {
	for _, in := range []string{
		"GET /plain?q=1 HTTP/1.1\r\nHost: shop.example\r\n\r\n",
		"POST /form HTTP/1.1\r\nHost: shop.example:8443\r\n" +
			"X-Forwarded-For: 203.0.113.7\r\n" +
			"X-Forwarded-For: 198.51.100.1, 198.51.100.2\r\n" +
			"X-Forwarded-Host: spoofed.example\r\n" +
			"X-Forwarded-Proto: https\r\n" +
			"Forwarded: for=192.0.2.1\r\n" +
			"X-Request-Id: client-id-1\r\n" +
			"Keep-Alive: timeout=5\r\n" +
			"Connection: keep-alive\r\n" +
			"Proxy-Connection: keep-alive\r\n" +
			"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n" +
			"Cookie: a=1\r\nCookie: b=2\r\n" +
			"X-Custom: one\r\nx-custom: two\r\n" +
			"User-Agent: test/1\r\n" +
			"Content-Type: text/plain\r\n" +
			"Content-Length: 5\r\n\r\nhello",
	} {
		fromLoop, fromStd := forwardedBoth(t, in)
		if fromLoop != fromStd {
			t.Errorf("the event loop forwards\n%s\nnet/http forwards\n%s", fromLoop, fromStd)
		}
		for _, want := range []string{"X-Forwarded-Proto: http\r\n", "X-Forwarded-For: ", "X-Forwarded-Host: shop.example"} {
			if !strings.Contains(fromLoop, want) {
				t.Errorf("forwarded request lacks %q:\n%s", want, fromLoop)
			}
		}
	}
}

// "TE: trailers" tells the instance the client accepts trailers; net/http's
// reverse proxy passes it on, and so must the event loop.
func TestLoopPassesTETrailersOn(t *testing.T) {
	fromLoop, fromStd := forwardedBoth(t, "GET / HTTP/1.1\r\nHost: web\r\nTE: trailers\r\n\r\n")
	if fromLoop != fromStd {
		t.Errorf("the event loop forwards\n%s\nnet/http forwards\n%s", fromLoop, fromStd)
	}
}

// Stopping the server lets a request in flight finish and closes idle
// connections at once.
func TestLoopStopLetsRequestsInFlightFinish(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
			_, _ = io.WriteString(w, "finished")
			return
		}
		_, _ = io.WriteString(w, "quick")
	})
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(webTable(t, 10*time.Second, b)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	p := &runningProxy{Server: s, t: t}
	addr := strings.TrimPrefix(p.url("web"), "http://")

	idle, idleR := rawConn(t, p, "web")
	fmt.Fprintf(idle, "GET / HTTP/1.1\r\nHost: web\r\n\r\n")
	if _, body := readResponse(t, idleR, "GET"); body != "quick" {
		t.Fatalf("body %q", body)
	}
	busy, busyR := rawConn(t, p, "web")
	fmt.Fprintf(busy, "GET /slow HTTP/1.1\r\nHost: web\r\n\r\n")
	eventually(t, 5*time.Second, "slow request in flight", func() bool { return s.InFlight("web", "1-0") == 1 })

	cancel()
	waitClosed(t, idle, idleR, 5*time.Second)
	eventually(t, 5*time.Second, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned with a request in flight: %v", err)
	default:
	}

	close(release)
	resp, body := readResponse(t, busyR, "GET")
	if resp.StatusCode != 200 || body != "finished" {
		t.Fatalf("request in flight at stop: %d %q", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Error("the last response of a stopping server does not say Connection: close")
	}
	waitClosed(t, busy, busyR, 5*time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its last request")
	}
}
