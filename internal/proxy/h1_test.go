package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"
)

// reqHeadWant is what a parsed request head must hold.
type reqHeadWant struct {
	method, target, host string
	contentLength        int64
	close                bool
	fields               int
}

func TestParseRequestHeadOK(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     reqHeadWant
		size     int // 0: the whole input
	}{
		{"minimal", "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", fields: 1}, 0},
		{"query and port", "GET /p/q?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n",
			reqHeadWant{method: "GET", target: "/p/q?x=1&y=%20", host: "example.com:8080", fields: 2}, 0},
		{"body follows", "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
			reqHeadWant{method: "POST", target: "/f", host: "a", contentLength: 5, fields: 2}, len("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")},
		{"pipelined request follows", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
			reqHeadWant{method: "GET", target: "/1", host: "a", fields: 1}, len("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")},
		{"names ignore case", "PUT /x HTTP/1.1\r\nhOsT: a\r\ncontent-length: 12\r\n\r\n",
			reqHeadWant{method: "PUT", target: "/x", host: "a", contentLength: 12, fields: 2}, 0},
		{"optional whitespace trimmed", "GET / HTTP/1.1\r\nHost: \t a.b \t\r\nX-Empty:\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a.b", fields: 2}, 0},
		{"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", close: true, fields: 2}, 0},
		{"connection keep-alive", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", fields: 2}, 0},
		{"connection list with close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, , CLOSE\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", close: true, fields: 2}, 0},
		{"leading zeros in length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
			reqHeadWant{method: "POST", target: "/", host: "a", contentLength: 7, fields: 2}, 0},
		{"18-digit length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n",
			reqHeadWant{method: "POST", target: "/", host: "a", contentLength: 999999999999999999, fields: 2}, 0},
		{"extension method", "PROPFIND /d HTTP/1.1\r\nHost: [::1]:80\r\nDepth: 1\r\n\r\n",
			reqHeadWant{method: "PROPFIND", target: "/d", host: "[::1]:80", fields: 2}, 0},
		{"obs-text and tab in value", "GET / HTTP/1.1\r\nHost: a\r\nX-T: caf\xc3\xa9\tbar\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", fields: 2}, 0},
		{"TE is a plain field", "GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", fields: 2}, 0},
		{"as many fields as kept", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", maxFields-1) + "\r\n",
			reqHeadWant{method: "GET", target: "/", host: "a", fields: maxFields}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h reqHead
			if st := parseRequestHead([]byte(tc.in), 64<<10, &h); st != headOK {
				t.Fatalf("status %v, want headOK", st)
			}
			got := reqHeadWant{string(h.method), string(h.target), string(h.host), h.contentLength, h.close, len(h.fields)}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			size := tc.size
			if size == 0 {
				size = len(tc.in)
			}
			if h.size != size {
				t.Errorf("size %d, want %d", h.size, size)
			}
		})
	}
}

func TestParseRequestHeadKeepsFieldsAsSent(t *testing.T) {
	var h reqHead
	in := "GET / HTTP/1.1\r\nHost: a\r\nx-One: 1\r\nCookie: a=1\r\nCookie: b=2\r\nX-Request-Id:  r-7 \r\n\r\n"
	if st := parseRequestHead([]byte(in), 1<<10, &h); st != headOK {
		t.Fatalf("status %v", st)
	}
	var got []string
	for _, f := range h.fields {
		got = append(got, string(f.name)+"="+string(f.value))
	}
	want := "Host=a|x-One=1|Cookie=a=1|Cookie=b=2|X-Request-Id=r-7"
	if strings.Join(got, "|") != want {
		t.Errorf("fields %q, want %q", strings.Join(got, "|"), want)
	}
	if v, ok := h.lookupField("x-request-id"); !ok || string(v) != "r-7" {
		t.Errorf("lookupField = %q, %v", v, ok)
	}
	if v, ok := h.cookie("b"); !ok || v != "2" {
		t.Errorf("cookie b = %q, %v", v, ok)
	}

	// A reused head forgets the previous request.
	if st := parseRequestHead([]byte("GET /2 HTTP/1.1\r\nHost: b\r\n\r\n"), 1<<10, &h); st != headOK {
		t.Fatalf("status %v", st)
	}
	if len(h.fields) != 1 || string(h.host) != "b" || h.contentLength != 0 || h.close {
		t.Errorf("reused head kept state: %+v", h)
	}
}

