package proxy

import (
	"io"
	"sync"
	"time"
)

// DefaultAccessFlush is how long a line may wait in an AccessLog's buffer
// before it is written.
const DefaultAccessFlush = 100 * time.Millisecond

// accessBufferSize is how many bytes of lines an AccessLog gathers before
// it writes them without waiting for the flush interval: about 130 lines.
const accessBufferSize = 32 << 10

// AccessLog is an Options.AccessLog hook that writes each record as one
// line of JSON (see AccessRecord.AppendJSON). Lines are gathered in a
// buffer and written in one Write call when it fills, a flush interval
// after the first line that found it empty, and by Close, so that the
// request path makes no system call and no allocation for its line. Every
// Write holds whole lines only, in the order they were logged. Close it
// after the proxy has stopped; a record logged after Close is written at
// once, so no line is lost. Its methods are safe for concurrent use.
type AccessLog struct {
	w     io.Writer
	every time.Duration

	mu     sync.Mutex // guards buf and closed
	buf    []byte
	closed bool

	wmu   sync.Mutex // held while writing to w, so writes keep their order; guards spare
	spare []byte

	kick chan struct{} // a line went into an empty buffer
	stop chan struct{}
	done chan struct{}
}

// NewAccessLog returns an AccessLog writing to w, whose lines wait at most
// flush (DefaultAccessFlush when 0 or less) before they are written. It
// starts a goroutine that Close stops.
func NewAccessLog(w io.Writer, flush time.Duration) *AccessLog {
	if flush <= 0 {
		flush = DefaultAccessFlush
	}
	l := &AccessLog{
		w: w, every: flush,
		buf:   make([]byte, 0, accessBufferSize+1024),
		spare: make([]byte, 0, accessBufferSize+1024),
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go l.run()
	return l
}

// Log adds r's line. It writes the buffered lines itself when the buffer
// is full or the log is closed.
func (l *AccessLog) Log(r AccessRecord) {
	var line [512]byte
	b := r.AppendJSON(line[:0])
	l.mu.Lock()
	first := len(l.buf) == 0
	l.buf = append(l.buf, b...)
	if len(l.buf) >= accessBufferSize || l.closed {
		l.writeLocked()
		return
	}
	l.mu.Unlock()
	if first {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Flush writes the buffered lines now.
func (l *AccessLog) Flush() {
	l.mu.Lock()
	if len(l.buf) == 0 {
		l.mu.Unlock()
		return
	}
	l.writeLocked()
}

// Close stops the flushing goroutine and writes the buffered lines. Lines
// logged afterwards are written at once. It always returns nil.
func (l *AccessLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.Flush()
	return nil
}

// writeLocked swaps the buffer for the spare one and writes the lines it
// held. l.mu must be held; it is released as soon as the buffer is
// swapped, so other requests go on logging during the write. Taking wmu
// before releasing mu keeps writes in the order of their lines. An error
// from w is dropped, as log/slog drops it: the request path has no one to
// report it to.
func (l *AccessLog) writeLocked() {
	l.wmu.Lock()
	out := l.buf
	l.buf = l.spare[:0]
	l.mu.Unlock()
	if len(out) > 0 {
		_, _ = l.w.Write(out)
	}
	l.spare = out[:0]
	l.wmu.Unlock()
}

// run writes the buffer out a flush interval after a line went into it
// empty, until Close.
func (l *AccessLog) run() {
	defer close(l.done)
	t := time.NewTimer(l.every)
	t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		}
		t.Reset(l.every)
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-t.C:
		}
		l.Flush()
	}
}
