package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// upstream is the proxy's HTTP/1.1 client towards instances. It does on the
// request's own goroutine what http.Transport does with two more per
// connection: write the request, read the response head, and hand the
// connection back to a per-instance pool of idle keep-alive connections
// once the body has been read to its end. That saves goroutine hand-offs
// and a read per request on the hot path. Protocol upgrades go through the
// standard transport instead (see forwarder).
type upstream struct {
	dialer         net.Dialer
	headerTimeout  time.Duration
	maxIdlePerAddr int
	idleTimeout    time.Duration

	mu        sync.Mutex
	idle      map[string][]*upConn // per address, most recently used last
	lastPrune time.Time
}

// upConn is one keep-alive connection to an instance.
type upConn struct {
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	addr      string
	idleSince time.Time
}

// aliveCheckAfter is how long a connection must have been idle before it
// is checked, with one non-blocking peek, for a close by the instance. Under
// load connections are reused within microseconds and skip the system
// call; instances close idle keep-alive connections after far longer. A
// connection closed in the window anyway is still replaced for requests
// that are safe to resend.
const aliveCheckAfter = 5 * time.Millisecond

// errUpstreamClosed is returned when an instance closed a connection before
// answering.
var errUpstreamClosed = errors.New("instance closed the connection before answering")

func newUpstream(o Options) *upstream {
	return &upstream{
		dialer:         net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second},
		headerTimeout:  o.ResponseHeaderTimeout,
		maxIdlePerAddr: o.MaxIdleConnsPerInstance,
		idleTimeout:    o.IdleConnTimeout,
		idle:           map[string][]*upConn{},
	}
}

// RoundTrip sends req to req.URL.Host and returns the response, whose body
// must be read to its end or closed. A failed dial is returned as is, a
// *net.OpError with Op "dial". A connection taken from the pool that the
// instance closed before answering at all is replaced by a new one, as
// http.Transport does, but only for a request that is idempotent and has no
// body: the instance may have closed it while idle, or may have received
// the request and died, and only such a request is safe either way.
func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for {
		pc, reused, err := u.get(ctx, req.URL.Host)
		if err != nil {
			return nil, err
		}
		resp, answered, err := u.exchange(ctx, pc, req)
		if err == nil {
			return resp, nil
		}
		_ = pc.conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		if !reused || answered || !safeToResend(req) {
			return nil, err
		}
	}
}

// safeToResend reports whether req may be sent twice: an idempotent method
// without a body.
func safeToResend(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return req.Body == nil || req.Body == http.NoBody
	}
	return false
}

// exchange writes req on pc and reads the response head. On success the
// response's body owns pc. answered reports whether any byte of a response
// arrived before a failure.
func (u *upstream) exchange(ctx context.Context, pc *upConn, req *http.Request) (resp *http.Response, answered bool, err error) {
	stop := context.AfterFunc(ctx, func() { _ = pc.conn.Close() })
	if err := req.Write(pc.bw); err != nil {
		stop()
		return nil, false, err
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, false, err
	}
	if u.headerTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Now().Add(u.headerTimeout))
	}
	if _, err := pc.br.Peek(1); err != nil {
		stop()
		if errors.Is(err, io.EOF) {
			err = errUpstreamClosed
		}
		return nil, false, err
	}
	resp, err = readResponseHead(pc.br, req)
	if err != nil {
		stop()
		return nil, true, err
	}
	if u.headerTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Time{})
	}
	keep := !resp.Close && !req.Close
	if resp.Body == nil || resp.Body == http.NoBody {
		if stop() && keep {
			u.put(pc)
		} else {
			_ = pc.conn.Close()
		}
		return resp, true, nil
	}
	resp.Body = &upBody{rc: resp.Body, pc: pc, u: u, stop: stop, keep: keep}
	return resp, true, nil
}

// readResponseHead reads responses until one that is not informational:
// 1xx responses other than 101 are skipped.
func readResponseHead(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols || resp.StatusCode < 100 {
			return resp, nil
		}
	}
}

// upBody is a response body read from a pooled connection. At its end the
// connection goes back to the pool; closed early, the connection is closed,
// since what is left of the body cannot be skipped cheaply. Close may be
// called while a Read is blocked (a stream cut at a drain deadline).
type upBody struct {
	rc       io.ReadCloser
	pc       *upConn
	u        *upstream
	stop     func() bool // stops closing the connection when the request ends
	keep     bool
	released atomic.Bool
}

// Read reads the body; at its end it releases the connection.
func (b *upBody) Read(p []byte) (int, error) {
	if b.released.Load() {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.release(true)
	}
	return n, err
}

// Close releases the connection: back to the pool if the body was read
// to its end, else closed.
func (b *upBody) Close() error {
	b.release(false)
	return nil
}

func (b *upBody) release(atEOF bool) {
	if !b.released.CompareAndSwap(false, true) {
		return
	}
	if b.stop() && atEOF && b.keep {
		b.u.put(b.pc)
		return
	}
	_ = b.pc.conn.Close()
}

// get returns an idle connection to addr, or dials a new one.
func (u *upstream) get(ctx context.Context, addr string) (*upConn, bool, error) {
	now := time.Now()
	u.mu.Lock()
	for {
		list := u.idle[addr]
		if len(list) == 0 {
			break
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		u.idle[addr] = list[:len(list)-1]
		idle := now.Sub(pc.idleSince)
		if idle > u.idleTimeout || idle > aliveCheckAfter && !alive(pc) {
			_ = pc.conn.Close()
			continue
		}
		u.mu.Unlock()
		return pc, true, nil
	}
	u.mu.Unlock()
	conn, err := u.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &upConn{
		conn: conn,
		br:   bufio.NewReaderSize(conn, 4<<10),
		bw:   bufio.NewWriterSize(conn, 4<<10),
		addr: addr,
	}, false, nil
}

// put returns a connection whose last response was read completely to the
// pool, unless the pool for its address is full.
func (u *upstream) put(pc *upConn) {
	if pc.br.Buffered() > 0 {
		_ = pc.conn.Close() // the instance sent more than it announced
		return
	}
	pc.idleSince = time.Now()
	u.mu.Lock()
	if pc.idleSince.Sub(u.lastPrune) > u.idleTimeout/2 {
		u.pruneLocked(pc.idleSince)
	}
	list := u.idle[pc.addr]
	if len(list) >= u.maxIdlePerAddr {
		u.mu.Unlock()
		_ = pc.conn.Close()
		return
	}
	u.idle[pc.addr] = append(list, pc)
	u.mu.Unlock()
}

// pruneLocked closes connections idle for longer than the idle timeout,
// such as those to instances that left every table. u.mu must be held.
func (u *upstream) pruneLocked(now time.Time) {
	u.lastPrune = now
	for addr, list := range u.idle {
		keep := list[:0]
		for _, pc := range list {
			if now.Sub(pc.idleSince) > u.idleTimeout {
				_ = pc.conn.Close()
			} else {
				keep = append(keep, pc)
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(u.idle, addr)
		} else {
			u.idle[addr] = keep
		}
	}
}

// closeIdle closes every pooled connection.
func (u *upstream) closeIdle() {
	u.mu.Lock()
	idle := u.idle
	u.idle = map[string][]*upConn{}
	u.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			_ = pc.conn.Close()
		}
	}
}