func TestParseRequestHeadIncomplete(t *testing.T) {
	for _, in := range []string{
		"",
		"G",
		"GET / HTTP/1.1",
		"GET / HTTP/1.1\r",
		"GET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r",
		"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + strings.Repeat("v", 900),
	} {
		var h reqHead
		if st := parseRequestHead([]byte(in), 1<<10, &h); st != headIncomplete {
			t.Errorf("%q: status %v, want headIncomplete", in, st)
		}
	}
}

func TestParseRequestHeadHandsOff(t *testing.T) {
	const max = 1 << 10
	for _, tc := range []struct{ name, in string }{
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"PRI with a path", "PRI / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"version with a trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"},
		{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n"},
		{"absolute-form target", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"},
		{"CONNECT with a path", "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"empty request line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"control byte in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"Upgrade", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"},
		{"Upgrade with Connection upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"HTTP2-Settings", "GET / HTTP/1.1\r\nHost: a\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"},
		{"Expect", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"},
		{"Transfer-Encoding chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"Transfer-Encoding with a length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ntransfer-encoding: chunked\r\n\r\n"},
		{"Connection: upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"},
		{"Connection names a field", "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Secret\r\nX-Secret: 1\r\n\r\n"},
		{"Connection: close, te", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, te\r\n\r\n"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n"},
		{"obs-fold with a colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tX-B: 2\r\n\r\n"},
		{"whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"},
		{"whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nBogus\r\n\r\n"},
		{"empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"},
		{"NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"},
		{"CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"},
		{"bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n"},
		{"bare LF in an incomplete head", "GET / HTTP/1.1\nHost: a\n"},
		{"bare LF between fields", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"},
		{"bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n"},
		{"missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"},
		{"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{"duplicate Host, same value", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"},
		{"Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"},
		{"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
		{"Host with an at sign", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"},
		{"duplicate Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
		{"conflicting Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
		{"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc"},
		{"negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"},
		{"signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"},
		{"hex Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc"},
		{"empty Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"},
		{"19-digit Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n"},
		{"too many fields", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", maxFields) + "\r\n"},
		{"complete head too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", max) + "\r\n\r\n"},
		{"incomplete head at the limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", max)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h reqHead
			if st := parseRequestHead([]byte(tc.in), max, &h); st != headHandOff {
				t.Errorf("%q: status %v, want headHandOff", tc.in, st)
			}
		})
	}
}

// The size limit counts the whole head, through its blank line.
func TestParseRequestHeadSizeLimit(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var h reqHead
	if st := parseRequestHead(in, len(in), &h); st != headOK {
		t.Errorf("head of exactly the limit: %v, want headOK", st)
	}
	if st := parseRequestHead(in, len(in)-1, &h); st != headHandOff {
		t.Errorf("head one byte over the limit: %v, want headHandOff", st)
	}
	if st := parseRequestHead(in[:len(in)-1], len(in), &h); st != headIncomplete {
		t.Errorf("partial head under the limit: %v, want headIncomplete", st)
	}
}

func TestParseResponseHead(t *testing.T) {
	type want struct {
		status        int
		reason        string
		contentLength int64
		chunked       bool
		close         bool
		fields        int
	}
	for _, tc := range []struct {
		name, in string
		want     want
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
			want{200, "OK", 5, false, false, 1}},
		{"no framing", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
			want{200, "OK", -1, false, false, 1}},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			want{200, "OK", -1, true, false, 1}},
		{"chunked wins over content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: Chunked\r\n\r\n",
			want{200, "OK", -1, true, false, 2}},
		{"equal content lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
			want{200, "OK", 5, false, false, 2}},
		{"reason with spaces", "HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\n\r\n",
			want{404, "Not Found Here", 0, false, false, 1}},
		{"no reason", "HTTP/1.1 204\r\n\r\n",
			want{204, "", -1, false, false, 0}},
		{"empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
			want{200, "", 0, false, false, 1}},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
			want{200, "OK", 1, false, true, 2}},
		{"connection list with close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\n",
			want{200, "OK", 1, false, true, 2}},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
			want{200, "OK", 1, false, true, 1}},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
			want{200, "OK", 1, false, false, 2}},
		{"HTTP/1.0 keep-alive with chunked", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
			want{200, "OK", -1, true, true, 2}},
		{"HTTP/1.0 without length", "HTTP/1.0 200 OK\r\n\r\nbody until close",
			want{200, "OK", -1, false, true, 0}},
		{"continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
			want{100, "Continue", -1, false, false, 0}},
		{"early hints", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
			want{103, "Early Hints", -1, false, false, 1}},
		{"high status", "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n",
			want{599, "Odd", 0, false, false, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h respHead
			st, err := parseResponseHead([]byte(tc.in), 64<<10, &h)
			if err != nil || st != headOK {
				t.Fatalf("status %v, error %v", st, err)
			}
			got := want{h.status, string(h.reason), h.contentLength, h.chunked, h.close, len(h.fields)}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if end := strings.Index(tc.in, "\r\n\r\n") + 4; h.size != end {
				t.Errorf("size %d, want %d", h.size, end)
			}
		})
	}
}

// An HTTP/1.0 response that says both keep-alive and close closes, as
// net/http's transport reads it.
func TestParseResponseHeadHTTP10KeepAliveAndClose(t *testing.T) {
	in := "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\nx"
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(in)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var h respHead
	if st, err := parseResponseHead([]byte(in), 1<<10, &h); st != headOK || err != nil {
		t.Fatalf("status %v, error %v", st, err)
	}
	if h.close != resp.Close {
		t.Errorf("close %v; net/http reads close %v", h.close, resp.Close)
	}
}

func TestParseResponseHeadIncomplete(t *testing.T) {
	for _, in := range []string{"", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r"} {
		var h respHead
		if st, err := parseResponseHead([]byte(in), 1<<10, &h); st != headIncomplete || err != nil {
			t.Errorf("%q: %v, %v; want headIncomplete and no error", in, st, err)
		}
	}
	var h respHead
	long := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", 1<<10)
	if _, err := parseResponseHead([]byte(long), 1<<10, &h); err == nil {
		t.Error("an unfinished head past the limit is no error")
	}
}

func TestParseResponseHeadErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"conflicting content lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"},
		{"invalid content length", "HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n"},
		{"negative content length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"},
		{"content length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"},
		{"transfer coding other than chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"transfer coding list", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"},
		{"HTTP/2", "HTTP/2 200 OK\r\n\r\n"},
		{"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"},
		{"lower-case protocol", "http/1.1 200 OK\r\n\r\n"},
		{"not HTTP", "ICY 200 OK\r\n\r\n"},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n"},
		{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"},
		{"status below 100", "HTTP/1.1 099 Low\r\n\r\n"},
		{"status with letters", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"two spaces before status", "HTTP/1.1  200 OK\r\n\r\n"},
		{"no space before status", "HTTP/1.1200 OK\r\n\r\n"},
		{"empty status line", "\r\nHTTP/1.1 200 OK\r\n\r\n"},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\n\r\n"},
		{"no colon", "HTTP/1.1 200 OK\r\nBogus\r\n\r\n"},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"},
		{"control byte in value", "HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n"},
		{"too many fields", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", maxFields+1) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h respHead
			if _, err := parseResponseHead([]byte(tc.in), 64<<10, &h); err == nil {
				t.Errorf("%q: no error", tc.in)
			}
		})
	}
}

