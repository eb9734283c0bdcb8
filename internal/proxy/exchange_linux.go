package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/sys/unix"
)

// exchange is one request forwarded by an event loop.
type exchange struct {
	rs       requestState
	method   string
	path     string // for the access log and spans; empty when neither is on
	newKey   string // a sticky key to set in the client's cookie
	up       *instConn
	out      []byte // the request as sent upstream: head and first body bytes
	outSent  int
	bodyLeft int64 // body bytes still to come from the client
	reused   bool  // up came from the pool
	safe     bool  // may be resent on a new connection (idempotent, no body)

	resp        respHead
	respStarted bool // a byte of the response arrived
	headSent    bool // the response head is in wbuf
	mode        bodyMode
	remain      int64 // body bytes left in modeLength
	chunks      chunkDecoder
	bodyDone    bool
	keepUp      bool
	upPaused    bool // the upstream is out of the epoll set until wbuf drains
	stream      *fastStream
}

// bodyMode is how a response body is framed.
type bodyMode uint8

const (
	modeNone    bodyMode = iota // no body
	modeLength                  // Content-Length, passed on as is
	modeChunked                 // chunked from the instance, re-chunked to the client
	modeEOF                     // until the instance closes, chunked to the client
)

// fastStream ends an event loop's long-lived response at its instance's
// drain deadline, as streamBody does for net/http.
type fastStream struct {
	c   *clientConn
	seq uint64
}

// closeStream asks the loop to end the stream cleanly.
func (s *fastStream) closeStream() {
	c := s.c
	c.l.post(func() {
		if c.busy && c.seq == s.seq && !c.closed {
			c.cutStream()
		}
	})
}

// dispatch sends the request to rs.inst on a pooled or new connection.
func (c *clientConn) dispatch() {
	x := &c.x
	addr := x.rs.inst.addr
	if u := c.l.take(addr); u != nil {
		x.reused = true
		c.attach(u)
		c.sendRequest()
		return
	}
	c.dial()
}

// dial sends the request on a new connection to the exchange's instance,
// once it is established.
func (c *clientConn) dial() {
	x := &c.x
	x.reused = false
	u, err := c.l.dial(x.rs.inst.addr)
	if err != nil {
		c.dialFailed(err)
		return
	}
	c.attach(u)
	if !u.connecting {
		c.sendRequest()
	}
}

// attach makes u the exchange's upstream connection.
func (c *clientConn) attach(u *instConn) {
	u.owner = c
	u.since = c.l.now
	c.x.up = u
	c.x.outSent = 0
}

// sendRequest writes the rest of x.out to the instance.
func (c *clientConn) sendRequest() {
	x := &c.x
	u := x.up
	for x.outSent < len(x.out) {
		n, err := unix.Write(u.fd, x.out[x.outSent:])
		if err == unix.EAGAIN {
			u.want(unix.EPOLLIN | unix.EPOLLOUT)
			return
		}
		if err != nil {
			c.upFailed(err)
			return
		}
		x.outSent += n
	}
	u.since = c.l.now
	u.want(unix.EPOLLIN | unix.EPOLLRDHUP)
	if x.bodyLeft > 0 {
		c.forwardBody()
	}
}

// forwardBody sends request body bytes read from the client, or keeps
// pipelined bytes for later.
func (c *clientConn) forwardBody() {
	x := &c.x
	if x.bodyLeft == 0 || x.up == nil || x.up.connecting || x.outSent < len(x.out) {
		if len(c.rbuf) == cap(c.rbuf) {
			c.pause()
		}
		return
	}
	k := int(min(int64(len(c.rbuf)), x.bodyLeft))
	if k == 0 {
		return
	}
	// Move the bytes into out, so a partial write can finish later.
	x.out = append(x.out[:0], c.rbuf[:k]...)
	x.outSent = 0
	x.bodyLeft -= int64(k)
	x.safe = false
	c.consume(k)
	c.resume()
	c.sendRequest()
}

