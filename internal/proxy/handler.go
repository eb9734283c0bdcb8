package proxy

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// stateKey is the context key of a request's *requestState.
type stateKey struct{}

// requestState follows one request through routing, forwarding and
// accounting. The forwarding hooks find it in the request's context.
type requestState struct {
	app       *app
	rt        *routes
	rev       *revisionRoute
	inst      *instance
	index     int    // the instance's index in rev.insts
	tried     uint64 // instances tried, for retries
	retries   int
	requestID string
	start     time.Time
	rec       recorder
	span      spanContext // when tracing is on

	cancel    context.CancelFunc // set for upgrades: ends the tunnel
	body      streamBody         // wraps a streamed response body
	streaming bool               // closer is registered as a stream with inst
	closer    streamCloser       // what ends the stream at the drain deadline
	upgraded  bool               // the instance switched protocols
	completed bool               // ServeHTTP returned without a panic
}

// stateOf returns the request state stored in ctx.
func stateOf(ctx context.Context) *requestState {
	rs, _ := ctx.Value(stateKey{}).(*requestState)
	return rs
}

// ServeHTTP routes one request of the app: it picks the revision and the
// instance, forwards the request, and accounts for it.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := a.srv
	rs := &requestState{app: a, start: s.now()}
	rs.rec.w = w
	rs.requestID = r.Header.Get("X-Request-Id")
	if rs.requestID == "" {
		rs.requestID = newRequestID()
	}
	w.Header().Set("X-Request-Id", rs.requestID)
	if s.tracing != nil {
		s.tracing.start(r, &rs.span)
	}

	rt := a.routes.Load()
	in := rt.table.inspect(r)
	rs.rt = rt
	rs.rev, rs.inst, rs.index = rt.pick(in, rs.start)
	if rs.inst == nil {
		if next := a.routes.Load(); next != rt { // swapped while we picked
			rs.rt = next
			rs.rev, rs.inst, rs.index = next.pick(in, rs.start)
		}
	}
	if in.newKey != "" {
		w.Header().Add("Set-Cookie", rs.rt.table.stickyCookie(in.newKey))
	}
	defer func() { a.account(rs, r.Method, r.URL.Path, r.Context().Err() != nil) }()
	if m := rs.rev.state.metrics; m != nil {
		m.inFlight.Inc()
	}
	if rs.inst == nil {
		unavailable(&rs.rec, a.name)
		rs.completed = true
		return
	}
	rs.tried = markTried(0, rs.index)
	ctx := context.WithValue(r.Context(), stateKey{}, rs)
	if isUpgrade(r) {
		ctx, rs.cancel = context.WithCancel(ctx)
	}
	s.proxy.ServeHTTP(&rs.rec, r.WithContext(ctx))
	rs.completed = true
}

// account accounts for a request that ended, normally or by a panic (an
// aborted stream, which then goes on unwinding). clientLeft reports that
// the client's connection closed while the request ran.
func (a *app) account(rs *requestState, method, path string, clientLeft bool) {
	s := a.srv
	now := s.now()
	d := now.Sub(rs.start)
	status := rs.rec.code
	switch {
	case rs.upgraded:
		status = http.StatusSwitchingProtocols
	case status == 0:
		status = http.StatusOK
	}
	// A response that broke off is the revision's error, unless the client
	// hung up (as a 499 before the response is not): a write to it failed,
	// or its connection closed (which also cancels the upstream read).
	failed := status >= 500 || (!rs.completed && !rs.rec.clientGone && !clientLeft)
	rs.rev.state.window.record(now, d, failed)
	if m := rs.rev.state.metrics; m != nil {
		m.inFlight.Dec()
		m.request(method, status, d.Seconds(), rs.rec.bytes)
	}
	if rs.inst != nil {
		if rs.streaming {
			rs.inst.removeStream(rs.closer)
		}
		rs.inst.release()
	}
	if rs.cancel != nil {
		rs.cancel()
	}
	if s.tracing != nil {
		s.tracing.end(&rs.span, rs, method, path, status, now)
	}
	if s.opts.AccessLog != nil {
		rec := AccessRecord{
			TraceID:   traceIDOf(&rs.span),
			Time:      rs.start,
			App:       a.name,
			Revision:  rs.rev.state.name,
			Method:    method,
			Path:      path,
			Status:    status,
			Duration:  d,
			Bytes:     rs.rec.bytes,
			RequestID: rs.requestID,
		}
		if rs.inst != nil {
			rec.Instance = rs.inst.id
		}
		s.opts.AccessLog(rec)
	}
}

// closeStream ends the request's stream at its instance's drain deadline:
// an upgraded connection is torn down, an event stream ends cleanly as if
// the instance had finished it.
func (rs *requestState) closeStream() {
	if rs.cancel != nil {
		rs.cancel()
	}
	rs.body.cutOff()
}

// unavailable answers 503 when the app has no ready instance.
func unavailable(w http.ResponseWriter, app string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("503 Service Unavailable: app " + app + " has no ready instance\n"))
}

// isUpgrade reports whether r asks to switch protocols (e.g. WebSocket).
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// recorder is the ResponseWriter handed to the reverse proxy: it notes the
// status and counts body bytes. Flushing and hijacking reach the client's
// connection through Unwrap.
type recorder struct {
	w     http.ResponseWriter
	code  int
	bytes int64
	// clientGone is set when a write or flush to the client failed: a
	// response broken off by its client is not its revision's error.
	clientGone bool
}

// Header returns the response headers.
func (r *recorder) Header() http.Header { return r.w.Header() }

// WriteHeader notes the final status and sends it. 1xx responses pass.
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.w.WriteHeader(code)
}

// Write sends body bytes and counts them.
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.w.Write(p)
	r.bytes += int64(n)
	if err != nil {
		r.clientGone = true
	}
	return n, err
}

// FlushError sends buffered bytes to the client at once.
func (r *recorder) FlushError() error {
	err := http.NewResponseController(r.w).Flush()
	if err != nil {
		r.clientGone = true
	}
	return err
}

// Unwrap returns the client's ResponseWriter.
func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// streamBody wraps a streamed response body. When its instance's drain
// deadline passes it is cut off: the read in progress fails and the reverse
// proxy sees a clean end of body, so the client gets a properly terminated
// response.
type streamBody struct {
	rc  io.ReadCloser
	cut atomic.Bool
}

// Read reads the instance's body; after a cut-off it reports the end.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.cut.Load() {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err != nil && b.cut.Load() {
		return n, io.EOF
	}
	return n, err
}

// Close closes the instance's body.
func (b *streamBody) Close() error { return b.rc.Close() }

// cutOff ends the stream once.
func (b *streamBody) cutOff() {
	if b.rc != nil && b.cut.CompareAndSwap(false, true) {
		_ = b.rc.Close()
	}
}
