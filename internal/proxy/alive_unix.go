//go:build unix

package proxy

import (
	"syscall"
)

// alive reports whether an idle pooled connection is still open: a
// non-blocking peek that finds no data means the instance has not closed
// it (nor sent anything unasked). This catches most keep-alive connections
// an instance closed while they were idle, before a request is written to
// one.
func alive(pc *upConn) bool {
	sc, ok := pc.conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}