func TestResponseHasBody(t *testing.T) {
	for _, tc := range []struct {
		method string
		status int
		want   bool
	}{
		{"GET", 200, true},
		{"POST", 201, true},
		{"GET", 404, true},
		{"GET", 500, true},
		{"HEAD", 200, false},
		{"HEAD", 404, false},
		{"GET", 204, false},
		{"GET", 304, false},
		{"GET", 100, false},
		{"GET", 103, false},
		{"DELETE", 202, true},
	} {
		h := respHead{status: tc.status}
		if got := h.hasBody(tc.method); got != tc.want {
			t.Errorf("%s → %d: hasBody %v, want %v", tc.method, tc.status, got, tc.want)
		}
	}
}

// decodeChunks feeds the pieces to a new decoder and returns the data, the
// bytes consumed, whether it reported the end, and its error.
func decodeChunks(t testing.TB, pieces ...[]byte) (d *chunkDecoder, data []byte, consumed int, done bool, err error) {
	t.Helper()
	d = &chunkDecoder{}
	for _, p := range pieces {
		for len(p) > 0 {
			n, got, fin, e := d.next(p)
			if n < 0 || n > len(p) {
				t.Fatalf("next consumed %d of %d bytes", n, len(p))
			}
			if len(got) > 0 && !bytes.Contains(p[:n], got) {
				t.Fatalf("data %q is not among the consumed bytes %q", got, p[:n])
			}
			data = append(data, got...)
			consumed += n
			p = p[n:]
			if e != nil {
				return d, data, consumed, false, e
			}
			if fin {
				return d, data, consumed, true, nil
			}
			if n == 0 {
				t.Fatalf("next made no progress on %q", p)
			}
		}
	}
	return d, data, consumed, false, nil
}

