package proxy

import (
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// clientConn is a client connection served by an event loop, one request
// at a time (pipelined requests wait in rbuf).
type clientConn struct {
	l      *loop
	fd     int
	gen    uint32
	ln     *listener
	app    *app
	remote string // the client's IP, for X-Forwarded-For

	rbuf       []byte // read, not yet consumed
	wbuf       []byte // to write to the client
	since      time.Time
	registered bool // in the epoll set (not paused)
	events     uint32
	closeAfter bool // close once the response is written
	unread     bool // a request body was left unread: close gently
	lingering  bool // writes shut down, discarding input until EOF
	closed     bool

	busy bool     // x is in flight
	seq  uint64   // counts exchanges, so late stream cut-offs are ignored
	x    exchange // the request in flight
	head reqHead
}

const clientEvents = unix.EPOLLIN | unix.EPOLLRDHUP

// addClient starts serving an adopted connection.
func (l *loop) addClient(fd int, ln *listener, remote net.Addr) {
	if l.stopping || ln.fast.closing.Load() {
		_ = unix.Close(fd)
		return
	}
	ip := ""
	if ta, ok := remote.(*net.TCPAddr); ok {
		ip = ta.IP.String()
	}
	c := &clientConn{l: l, fd: fd, ln: ln, app: ln.app, remote: ip, since: l.now}
	gen, err := l.register(fd, clientEvents, c, nil)
	if err != nil {
		_ = unix.Close(fd)
		return
	}
	c.gen, c.registered, c.events = gen, true, clientEvents
	l.clients[c] = struct{}{}
	ln.fast.conns.Add(1)
}

// onEvent handles readiness of the client's socket.
func (c *clientConn) onEvent(ev uint32) {
	if ev&unix.EPOLLOUT != 0 {
		c.flush()
	}
	if c.closed {
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readable()
	}
}

// readable reads what the client sent.
func (c *clientConn) readable() {
	if c.rbuf == nil {
		c.rbuf = c.l.getBuf()
	}
	if c.lingering {
		if n, err := unix.Read(c.fd, c.rbuf[:cap(c.rbuf)]); n <= 0 && err != unix.EAGAIN && err != unix.EINTR {
			c.close()
		}
		return
	}
	if len(c.rbuf) == cap(c.rbuf) {
		if !c.busy && cap(c.rbuf) < c.l.srv.opts.MaxHeaderBytes+4096 {
			c.rbuf = append(c.rbuf, make([]byte, cap(c.rbuf))...)[:len(c.rbuf)]
		} else {
			c.pause() // a pipelined flood: wait for the exchange to end
			return
		}
	}
	n, err := unix.Read(c.fd, c.rbuf[len(c.rbuf):cap(c.rbuf)])
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 {
		c.gone()
		return
	}
	if !c.busy && len(c.rbuf) == 0 {
		c.since = c.l.now
	}
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	if c.busy {
		c.forwardBody()
		return
	}
	c.serve()
}

// serve starts the next request read, if its head is complete.
func (c *clientConn) serve() {
	if c.busy || c.closed {
		return
	}
	if c.closeAfter || c.ln.fast.closing.Load() {
		c.closeGently()
		return
	}
	if len(c.rbuf) == 0 {
		c.l.putBuf(c.rbuf)
		c.rbuf = nil
		c.since = c.l.now
		c.resume()
		return
	}
	switch parseRequestHead(c.rbuf, c.l.srv.opts.MaxHeaderBytes, &c.head) {
	case headIncomplete:
		c.resume()
	case headHandOff:
		c.handOff()
	case headOK:
		c.start()
	}
}

// start routes the parsed request and sends it on.
func (c *clientConn) start() {
	s := c.l.srv
	a := c.app
	h := &c.head
	rt := a.routes.Load()
	if !rt.ipOnly {
		c.handOff() // net/http's dialer resolves host names
		return
	}
	c.busy = true
	c.seq++
	x := &c.x
	out, respFields := x.out[:0], x.resp.fields[:0] // reused, not reallocated
	*x = exchange{out: out, method: methodString(h.method), bodyLeft: h.contentLength}
	x.resp.fields = respFields
	rs := &x.rs
	*rs = requestState{app: a, start: s.now()}
	if h.close {
		c.closeAfter = true
	}
	if v, ok := h.lookupField("X-Request-Id"); ok && len(v) > 0 {
		rs.requestID = string(v)
	} else {
		rs.requestID = newRequestID()
	}
	var traceState string
	var traceStateSet bool
	if s.tracing != nil {
		tp, _ := h.lookupField("traceparent")
		ts, _ := h.lookupField("tracestate")
		traceState, traceStateSet = s.tracing.startFrom(string(tp), string(ts), &rs.span)
	}
	if s.opts.AccessLog != nil || s.tracing != nil {
		x.path = requestPath(h.target)
	}

	in := rt.table.inspectFrom(h)
	rs.rt = rt
	rs.rev, rs.inst, rs.index = rt.pick(in, rs.start)
	if rs.inst == nil {
		if next := a.routes.Load(); next != rt && next.ipOnly {
			rs.rt = next
			rs.rev, rs.inst, rs.index = next.pick(in, rs.start)
		}
	}
	x.newKey = in.newKey
	if m := rs.rev.state.metrics; m != nil {
		m.inFlight.Inc()
	}
	x.safe = h.contentLength == 0 && safeMethod(x.method)
	x.out = appendOutbound(x.out, h, c.remote, rs.requestID, traceparentOf(s.tracing, &rs.span), traceState, traceStateSet)
	body := min(int64(len(c.rbuf)-h.size), h.contentLength)
	x.out = append(x.out, c.rbuf[h.size:h.size+int(body)]...)
	x.bodyLeft -= body
	c.consume(h.size + int(body))
	if rs.inst == nil {
		c.answer(503, "Service Unavailable", "503 Service Unavailable: app "+a.name+" has no ready instance\n", true)
		return
	}
	rs.tried = markTried(0, rs.index)
	c.dispatch()
}

// consume drops n bytes from the front of rbuf.
func (c *clientConn) consume(n int) {
	k := copy(c.rbuf, c.rbuf[n:])
	c.rbuf = c.rbuf[:k]
}

// flush writes wbuf to the client. While it cannot be written at once, the
// instance's connection is paused. A response that ended is accounted for
// before its last bytes are written, as net/http's handlers are, so that
// whoever reads the response finds it in the metrics, spans and log.
func (c *clientConn) flush() {
	x := &c.x
	if c.busy && x.headSent && x.bodyDone {
		c.finish(true, false)
	}
	for len(c.wbuf) > 0 {
		n, err := unix.Write(c.fd, c.wbuf)
		if err == unix.EAGAIN {
			c.want(clientEvents | unix.EPOLLOUT)
			if c.busy && x.up != nil && !x.upPaused {
				x.upPaused = true
				x.up.pause()
			}
			return
		}
		if err != nil {
			c.gone()
			return
		}
		k := copy(c.wbuf, c.wbuf[n:])
		c.wbuf = c.wbuf[:k]
	}
	if c.registered {
		c.want(clientEvents)
	}
	if c.busy {
		if x.upPaused && x.up != nil {
			x.upPaused = false
			x.up.want(unix.EPOLLIN | unix.EPOLLRDHUP)
		}
		return
	}
	c.l.putBuf(c.wbuf)
	c.wbuf = nil
	c.serve()
}

// finish ends the exchange: the upstream connection goes back to the pool
// when it can be reused, and the request is accounted for.
func (c *clientConn) finish(completed, clientLeft bool) {
	x := &c.x
	if u := x.up; u != nil {
		x.up = nil
		if completed && x.keepUp && x.bodyLeft == 0 && x.outSent == len(x.out) && len(u.rbuf) == 0 {
			if x.upPaused {
				u.want(unix.EPOLLIN | unix.EPOLLRDHUP)
			}
			c.l.putBuf(u.rbuf)
			u.rbuf = nil
			c.l.give(u)
		} else {
			u.close()
		}
	}
	if x.bodyLeft > 0 {
		c.closeAfter, c.unread = true, true
	}
	rs := &x.rs
	rs.completed = completed
	c.app.account(rs, x.method, x.path, clientLeft)
	x.out = x.out[:0]
	if cap(x.out) > 4<<10 {
		x.out = nil // a body went through it: keep idle connections small
	}
	c.busy = false
	c.since = c.l.now
}

// gone handles a client that closed its connection or failed a write.
func (c *clientConn) gone() {
	if c.busy {
		x := &c.x
		x.rs.rec.clientGone = true
		if !x.headSent {
			x.rs.rec.code = 499
		}
		c.finish(false, true)
	}
	c.close()
}

// lingerTimeout is how long a connection closed with a request body
// unread goes on discarding what the client sends.
const lingerTimeout = 500 * time.Millisecond

// closeGently closes the connection after a response. When the client may
// still be sending a body the proxy did not read, closing at once would
// make the kernel reset the connection, and the client could lose the
// response it has not read yet: so writes are shut down first and input
// is discarded until the client closes or lingerTimeout passes, as
// net/http does.
func (c *clientConn) closeGently() {
	if !c.unread || c.lingering {
		c.close()
		return
	}
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		c.close()
		return
	}
	c.lingering = true
	c.since = c.l.now
	c.resume()
}

