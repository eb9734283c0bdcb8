package proxy

import (
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// loopGroup is the proxy's set of event loops, one per CPU the Go runtime
// uses. Each loop owns its client connections, its upstream connections and
// their buffers, and serves plain HTTP/1.1 with a handful of system calls
// per request: one epoll_wait shared by every ready connection, a read and
// a write on each side. A goroutine per connection, as net/http has, costs
// about twice that on a busy machine (the netpoller's read-before-wait and
// the scheduler's hand-offs between threads).
type loopGroup struct {
	srv   *Server
	loops []*loop
	next  atomic.Uint64 // round robin over loops for new connections
	wg    sync.WaitGroup
}

// newLoopGroup starts n event loops.
func newLoopGroup(s *Server, n int) (*loopGroup, error) {
	g := &loopGroup{srv: s}
	for range n {
		l, err := newLoop(s)
		if err != nil {
			g.stop()
			return nil, err
		}
		g.loops = append(g.loops, l)
		g.wg.Go(l.run)
	}
	return g, nil
}

// adopt moves an accepted plain connection of listener ln to a loop. The
// loop then owns a duplicate of its file descriptor and c is closed. Only
// when the descriptor cannot be duplicated is an error returned, with c
// left open for net/http.
func (g *loopGroup) adopt(c net.Conn, ln *listener) error {
	fd, err := dupConnFD(c)
	if err != nil {
		return err // c stays open for net/http
	}
	remote := c.RemoteAddr()
	_ = c.Close()
	l := g.loops[(g.next.Add(1)-1)%uint64(len(g.loops))]
	if !l.post(func() { l.addClient(fd, ln, remote) }) {
		_ = unix.Close(fd) // the proxy is stopping
	}
	return nil
}

// each runs f on every loop, in the loop's goroutine.
func (g *loopGroup) each(f func(*loop)) {
	for _, l := range g.loops {
		l.post(func() { f(l) })
	}
}

// stop ends every loop: their connections are closed.
func (g *loopGroup) stop() {
	for _, l := range g.loops {
		l.post(func() { l.stopping = true })
	}
	g.wg.Wait()
}

// dupConnFD returns a non-blocking duplicate of c's file descriptor.
func dupConnFD(c net.Conn) (int, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return -1, errors.New("not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(orig uintptr) {
		fd, derr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// loop is one event loop: an epoll instance and everything registered in
// it. Only its own goroutine touches its connections; other goroutines
// reach it through post.
type loop struct {
	srv    *Server
	ep     int
	wake   int // eventfd that interrupts epoll_wait for posted work
	events []unix.EpollEvent

	mu      sync.Mutex
	inbox   []func()
	woken   atomic.Bool
	stopped bool // guarded by mu: post refuses work

	fds      []fdEntry // by file descriptor number
	gen      uint32
	clients  map[*clientConn]struct{}
	pools    map[string]*upPool // idle upstream connections by address
	free     [][]byte           // recycled buffers of bufSize
	stopping bool
	now      time.Time // time of the current batch of events
	date     []byte    // now as an HTTP date, made once a second
	dateSec  int64
	sweepAt  time.Time
	tick     time.Duration
}

// fdEntry is what a registered file descriptor belongs to. gen is also in
// the epoll event's data, so an event for a descriptor that was closed and
// reused within one batch is recognized as stale.
type fdEntry struct {
	gen    uint32
	client *clientConn
	up     *instConn
}

// bufSize is the size of the loop's read and write buffers.
const bufSize = 16 << 10

func newLoop(s *Server) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_ = unix.Close(ep)
		return nil, err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		_ = unix.Close(ep)
		_ = unix.Close(wake)
		return nil, err
	}
	o := s.opts
	tick := time.Second
	for _, d := range []time.Duration{o.DialTimeout, o.ResponseHeaderTimeout, o.ReadHeaderTimeout, o.ClientIdleTimeout, lingerTimeout} {
		if d > 0 && d/4 < tick {
			tick = max(d/4, 10*time.Millisecond)
		}
	}
	return &loop{
		srv: s, ep: ep, wake: wake, events: make([]unix.EpollEvent, 256),
		clients: map[*clientConn]struct{}{}, pools: map[string]*upPool{},
		tick: tick,
	}, nil
}

// post queues f to run on the loop and wakes it. It reports false once the
// loop stopped.
func (l *loop) post(f func()) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.inbox = append(l.inbox, f)
	l.mu.Unlock()
	if l.woken.CompareAndSwap(false, true) {
		var one = [8]byte{1}
		_, _ = unix.Write(l.wake, one[:])
	}
	return true
}

// run is the loop's goroutine.
func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.close()
	l.now = time.Now()
	l.sweepAt = l.now.Add(l.tick)
	for !l.stopping {
		// Under load events are usually ready: look without blocking
		// first, so that the thread rarely parks in the kernel and the Go
		// runtime rarely has to hand its processor to another thread.
		n, err := unix.EpollWait(l.ep, l.events, 0)
		if n == 0 && err == nil {
			timeout := int(l.sweepAt.Sub(l.now) / time.Millisecond)
			n, err = unix.EpollWait(l.ep, l.events, max(timeout, 0))
		}
		if err != nil && err != unix.EINTR {
			l.srv.opts.Logger.Error("proxy: event loop", "error", err)
			return
		}
		l.now = time.Now()
		for i := range max(n, 0) {
			ev := &l.events[i]
			fd := int(ev.Fd)
			if fd == l.wake {
				l.drainInbox()
				continue
			}
			if fd >= len(l.fds) || l.fds[fd].gen != uint32(ev.Pad) {
				continue // closed earlier in this batch
			}
			e := l.fds[fd]
			switch {
			case e.client != nil:
				e.client.onEvent(ev.Events)
			case e.up != nil:
				e.up.onEvent(ev.Events)
			}
		}
		if !l.now.Before(l.sweepAt) {
			l.sweep()
			l.sweepAt = l.now.Add(l.tick)
		}
	}
}

