package proxy

import "net"

// prefixConn is a connection some of whose bytes were already read: Read
// returns them first.
type prefixConn struct {
	net.Conn
	prefix []byte
}

// Read reads the prefix, then the connection.
func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite shuts down the writing side, as net/http does before closing
// a connection whose request it refused unread.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
