package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
)

// clientAddrKey carries the browser's address to the in-process API call,
// so the API throttles and audits the person, not the dashboard.
type clientAddrKey struct{}

// withClientAddr marks ctx with the address of the browser's request.
func withClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// handlerTransport is an http.RoundTripper that serves each request with
// the API's handler in process: no socket, no second listener, and the
// API's middleware (authentication, permissions, limits, audit) runs as for
// any caller. It buffers answers, so it is for ordinary calls, not streams.
type handlerTransport struct {
	api http.Handler
}

// RoundTrip implements http.RoundTripper.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	if in.Body == nil {
		in.Body = http.NoBody
	}
	if addr, ok := req.Context().Value(clientAddrKey{}).(string); ok {
		in.RemoteAddr = addr
	}
	rec := &recorder{header: http.Header{}}
	t.api.ServeHTTP(rec, in)
	if req.Body != nil {
		req.Body.Close()
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	return &http.Response{
		Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
