package proxy

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// instConn is a connection from an event loop to an instance. While idle it
// sits in its loop's pool and any readiness means the instance closed it.
type instConn struct {
	l          *loop
	fd         int
	gen        uint32
	addr       string
	owner      *clientConn // the exchange using it; nil while idle
	connecting bool
	registered bool
	events     uint32
	since      time.Time // dial start, or when the request was sent
	idleSince  time.Time
	rbuf       []byte
}

// pool returns the loop's pool of addr, which also caches the address in
// the form connect(2) takes; its sa is nil for an address that is not an
// IP address and port.
func (l *loop) pool(addr string) *upPool {
	p := l.pools[addr]
	if p == nil {
		p = &upPool{}
		if ap, ok := ipPort(addr); ok {
			if ip := ap.Addr(); ip.Is4() {
				p.sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
			} else {
				p.sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
			}
		}
		l.pools[addr] = p
	}
	return p
}

// dial starts a non-blocking connection to addr. The connection may be
// established at once (connecting false) or later, when it turns writable.
func (l *loop) dial(addr string) (*instConn, error) {
	sa := l.pool(addr).sa
	if sa == nil { // routes.ipOnly keeps such addresses away
		return nil, prefixedErr("connect: ", fmt.Errorf("%q is not an IP address and port", addr))
	}
	family := unix.AF_INET
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	u := &instConn{l: l, fd: fd, addr: addr, since: l.now}
	err = unix.Connect(fd, sa)
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	switch err {
	case nil:
	case unix.EINPROGRESS:
		u.connecting = true
		events = unix.EPOLLOUT
	default:
		_ = unix.Close(fd)
		return nil, prefixedErr("connect: ", err)
	}
	gen, err := l.register(fd, events, nil, u)
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	u.gen, u.registered, u.events = gen, true, events
	return u, nil
}

// connected finishes a non-blocking connect: nil when it succeeded.
func (u *instConn) connected() error {
	u.connecting = false
	v, err := unix.GetsockoptInt(u.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return prefixedErr("connect: ", err)
	}
	if v != 0 {
		return prefixedErr("connect: ", unix.Errno(v))
	}
	return nil
}

// onEvent handles readiness of the connection.
func (u *instConn) onEvent(ev uint32) {
	if u.owner == nil {
		// Idle: the instance closed it, or sent bytes nobody asked for.
		u.l.drop(u)
		u.close()
		return
	}
	u.owner.upEvent(u, ev)
}

// want sets the connection's epoll events.
func (u *instConn) want(events uint32) {
	if !u.registered {
		gen, err := u.l.register(u.fd, events, nil, u)
		if err != nil {
			return
		}
		u.gen, u.registered, u.events = gen, true, events
		return
	}
	if u.events != events {
		u.l.modify(u.fd, u.gen, events)
		u.events = events
	}
}

// pause takes the connection out of the epoll set until want.
func (u *instConn) pause() {
	if u.registered {
		u.l.forget(u.fd)
		u.registered = false
	}
}

// close closes the connection.
func (u *instConn) close() {
	if u.fd < 0 {
		return
	}
	u.l.closeFD(u.fd)
	u.fd = -1
	u.registered = false
	u.l.putBuf(u.rbuf)
	u.rbuf = nil
}

// prefixedErr is a system call error with the step that failed.
type prefixedError struct {
	prefix string
	err    error
}

func prefixedErr(prefix string, err error) error { return &prefixedError{prefix, err} }

func (e *prefixedError) Error() string { return e.prefix + e.err.Error() }
func (e *prefixedError) Unwrap() error { return e.err }