// drainInbox runs the work other goroutines posted.
func (l *loop) drainInbox() {
	var buf [8]byte
	_, _ = unix.Read(l.wake, buf[:])
	l.woken.Store(false)
	l.mu.Lock()
	work := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, f := range work {
		f()
	}
}

// register adds fd to the loop for events, owned by c or u.
func (l *loop) register(fd int, events uint32, c *clientConn, u *instConn) (uint32, error) {
	for fd >= len(l.fds) {
		l.fds = append(l.fds, make([]fdEntry, len(l.fds)+64)...)
	}
	l.gen++
	gen := l.gen
	l.fds[fd] = fdEntry{gen: gen, client: c, up: u}
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(gen)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.fds[fd] = fdEntry{}
		return 0, err
	}
	return gen, nil
}

// modify changes the events fd waits for.
func (l *loop) modify(fd int, gen uint32, events uint32) {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(gen)}
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, fd, &ev)
}

// closeFD forgets and closes fd.
func (l *loop) closeFD(fd int) {
	if fd < len(l.fds) {
		l.fds[fd] = fdEntry{}
	}
	_ = unix.Close(fd)
}

// forget removes fd from the loop without closing it (a hand-off).
func (l *loop) forget(fd int) {
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fd, nil)
	if fd < len(l.fds) {
		l.fds[fd] = fdEntry{}
	}
}

// httpDate returns the loop's time in the HTTP date format.
func (l *loop) httpDate() []byte {
	if sec := l.now.Unix(); sec != l.dateSec || l.date == nil {
		l.dateSec = sec
		l.date = l.now.UTC().AppendFormat(l.date[:0], http.TimeFormat)
	}
	return l.date
}

// getBuf returns an empty buffer of bufSize capacity.
func (l *loop) getBuf() []byte {
	if n := len(l.free); n > 0 {
		b := l.free[n-1]
		l.free = l.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, bufSize)
}

// putBuf recycles a buffer from getBuf; others are left to the collector.
func (l *loop) putBuf(b []byte) {
	if cap(b) == bufSize && len(l.free) < 1024 {
		l.free = append(l.free, b[:0])
	}
}

// sweep enforces the timeouts: idle and slow clients, dials, response
// heads, idle upstream connections.
func (l *loop) sweep() {
	for c := range l.clients {
		c.checkTimeouts(l.now)
	}
	for addr, p := range l.pools {
		p.prune(l.now)
		if len(p.idle) == 0 {
			delete(l.pools, addr)
		}
	}
}

// close ends the loop: every connection is closed.
func (l *loop) close() {
	l.mu.Lock()
	l.stopped = true
	work := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, f := range work {
		f() // adopted connections are closed below
	}
	for c := range l.clients {
		c.abort()
	}
	for _, p := range l.pools {
		for _, u := range p.idle {
			u.close()
		}
	}
	_ = unix.Close(l.ep)
	_ = unix.Close(l.wake)
}

// upPool holds the idle upstream connections of one address, newest last.
type upPool struct {
	idle []*instConn
	sa   unix.Sockaddr // the address for connect(2); nil when not an IP and port
}

// prune closes connections idle past the server's IdleConnTimeout.
func (p *upPool) prune(now time.Time) {
	kept := p.idle[:0]
	for _, u := range p.idle {
		if now.Sub(u.idleSince) >= u.l.srv.opts.IdleConnTimeout {
			u.close()
			continue
		}
		kept = append(kept, u)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
}

// take returns the newest idle connection of addr, or nil.
func (l *loop) take(addr string) *instConn {
	p := l.pools[addr]
	if p == nil || len(p.idle) == 0 {
		return nil
	}
	u := p.idle[len(p.idle)-1]
	p.idle[len(p.idle)-1] = nil
	p.idle = p.idle[:len(p.idle)-1]
	return u
}

// give puts an upstream connection that finished a response in the pool.
func (l *loop) give(u *instConn) {
	if l.stopping {
		u.close()
		return
	}
	p := l.pool(u.addr)
	if len(p.idle) >= l.srv.opts.MaxIdleConnsPerInstance {
		u.close()
		return
	}
	u.idleSince = l.now
	u.owner = nil
	p.idle = append(p.idle, u)
}

// drop removes an idle connection that closed from its pool.
func (l *loop) drop(u *instConn) {
	if p := l.pools[u.addr]; p != nil {
		for i, v := range p.idle {
			if v == u {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
	}
}

// closeIdle closes ln's idle connections and makes the busy ones close
// after their response, as the listener shuts down.
func (l *loop) closeIdle(ln *listener) {
	for c := range l.clients {
		if c.ln != ln {
			continue
		}
		if c.busy {
			c.closeAfter = true
		} else {
			c.close()
		}
	}
}

// closeAll closes every connection of ln at once.
func (l *loop) closeAll(ln *listener) {
	for c := range l.clients {
		if c.ln == ln {
			c.abort()
		}
	}
}