// abort closes the connection at once, as at loop stop or listener close.
func (c *clientConn) abort() {
	if c.busy {
		c.finish(false, true)
	}
	c.close()
}

// close closes the client's connection.
func (c *clientConn) close() {
	if c.closed {
		return
	}
	c.closed = true
	if c.busy {
		c.finish(false, true)
	}
	c.l.closeFD(c.fd)
	delete(c.l.clients, c)
	c.ln.fast.conns.Add(-1)
	c.l.putBuf(c.rbuf)
	c.l.putBuf(c.wbuf)
	c.rbuf, c.wbuf = nil, nil
}

// handOff gives the connection to net/http's server, with the bytes read
// so far, for the rest of its life.
func (c *clientConn) handOff() {
	l := c.l
	l.forget(c.fd)
	delete(l.clients, c)
	c.closed = true
	c.ln.fast.conns.Add(-1)
	f := os.NewFile(uintptr(c.fd), "client")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return
	}
	if len(c.rbuf) > 0 {
		nc = &prefixConn{Conn: nc, prefix: append([]byte(nil), c.rbuf...)}
	}
	l.putBuf(c.rbuf)
	c.rbuf = nil
	c.ln.queue.push(nc)
}

// pause takes the client out of the epoll set until resume.
func (c *clientConn) pause() {
	if c.registered {
		c.l.forget(c.fd)
		c.registered = false
	}
}