func TestChunkDecoder(t *testing.T) {
	for _, tc := range []struct {
		name, in, data, trailer string
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", ""},
		{"several chunks", "3\r\nabc\r\n1\r\nd\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n", "abcd0123456789abcdef", ""},
		{"no data", "0\r\n\r\n", "", ""},
		{"upper-case hex and leading zeros", "00A\r\n0123456789\r\n0000\r\n\r\n", "0123456789", ""},
		{"extensions", "5;name=value\r\nhello\r\n3;a;b=\"q;x\"\r\nabc\r\n0;last\r\n\r\n", "helloabc", ""},
		{"data holding CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", ""},
		{"trailers", "2\r\nhi\r\n0\r\nX-Checksum: 1234\r\nX-Other: a, b\r\n\r\n", "hi", "X-Checksum: 1234\r\nX-Other: a, b\r\n"},
		{"15 hex digits", "000000000000001\r\nx\r\n0\r\n\r\n", "x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			check := func(how string, pieces ...[]byte) {
				t.Helper()
				d, data, consumed, done, err := decodeChunks(t, pieces...)
				if err != nil || !done {
					t.Fatalf("%s: done %v, error %v", how, done, err)
				}
				if string(data) != tc.data {
					t.Errorf("%s: data %q, want %q", how, data, tc.data)
				}
				if string(d.trailer) != tc.trailer {
					t.Errorf("%s: trailer %q, want %q", how, d.trailer, tc.trailer)
				}
				if consumed != len(in) {
					t.Errorf("%s: consumed %d of %d bytes", how, consumed, len(in))
				}
			}
			check("whole", in)
			for i := 1; i < len(in); i++ {
				check("split at "+strconv.Itoa(i), in[:i], in[i:])
			}
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			check("byte by byte", bytewise...)
		})
	}
}

// The decoder stops at the end of the body: what follows is not consumed.
func TestChunkDecoderStopsAtTheEnd(t *testing.T) {
	in := []byte("1\r\nx\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n")
	_, data, consumed, done, err := decodeChunks(t, in)
	if err != nil || !done || string(data) != "x" || consumed != len("1\r\nx\r\n0\r\n\r\n") {
		t.Fatalf("data %q, consumed %d, done %v, error %v", data, consumed, done, err)
	}
	d := &chunkDecoder{}
	for len(in) > 0 {
		n, _, fin, err := d.next(in)
		if err != nil {
			t.Fatal(err)
		}
		in = in[n:]
		if fin {
			break
		}
	}
	if n, data, fin, err := d.next(in); n != 0 || len(data) != 0 || !fin || err != nil {
		t.Errorf("after the end: consumed %d, data %q, done %v, error %v", n, data, fin, err)
	}
}

func TestChunkDecoderErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"no size", "\r\n"},
		{"not hex", "g\r\n"},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n"},
		{"sign", "-5\r\n"},
		{"16 hex digits", "0000000000000001\r\nx\r\n0\r\n\r\n"},
		{"size line too long", "1;" + strings.Repeat("e", maxChunkLine) + "\r\nx\r\n0\r\n\r\n"},
		{"data longer than its size", "5\r\nhelloX\r\n0\r\n\r\n"},
		{"CR without LF after data", "5\r\nhello\rX0\r\n\r\n"},
		{"LF without CR after data", "5\r\nhello\n0\r\n\r\n"},
		{"data shorter than its size", "5\r\nhi\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			for i := 0; i < len(in); i += max(1, len(in)/64) {
				pieces := [][]byte{in}
				if i > 0 {
					pieces = [][]byte{in[:i], in[i:]}
				}
				if _, data, _, done, err := decodeChunks(t, pieces...); err == nil {
					t.Fatalf("split at %d: no error (done %v, data %q)", i, done, data)
				}
			}
		})
	}
}

// Chunk size lines end in CRLF and hold only the size and extensions
// after a semicolon (RFC 9112 7.1); net/http's reader refuses anything
// else, and so must the decoder, or the proxy and the instance disagree on
// where a body ends.
func TestChunkDecoderRejectsMalformedSizeLines(t *testing.T) {
	for _, in := range []string{
		"0\n\n",
		"5\nhello\r\n0\r\n\r\n",
		"5x\r\nhello\r\n0\r\n\r\n",
		"5 x\r\nhello\r\n0\r\n\r\n",
		"0\r0000000000\n\n",
		"5\r\r\nhello\r\n0\r\n\r\n",
	} {
		if _, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(in))); err == nil {
			t.Fatalf("%q: net/http's reader accepts it", in)
		}
		if _, data, _, done, err := decodeChunks(t, []byte(in)); err == nil {
			t.Errorf("%q: no error (done %v, data %q)", in, done, data)
		}
	}
}

func TestChunkDecoderBoundsTrailers(t *testing.T) {
	in := "0\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", maxResponseHead/1000+2) + "\r\n"
	if _, _, _, _, err := decodeChunks(t, []byte(in)); err == nil {
		t.Error("trailers larger than a response head: no error")
	}
}

