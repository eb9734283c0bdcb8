package telemetry

import (
	"strconv"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// ProxySpan is the span of one proxied request, recorded without the SDK:
// a fixed struct with the documented attributes as typed fields, so that
// recording it on the request path allocates nothing. ProxySpans turns
// it into an OTLP span when it exports it.
type ProxySpan struct {
	TraceID [16]byte
	SpanID  [8]byte
	// ParentSpanID is the caller's span, zero when the request started
	// the trace. A parent is always remote: it came in a traceparent.
	ParentSpanID [8]byte
	// Flags are the span's W3C trace flags (sampled, random).
	Flags byte
	// TraceState is the caller's W3C tracestate, passed on.
	TraceState string
	// Name is the span's name, "proxy APP".
	Name       string
	Start, End time.Time

	App       string // sluice.app
	Method    string // http.request.method
	Path      string // url.path
	Revision  string // sluice.revision
	Status    int    // http.response.status_code; 5xx sets the error status
	Retries   int    // sluice.retries
	RequestID string // sluice.request_id
	// Instance (sluice.instance) and Address (server.address) are empty
	// when no instance was picked, and then not recorded.
	Instance string
	Address  string
}

// protoSpan holds the OTLP form of one ProxySpan, every message it is
// made of included, so that ProxySpans reuses them from one export to the
// next instead of allocating about forty objects per span: the OTLP
// client has encoded them by the time UploadTraces returns.
type protoSpan struct {
	span   tracepb.Span
	status tracepb.Status
	ids    [16 + 8 + 8]byte
	attrs  [9]*commonpb.KeyValue
	kvs    [9]commonpb.KeyValue
	vals   [9]commonpb.AnyValue
	strs   [7]commonpb.AnyValue_StringValue
	ints   [2]commonpb.AnyValue_IntValue
}

// fill makes p the OTLP span of s, as the SDK's exporter would write the
// same span made through the SDK: a server span with a status (error with
// the status code as its message from 500 on) and flags that say whether
// it has a parent, which is always remote.
func (p *protoSpan) fill(s *ProxySpan) *tracepb.Span {
	n, strs, ints := 0, 0, 0
	str := func(k, v string) {
		p.strs[strs].StringValue = v
		p.vals[n].Value = &p.strs[strs]
		p.kvs[n].Key, p.kvs[n].Value = k, &p.vals[n]
		p.attrs[n] = &p.kvs[n]
		n, strs = n+1, strs+1
	}
	integer := func(k string, v int64) {
		p.ints[ints].IntValue = v
		p.vals[n].Value = &p.ints[ints]
		p.kvs[n].Key, p.kvs[n].Value = k, &p.vals[n]
		p.attrs[n] = &p.kvs[n]
		n, ints = n+1, ints+1
	}
	str("sluice.app", s.App)
	str("http.request.method", s.Method)
	str("url.path", s.Path)
	str("sluice.revision", s.Revision)
	integer("http.response.status_code", int64(s.Status))
	integer("sluice.retries", int64(s.Retries))
	str("sluice.request_id", s.RequestID)
	if s.Instance != "" {
		str("sluice.instance", s.Instance)
		str("server.address", s.Address)
	}
	p.status.Code, p.status.Message = tracepb.Status_STATUS_CODE_UNSET, ""
	if s.Status >= 500 {
		p.status.Code, p.status.Message = tracepb.Status_STATUS_CODE_ERROR, strconv.Itoa(s.Status)
	}
	copy(p.ids[:16], s.TraceID[:])
	copy(p.ids[16:24], s.SpanID[:])
	copy(p.ids[24:], s.ParentSpanID[:])
	flags := uint32(s.Flags) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	var parent []byte
	if s.ParentSpanID != ([8]byte{}) {
		parent = p.ids[24:32:32]
		flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	sp := &p.span
	sp.TraceId, sp.SpanId, sp.ParentSpanId = p.ids[:16:16], p.ids[16:24:24], parent
	sp.TraceState, sp.Flags, sp.Name = s.TraceState, flags, s.Name
	sp.Kind = tracepb.Span_SPAN_KIND_SERVER
	sp.StartTimeUnixNano, sp.EndTimeUnixNano = unixNano(s.Start), unixNano(s.End)
	sp.Attributes = p.attrs[:n:n]
	sp.Status = &p.status
	return sp
}

// clear drops the strings p refers to, so that they can be collected.
func (p *protoSpan) clear() {
	for i := range p.strs {
		p.strs[i].StringValue = ""
	}
	p.span.TraceState, p.span.Name, p.status.Message = "", "", ""
}

func unixNano(t time.Time) uint64 { return uint64(max(0, t.UnixNano())) }