// dialFailed handles a connection to the instance that could not be made:
// another instance is tried, within MaxRetries, else the client gets 502.
func (c *clientConn) dialFailed(err error) {
	s := c.l.srv
	x := &c.x
	rs := &x.rs
	if x.up != nil {
		x.up.close()
		x.up = nil
	}
	if m := rs.rev.state.metrics; m != nil {
		m.connectErrors.Inc()
	}
	reason := "dial tcp " + rs.inst.addr + ": " + err.Error()
	s.instanceFailed(rs, reason)
	if rs.retries < s.opts.MaxRetries && rs.next(s.now()) {
		c.dispatch()
		return
	}
	c.badGateway(reason)
}

// upFailed handles an upstream connection that failed or closed before the
// response ended.
func (c *clientConn) upFailed(err error) {
	s := c.l.srv
	x := &c.x
	rs := &x.rs
	u := x.up
	x.up = nil
	if u != nil {
		u.close()
	}
	if !x.headSent {
		if !x.respStarted && x.reused && x.safe {
			// The pooled connection was closed under us; the instance
			// never saw the request, or it is safe to send it again.
			c.dial()
			return
		}
		s.instanceFailed(rs, err.Error())
		c.badGateway(err.Error())
		return
	}
	if x.mode == modeEOF && errors.Is(err, errUpstreamEOF) {
		x.bodyDone = true
		c.wbuf = append(c.wbuf, "0\r\n\r\n"...)
		c.flush()
		return
	}
	// The instance broke its response off: so must the proxy.
	c.finish(false, false)
	c.close()
}

// errUpstreamEOF is the instance closing its connection.
var errUpstreamEOF = errors.New("instance closed the connection")

// badGateway answers 502 when the instance could not be reached or broke
// off before its response head.
func (c *clientConn) badGateway(reason string) {
	rs := &c.x.rs
	c.l.srv.opts.Logger.Warn("proxy: forward failed", "app", c.app.name, "revision", rs.rev.state.name,
		"instance", rs.inst.id, "request_id", rs.requestID, "error", reason)
	c.answer(502, "Bad Gateway", "502 Bad Gateway: the app's instance did not answer\n", false)
}

// answer sends the proxy's own response to the current request.
func (c *clientConn) answer(code int, text, body string, retryAfter bool) {
	x := &c.x
	if x.up != nil {
		x.up.close()
		x.up = nil
	}
	if x.bodyLeft > 0 {
		c.closeAfter = true // the rest of the body was not read
	}
	if c.wbuf == nil {
		c.wbuf = c.l.getBuf()
	}
	w := c.wbuf
	w = append(w, "HTTP/1.1 "...)
	w = strconv.AppendInt(w, int64(code), 10)
	w = append(w, ' ')
	w = append(w, text...)
	w = append(w, "\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"...)
	if retryAfter {
		w = append(w, "Retry-After: 5\r\n"...)
	}
	w = c.appendOwnFields(w, false)
	w = append(w, "Content-Length: "...)
	w = strconv.AppendInt(w, int64(len(body)), 10)
	w = append(w, "\r\n\r\n"...)
	if x.method != "HEAD" {
		w = append(w, body...)
		x.rs.rec.bytes = int64(len(body))
	}
	c.wbuf = w
	x.rs.rec.code = code
	x.headSent = true
	x.bodyDone = true
	c.flush()
}

// appendOwnFields appends the fields the proxy adds to every response: a
// Date when the response has none (as net/http's server adds one), the
// request ID, a sticky cookie, and Connection: close when the connection
// ends after it.
func (c *clientConn) appendOwnFields(w []byte, hasDate bool) []byte {
	x := &c.x
	if !hasDate {
		w = append(w, "Date: "...)
		w = append(w, c.l.httpDate()...)
		w = append(w, crlf...)
	}
	w = append(w, "X-Request-Id: "...)
	w = append(w, x.rs.requestID...)
	w = append(w, crlf...)
	if x.newKey != "" {
		w = append(w, "Set-Cookie: "...)
		w = append(w, x.rs.rt.table.stickyCookie(x.newKey)...)
		w = append(w, crlf...)
	}
	if c.closeAfter || c.ln.fast.closing.Load() {
		c.closeAfter = true
		w = append(w, "Connection: close\r\n"...)
	}
	return w
}