// outboundLines parses the head appendOutbound produced into its request
// line and its fields, each "Name: value".
func outboundLines(t *testing.T, out []byte) (string, []string) {
	t.Helper()
	s := string(out)
	if !strings.HasSuffix(s, "\r\n\r\n") || strings.Count(s, "\r\n\r\n") != 1 {
		t.Fatalf("outbound head does not end in one blank line: %q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
	return lines[0], lines[1:]
}

// fieldValues returns the values of the named fields among lines, in order.
func fieldValues(lines []string, name string) []string {
	var vs []string
	for _, l := range lines {
		n, v, _ := strings.Cut(l, ": ")
		if strings.EqualFold(n, name) {
			vs = append(vs, v)
		}
	}
	return vs
}

func TestAppendOutbound(t *testing.T) {
	in := "POST /cart?item=7 HTTP/1.1\r\n" +
		"Host: shop.example:8080\r\n" +
		"Connection: keep-alive\r\n" +
		"Keep-Alive: timeout=5\r\n" +
		"TE: trailers\r\n" +
		"Trailer: X-Sum\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\n" +
		"x-custom: Kept As Sent\r\n" +
		"X-Forwarded-For: 198.51.100.1, 198.51.100.2\r\n" +
		"X-Forwarded-Host: spoofed.example\r\n" +
		"X-Forwarded-Proto: https\r\n" +
		"Forwarded: for=192.0.2.1\r\n" +
		"X-Request-Id: from-client\r\n" +
		"Cookie: a=1\r\n" +
		"Content-Length: 3\r\n" +
		"\r\nabc"
	var h reqHead
	if st := parseRequestHead([]byte(in), 64<<10, &h); st != headOK {
		t.Fatalf("status %v", st)
	}
	out := appendOutbound([]byte("prefix"), &h, "127.0.0.1", "rid-1", "", "", false)
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("dst not appended to: %q", out)
	}
	line, fields := outboundLines(t, out[len("prefix"):])
	if line != "POST /cart?item=7 HTTP/1.1" {
		t.Errorf("request line %q", line)
	}
	want := []string{
		"Host: shop.example:8080",
		"x-custom: Kept As Sent",
		"Cookie: a=1",
		"Content-Length: 3",
		"Te: trailers", // passed on, as net/http's reverse proxy does
		"X-Forwarded-For: 203.0.113.7, 198.51.100.1, 198.51.100.2, 127.0.0.1",
		"X-Forwarded-Host: shop.example:8080",
		"X-Forwarded-Proto: http",
		"X-Request-Id: rid-1",
	}
	if strings.Join(fields, "\n") != strings.Join(want, "\n") {
		t.Errorf("fields:\n%s\nwant:\n%s", strings.Join(fields, "\n"), strings.Join(want, "\n"))
	}

	// The head is one the proxy's own parser and net/http read back.
	var back reqHead
	if st := parseRequestHead(out[len("prefix"):], 64<<10, &back); st != headOK || back.contentLength != 3 {
		t.Errorf("outbound head parsed back: %v, content length %d", st, back.contentLength)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(out[len("prefix"):], "abc"...))))
	if err != nil {
		t.Fatal(err)
	}
	if req.Host != "shop.example:8080" || req.Header.Get("X-Request-Id") != "rid-1" || req.ContentLength != 3 {
		t.Errorf("net/http reads host %q, request ID %q, length %d", req.Host, req.Header.Get("X-Request-Id"), req.ContentLength)
	}
}

func TestAppendOutboundWithoutPriorForwarding(t *testing.T) {
	var h reqHead
	if st := parseRequestHead([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 1<<10, &h); st != headOK {
		t.Fatalf("status %v", st)
	}
	_, fields := outboundLines(t, appendOutbound(nil, &h, "::1", "r", "", "", false))
	want := "Host: a|X-Forwarded-For: ::1|X-Forwarded-Host: a|X-Forwarded-Proto: http|X-Request-Id: r"
	if got := strings.Join(fields, "|"); got != want {
		t.Errorf("fields %q, want %q", got, want)
	}
}

func TestAppendOutboundTraceContext(t *testing.T) {
	const (
		clientTP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		clientTS = "congo=t61rcWkgMzE"
		spanTP   = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
	)
	in := "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: " + clientTP + "\r\ntracestate: " + clientTS + "\r\n\r\n"
	var h reqHead
	if st := parseRequestHead([]byte(in), 1<<10, &h); st != headOK {
		t.Fatalf("status %v", st)
	}
	for _, tc := range []struct {
		name            string
		traceparent, ts string
		set             bool
		wantTP, wantTS  []string
	}{
		{"tracing off passes the caller's context on", "", "", false, []string{clientTP}, []string{clientTS}},
		{"the span's traceparent replaces the caller's", spanTP, "", false, []string{spanTP}, []string{clientTS}},
		{"a rewritten tracestate replaces the caller's", spanTP, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", true,
			[]string{spanTP}, []string{"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fields := outboundLines(t, appendOutbound(nil, &h, "127.0.0.1", "r", tc.traceparent, tc.ts, tc.set))
			if got := fieldValues(fields, "traceparent"); strings.Join(got, "|") != strings.Join(tc.wantTP, "|") {
				t.Errorf("traceparent %q, want %q", got, tc.wantTP)
			}
			if got := fieldValues(fields, "tracestate"); strings.Join(got, "|") != strings.Join(tc.wantTS, "|") {
				t.Errorf("tracestate %q, want %q", got, tc.wantTS)
			}
		})
	}
}

// checkLikeNetHTTP fails unless net/http reads a head parseRequestHead
// accepted as h the same way.
func checkLikeNetHTTP(t *testing.T, in []byte, h *reqHead) {
	t.Helper()
	if h.size <= 0 || h.size > len(in) || !bytes.HasSuffix(in[:h.size], crlfcrlf) {
		t.Fatalf("size %d of %d bytes does not end a head", h.size, len(in))
	}
	rd := bytes.NewReader(in)
	br := bufio.NewReader(rd)
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("the event loop serves %q, net/http rejects it: %v", in[:h.size], err)
	}
	if read := len(in) - br.Buffered() - rd.Len(); read != h.size {
		t.Errorf("head of %d bytes, net/http read %d", h.size, read)
	}
	if req.Method != string(h.method) || req.RequestURI != string(h.target) || req.Host != string(h.host) {
		t.Errorf("net/http reads %q %q host %q; the event loop %q %q host %q",
			req.Method, req.RequestURI, req.Host, h.method, h.target, h.host)
	}
	if req.ContentLength != h.contentLength {
		t.Errorf("net/http reads content length %d, the event loop %d", req.ContentLength, h.contentLength)
	}
	if req.Close != h.close {
		t.Errorf("net/http reads close %v, the event loop %v", req.Close, h.close)
	}
}

