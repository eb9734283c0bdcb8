package proxy

import (
	"net"
	"sync"
	"sync/atomic"
)

// connQueue is the listener net/http's server serves on a listener whose
// accepting is done by the proxy: TLS connections, and plain connections
// an event loop hands over.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn, 64), done: make(chan struct{})}
}

// Accept returns the next queued connection.
func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; connections queued later are closed.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr returns the address of the proxy's real listener.
func (q *connQueue) Addr() net.Addr { return q.addr }

// push queues c for the server without blocking the caller.
func (q *connQueue) push(c net.Conn) {
	select {
	case q.ch <- c:
		return
	case <-q.done:
		_ = c.Close()
		return
	default:
	}
	go func() {
		select {
		case q.ch <- c:
		case <-q.done:
			_ = c.Close()
		}
	}()
}

// fastState is a listener's bookkeeping of the connections its event loops
// serve.
type fastState struct {
	closing atomic.Bool  // the listener is shutting down: no keep-alive
	conns   atomic.Int64 // connections the loops serve
}
