//go:build !linux

package proxy

import (
	"errors"
	"net"
)

// loopGroup has no event loops outside Linux: net/http's server serves
// every connection.
type loopGroup struct{}

// loop is never created outside Linux.
type loop struct{}

func newLoopGroup(*Server, int) (*loopGroup, error) {
	return nil, errors.New("event loops need Linux")
}

func (g *loopGroup) adopt(net.Conn, *listener) error { return errors.New("event loops need Linux") }
func (g *loopGroup) each(func(*loop))                {}
func (g *loopGroup) stop()                           {}
func (l *loop) closeIdle(*listener)                  {}
func (l *loop) closeAll(*listener)                   {}