// upEvent handles readiness of the exchange's upstream connection.
func (c *clientConn) upEvent(u *instConn, ev uint32) {
	x := &c.x
	if u.connecting {
		if err := u.connected(); err != nil {
			c.dialFailed(err)
			return
		}
		c.sendRequest()
		return
	}
	if ev&unix.EPOLLOUT != 0 && x.outSent < len(x.out) {
		c.sendRequest()
		if c.x.up != u {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readUpstream(u)
	}
}

// readUpstream reads from the instance and passes the response on.
func (c *clientConn) readUpstream(u *instConn) {
	x := &c.x
	if u.rbuf == nil {
		u.rbuf = c.l.getBuf()
	}
	if len(u.rbuf) == cap(u.rbuf) {
		if cap(u.rbuf) >= maxResponseHead {
			c.upFailed(errBadResponse)
			return
		}
		u.rbuf = append(u.rbuf, make([]byte, cap(u.rbuf))...)[:len(u.rbuf)]
	}
	n, err := unix.Read(u.fd, u.rbuf[len(u.rbuf):cap(u.rbuf)])
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 {
		if err == nil {
			err = errUpstreamEOF
		}
		c.upFailed(err)
		return
	}
	x.respStarted = true
	u.rbuf = u.rbuf[:len(u.rbuf)+n]
	if !x.headSent && !c.takeHead(u) {
		return
	}
	c.takeBody(u)
	if c.x.up != u || c.closed {
		return
	}
	u.rbuf = u.rbuf[:0]
	c.flush()
}

// takeHead parses the response head in u.rbuf and writes the client's
// head to wbuf. It reports false while the head is incomplete or when the
// exchange ended.
func (c *clientConn) takeHead(u *instConn) bool {
	s := c.l.srv
	x := &c.x
	rs := &x.rs
	for {
		st, err := parseResponseHead(u.rbuf, maxResponseHead, &x.resp)
		if err != nil {
			c.upFailed(err)
			return false
		}
		if st == headIncomplete {
			return false
		}
		if x.resp.status >= 200 {
			break
		}
		if x.resp.status == 101 {
			c.upFailed(errBadResponse) // never asked for
			return false
		}
		k := copy(u.rbuf, u.rbuf[x.resp.size:]) // 1xx: skipped
		u.rbuf = u.rbuf[:k]
	}
	r := &x.resp
	switch code := r.status; code {
	case 502, 503, 504:
		s.instanceFailed(rs, "status "+strconv.Itoa(code))
	default:
		rs.inst.succeeded()
	}
	switch {
	case !r.hasBody(x.method):
		x.mode = modeNone
	case r.chunked:
		x.mode = modeChunked
	case r.contentLength >= 0:
		x.mode, x.remain = modeLength, r.contentLength
	default:
		x.mode = modeEOF
	}
	x.keepUp = !r.close && x.mode != modeEOF
	if x.mode == modeChunked || x.mode == modeEOF {
		x.stream = &fastStream{c: c, seq: c.seq}
		rs.closer = x.stream
		rs.streaming = true
		rs.inst.addStream(x.stream)
	}
	if c.wbuf == nil {
		c.wbuf = c.l.getBuf()
	}
	w := c.wbuf
	w = append(w, "HTTP/1.1 "...)
	w = strconv.AppendInt(w, int64(r.status), 10)
	w = append(w, ' ')
	if len(r.reason) > 0 {
		w = append(w, r.reason...)
	} else {
		w = append(w, http.StatusText(r.status)...)
	}
	w = append(w, crlf...)
	hasDate := false
	for _, f := range r.fields {
		hasDate = hasDate || fieldIs(f.name, "Date")
		if hopByHop(f.name) && !fieldIs(f.name, "Trailer") ||
			(x.mode == modeChunked || x.mode == modeEOF) && fieldIs(f.name, "Content-Length") ||
			fieldIs(f.name, "X-Request-Id") && string(f.value) == rs.requestID {
			continue
		}
		w = append(w, f.name...)
		w = append(w, ": "...)
		w = append(w, f.value...)
		w = append(w, crlf...)
	}
	if x.mode == modeChunked || x.mode == modeEOF {
		w = append(w, "Transfer-Encoding: chunked\r\n"...)
	}
	if x.bodyLeft > 0 {
		c.closeAfter = true // the rest of the request body will not be read
	}
	c.wbuf = c.appendOwnFields(w, hasDate)
	c.wbuf = append(c.wbuf, crlf...)
	rs.rec.code = r.status
	x.headSent = true
	k := copy(u.rbuf, u.rbuf[r.size:])
	u.rbuf = u.rbuf[:k]
	return true
}

// takeBody moves the body bytes in u.rbuf to wbuf, framed for the client.
func (c *clientConn) takeBody(u *instConn) {
	x := &c.x
	buf := u.rbuf
	switch x.mode {
	case modeNone:
		x.bodyDone = true
		if len(buf) > 0 {
			x.keepUp = false // bytes the instance should not have sent
		}
	case modeLength:
		n := min(int64(len(buf)), x.remain)
		c.wbuf = append(c.wbuf, buf[:n]...)
		x.remain -= n
		x.rs.rec.bytes += n
		if x.remain == 0 {
			x.bodyDone = true
			if int64(len(buf)) > n {
				x.keepUp = false
			}
		}
	case modeEOF:
		c.appendChunk(buf)
	case modeChunked:
		for len(buf) > 0 && !x.bodyDone {
			n, data, done, err := x.chunks.next(buf)
			if err != nil {
				c.upFailed(err)
				return
			}
			c.appendChunk(data)
			buf = buf[n:]
			if done {
				x.bodyDone = true
				c.wbuf = append(c.wbuf, "0\r\n"...)
				c.wbuf = append(c.wbuf, x.chunks.trailer...)
				c.wbuf = append(c.wbuf, crlf...)
				if len(buf) > 0 {
					x.keepUp = false
				}
			}
		}
	}
}

// appendChunk appends data to wbuf as one chunk.
func (c *clientConn) appendChunk(data []byte) {
	if len(data) == 0 {
		return
	}
	c.wbuf = strconv.AppendInt(c.wbuf, int64(len(data)), 16)
	c.wbuf = append(c.wbuf, crlf...)
	c.wbuf = append(c.wbuf, data...)
	c.wbuf = append(c.wbuf, crlf...)
	c.x.rs.rec.bytes += int64(len(data))
}

// cutStream ends a streamed response at its instance's drain deadline, as
// if the instance had ended it.
func (c *clientConn) cutStream() {
	x := &c.x
	if x.bodyDone || !(x.mode == modeChunked || x.mode == modeEOF) {
		return
	}
	x.keepUp = false
	x.bodyDone = true
	c.wbuf = append(c.wbuf, "0\r\n\r\n"...)
	c.flush()
}

// methodString returns the method as a string, without allocating for the
// standard methods.
func methodString(m []byte) string {
	for _, s := range [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"} {
		if string(m) == s {
			return s
		}
	}
	return string(m)
}

// safeMethod reports whether a request with this method and no body may be
// sent twice.
func safeMethod(m string) bool {
	return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE"
}

// requestPath returns the decoded path of a request target, as
// http.Request.URL.Path has it.
func requestPath(target []byte) string {
	p := target
	for i, b := range target {
		if b == '?' {
			p = target[:i]
			break
		}
	}
	s := string(p)
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// traceparentOf returns the traceparent to send the instance, or "" when
// tracing is off.
func traceparentOf(t *tracing, sc *spanContext) string {
	if t == nil {
		return ""
	}
	return sc.traceparent
}