// A target whose path net/http cannot decode gets 400 from net/http; the
// event loop must hand it over rather than forward it.
func TestParseRequestHeadHandsOffTargetsNetHTTPRejects(t *testing.T) {
	for _, in := range []string{
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		var h reqHead
		if st := parseRequestHead([]byte(in), 1<<10, &h); st == headOK {
			checkLikeNetHTTP(t, []byte(in), &h)
		}
	}
}

// FuzzParseRequestHead checks that every head the event loop serves itself
// is one net/http reads the same way: same method, target, host, length,
// connection close, and the same number of bytes.
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /f?x=1 HTTP/1.1\r\nHost: a:1\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX:\t v \r\n\r\nGET / HTTP/1.1\r\n",
		"GET /%7e HTTP/1.1\r\nhost: [::1]:8080\r\ncookie: a=1\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h reqHead
		if parseRequestHead(in, 4096, &h) != headOK {
			return
		}
		checkLikeNetHTTP(t, in, &h)
	})
}

// FuzzChunkDecoder checks that whatever body the decoder accepts, split
// however it arrives, net/http's chunked reader reads the same data from.
func FuzzChunkDecoder(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
		"A\r\n0123456789\r\n1\r\n\n\r\n0\r\n\r\ntail",
		"5\r\nhello\n0\r\n\r\n",
		"fffffffffffffff\r\n",
		"0\r\n\r\n",
	} {
		f.Add([]byte(s), uint64(0))
		f.Add([]byte(s), uint64(0x0102030405060708))
	}
	f.Fuzz(func(t *testing.T, in []byte, splits uint64) {
		// Cut the input where the bits of splits say.
		var pieces [][]byte
		rest := in
		for s := splits; len(rest) > 0; s >>= 4 {
			k := int(s&0xf) + 1
			if s == 0 {
				k = len(rest)
			}
			k = min(k, len(rest))
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		d, data, consumed, done, err := decodeChunks(t, pieces...)
		wd, wdata, wconsumed, wdone, werr := decodeChunks(t, in)
		if done != wdone || (err == nil) != (werr == nil) || (done && (!bytes.Equal(data, wdata) || consumed != wconsumed ||
			!bytes.Equal(d.trailer, wd.trailer))) {
			t.Fatalf("split %v: data %q done %v err %v; whole: data %q done %v err %v", pieces, data, done, err, wdata, wdone, werr)
		}
		if !done || err != nil {
			return
		}
		got, rerr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(in[:consumed])))
		if rerr != nil {
			t.Fatalf("the decoder accepts %q, net/http's reader fails: %v", in[:consumed], rerr)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%q: the decoder yields %q, net/http's reader %q", in[:consumed], data, got)
		}
	})
}