// resume puts a paused client back in the epoll set.
func (c *clientConn) resume() {
	if !c.registered {
		gen, err := c.l.register(c.fd, clientEvents, c, nil)
		if err != nil {
			c.close()
			return
		}
		c.gen, c.registered, c.events = gen, true, clientEvents
	}
}

// want sets the client's epoll events.
func (c *clientConn) want(events uint32) {
	if !c.registered {
		c.resume()
	}
	if c.registered && c.events != events {
		c.l.modify(c.fd, c.gen, events)
		c.events = events
	}
}

// checkTimeouts closes idle and slow clients and fails slow dials and
// response heads.
func (c *clientConn) checkTimeouts(now time.Time) {
	o := &c.l.srv.opts
	if c.lingering {
		if now.Sub(c.since) >= lingerTimeout {
			c.close()
		}
		return
	}
	if !c.busy {
		limit := o.ClientIdleTimeout
		if len(c.rbuf) > 0 {
			limit = o.ReadHeaderTimeout
		}
		if now.Sub(c.since) >= limit {
			c.close()
		}
		return
	}
	u := c.x.up
	switch {
	case u == nil:
	case u.connecting && now.Sub(u.since) >= o.DialTimeout:
		c.dialFailed(errDialTimeout)
	case !u.connecting && !c.x.respStarted && o.ResponseHeaderTimeout > 0 &&
		c.x.outSent == len(c.x.out) && now.Sub(u.since) >= o.ResponseHeaderTimeout:
		c.x.reused = false // not to be resent
		c.upFailed(errHeaderTimeout)
	}
}

var (
	errDialTimeout   = errors.New("i/o timeout")
	errHeaderTimeout = errors.New("timeout awaiting response headers")
)
