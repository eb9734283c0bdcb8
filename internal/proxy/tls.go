package proxy

import (
	"crypto/tls"
	"net"
	"sync/atomic"
)

// tlsListener is an app's listener: while it holds a TLS configuration, it
// hands each accepted connection to the HTTP server as a TLS server
// connection (the server then completes the handshake, with its read
// header timeout, and marks requests as HTTPS). The configuration can be
// swapped while it serves; connections already accepted keep theirs.
type tlsListener struct {
	net.Listener
	config atomic.Pointer[tls.Config]
}

// Accept waits for the next connection and wraps it in TLS when a
// configuration is set.
func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if cfg := l.config.Load(); cfg != nil {
		return tls.Server(c, cfg), nil
	}
	return c, nil
}
