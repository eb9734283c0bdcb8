// Package otlptest provides an OTLP/HTTP trace receiver for tests: a real
// HTTP server that decodes what the official OTLP clients send.
package otlptest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Receiver is an OTLP/HTTP trace receiver built on the official OTLP
// protobuf types. It keeps every export request it received.
type Receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests []*coltrace.ExportTraceServiceRequest
	arrived  int           // export requests that reached the handler
	gate     chan struct{} // non-nil while held: handlers wait for it
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	rc := &Receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.arrived++
	gate := rc.gate
	rc.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	}
	body, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, &req)
	rc.mu.Unlock()
	b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// Client returns an official OTLP/HTTP client that sends to the receiver.
func (rc *Receiver) Client() otlptrace.Client {
	return otlptracehttp.NewClient(otlptracehttp.WithEndpointURL(rc.URL), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
}

// Hold makes export requests wait until the returned function is called.
func (rc *Receiver) Hold() (release func()) {
	gate := make(chan struct{})
	rc.mu.Lock()
	rc.gate = gate
	rc.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			rc.mu.Lock()
			rc.gate = nil
			rc.mu.Unlock()
			close(gate)
		})
	}
}

// Arrived returns how many export requests reached the receiver, held or
// not.
func (rc *Receiver) Arrived() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.arrived
}

// Requests returns the export requests received, in order.
func (rc *Receiver) Requests() []*coltrace.ExportTraceServiceRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*coltrace.ExportTraceServiceRequest(nil), rc.requests...)
}

// Spans returns every span received, in order.
func (rc *Receiver) Spans() []*tracepb.Span {
	var spans []*tracepb.Span
	for _, req := range rc.Requests() {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	}
	return spans
}
