package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"
)

// newTransport returns the standard transport that carries protocol
// upgrades (WebSocket) to instances: plain HTTP/1.1, bounded dials, and no
// compression of its own. Other requests go through upstream.
func newTransport(o Options) *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   o.DialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerInstance,
		IdleConnTimeout:       o.IdleConnTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// newReverseProxy wires the standard reverse proxy to the server's routing:
// the instance is chosen before it runs and found in the request context.
// Event streams and bodies of unknown length are flushed at once (the
// reverse proxy's rule for FlushInterval 0), other responses when the
// handler returns.
func newReverseProxy(s *Server) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      &forwarder{srv: s, up: s.upstream, std: s.transport},
		BufferPool:     &bufferPool{},
		ErrorHandler:   s.forwardError,
		ModifyResponse: s.modifyResponse,
		ErrorLog:       slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
}

// rewrite points the outbound request at the chosen instance. It keeps the
// client's Host, appends the client's address to X-Forwarded-For (as
// nginx's $proxy_add_x_forwarded_for does), sets X-Forwarded-Host and
// X-Forwarded-Proto, and passes the request ID on.
func rewrite(pr *httputil.ProxyRequest) {
	rs := stateOf(pr.In.Context())
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = rs.inst.addr
	pr.Out.Host = pr.In.Host
	if prior, ok := pr.In.Header["X-Forwarded-For"]; ok {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	pr.Out.Header.Set("X-Request-Id", rs.requestID)
}

// forwarder sends a request to its instance and, when the connection to
// that instance could not even be established, to another instance of the
// same revision. Nothing was sent in that case, so the retry is safe for
// any method. Failures feed passive health.
type forwarder struct {
	srv *Server
	up  http.RoundTripper // plain requests
	std http.RoundTripper // protocol upgrades
}

// RoundTrip implements http.RoundTripper.
func (f *forwarder) RoundTrip(req *http.Request) (*http.Response, error) {
	rs := stateOf(req.Context())
	var body *replayBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &replayBody{rc: req.Body}
		req.Body = body
	}
	base := f.up
	if isUpgrade(req) {
		base = f.std
	}
	for {
		resp, err := base.RoundTrip(req)
		if err == nil {
			if c := resp.StatusCode; c == http.StatusBadGateway || c == http.StatusServiceUnavailable || c == http.StatusGatewayTimeout {
				f.srv.instanceFailed(rs, "status "+strconv.Itoa(c))
			} else {
				rs.inst.succeeded()
			}
			return resp, nil
		}
		if req.Context().Err() != nil {
			return nil, err // the client left; not the instance's fault
		}
		dial := isDialError(err)
		if dial {
			if m := rs.rev.state.metrics; m != nil {
				m.connectErrors.Inc()
			}
		}
		f.srv.instanceFailed(rs, err.Error())
		if !dial || (body != nil && body.read) || rs.retries >= f.srv.opts.MaxRetries {
			return nil, err
		}
		if !rs.next(f.srv.now()) {
			return nil, err
		}
		out := *req
		u := *req.URL
		u.Host = rs.inst.addr
		out.URL = &u
		req = &out
	}
}

// next moves the request to another untried instance of its revision, the
// one after the failed one in round-robin order, and reports whether there
// was one. It leaves the round-robin cursor alone, so a dead instance does
// not skew the rotation.
func (rs *requestState) next(now time.Time) bool {
	rev := rs.rev
	inst, i := rev.acquire(rs.rt.table.spec.Policy, uint64(rs.index+1), rs.tried, now)
	if inst == nil {
		return false
	}
	rs.inst.release()
	rs.inst, rs.index = inst, i
	rs.tried = markTried(rs.tried, i)
	rs.retries++
	if m := rev.state.metrics; m != nil {
		m.retries.Inc()
	}
	return true
}

// isDialError reports whether err means the connection to the instance was
// never established.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// replayBody keeps a request body open across attempts (the transport
// closes a body when a dial fails) and notes whether any byte was read, in
// which case the request is never retried.
type replayBody struct {
	rc   io.ReadCloser
	read bool
}

// Read reads the client's body.
func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.read = true
	}
	return n, err
}

// Close does nothing: the server closes the client's body.
func (b *replayBody) Close() error { return nil }

// modifyResponse registers long-lived responses with their instance so
// that draining can end them: upgraded connections and bodies of unknown
// length, such as event streams.
func (s *Server) modifyResponse(resp *http.Response) error {
	rs := stateOf(resp.Request.Context())
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols:
		rs.upgraded = true
		if rs.cancel == nil {
			return nil
		}
	case resp.ContentLength < 0 && resp.Body != nil && resp.Body != http.NoBody:
		rs.body.rc = resp.Body
		resp.Body = &rs.body
	default:
		return nil
	}
	rs.streaming = true
	rs.closer = rs
	rs.inst.addStream(rs)
	return nil
}

// forwardError answers a request whose instance could not be reached or
// broke off before its response headers.
func (s *Server) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	rs := stateOf(r.Context())
	if r.Context().Err() != nil {
		rs.rec.code = 499 // the client closed the request: nothing to send
		return
	}
	s.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "proxy: forward failed",
		slog.String("app", rs.app.name), slog.String("revision", rs.rev.state.name),
		slog.String("instance", rs.inst.id), slog.String("request_id", rs.requestID),
		slog.String("error", err.Error()))
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, "502 Bad Gateway: the app's instance did not answer\n")
}

// instanceFailed counts a failure of the request's instance and ejects it
// when it failed too often in a row.
func (s *Server) instanceFailed(rs *requestState, reason string) {
	if s.opts.EjectThreshold < 0 {
		return
	}
	now := s.now()
	in := rs.inst
	ejected, n := in.failed(now, s.opts.EjectThreshold, s.opts.EjectCooldown)
	if !ejected {
		return
	}
	if m := rs.rev.state.metrics; m != nil {
		m.ejections.Inc()
	}
	ev := Ejection{
		App: rs.app.name, Revision: in.revision, Instance: in.id, Addr: in.addr,
		Failures: n, Until: now.Add(s.opts.EjectCooldown), Reason: reason,
	}
	s.opts.Logger.Warn("proxy: instance ejected", "app", ev.App, "revision", ev.Revision,
		"instance", ev.Instance, "failures", ev.Failures, "until", ev.Until, "reason", ev.Reason)
	if s.opts.OnEject != nil {
		s.opts.OnEject(ev)
	}
}

// copyBufferSize is the size of the buffers that copy response bodies.
const copyBufferSize = 32 << 10

// bufferPool recycles the reverse proxy's copy buffers.
type bufferPool struct{ p sync.Pool }

// Get returns a buffer of copyBufferSize bytes.
func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[copyBufferSize]byte); ok {
		return v[:]
	}
	return make([]byte, copyBufferSize)
}

// Put recycles a buffer returned by Get.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(buf))
	}
}
