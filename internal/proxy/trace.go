package proxy

import (
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"sluice.dev/sluice/internal/telemetry"
)

// tracing records one span per proxied request, without the SDK: the
// trace context is parsed and written here, the span is a fixed struct
// handed to telemetry.ProxySpans when the request ends. It is nil when
// Options.Spans is, so that a proxy without tracing does no tracing work
// at all.
type tracing struct {
	spans   *telemetry.ProxySpans
	sampler telemetry.Sampler
	names   sync.Map // app name → span name, "proxy APP"
}

func newTracing(opts Options) *tracing {
	if opts.Spans == nil {
		return nil
	}
	return &tracing{spans: opts.Spans, sampler: opts.Spans.Sampler()}
}

// spanContext is a proxied request's span while it runs.
type spanContext struct {
	traceID    [16]byte
	spanID     [8]byte
	parent     [8]byte // zero without a (valid) caller's traceparent
	flags      byte    // W3C trace flags: sampled, random
	traceState string
	// traceparent is the header sent to the instance; its characters
	// 3 to 35 are the trace ID in hex.
	traceparent string
}

// sampled reports whether the span is recorded.
func (sc *spanContext) sampled() bool { return sc.flags&byte(trace.FlagsSampled) != 0 }

// start continues the caller's trace context, or starts a trace, as the
// SDK with the W3C trace context propagator does: a new span ID, the
// sampler's decision, and the span's context written into the request's
// headers so that the instance continues the trace, sampled or not.
func (t *tracing) start(r *http.Request, sc *spanContext) {
	h := traceHeaders(r.Header)
	if ts, set := t.startFrom(h.Get("traceparent"), h.Get("tracestate"), sc); set {
		h.Set("tracestate", ts)
	}
	h.Set("traceparent", sc.traceparent)
}

// startFrom is start on the caller's traceparent and tracestate values.
// The instance gets sc.traceparent and, when set is true, tracestate ts
// instead of the caller's.
func (t *tracing) startFrom(traceparent, tracestate string, sc *spanContext) (ts string, set bool) {
	parentValid := false
	if tid, sid, flags, ok := parseTraceparent(traceparent); ok {
		parentValid = true
		sc.traceID, sc.parent = tid, sid
		sc.flags = flags
		if tracestate != "" {
			// An invalid tracestate is ignored and left as it came, as
			// the propagator leaves it; a valid one is passed on as the
			// propagator writes it.
			if parsed, err := trace.ParseTraceState(tracestate); err == nil {
				sc.traceState = parsed.String()
				if sc.traceState != tracestate {
					ts, set = sc.traceState, true
				}
			}
		}
	} else {
		sc.traceID = newTraceID()
	}
	sc.spanID = newSpanID()
	if t.sampler.Sample(sc.traceID, parentValid, sc.flags&byte(trace.FlagsSampled) != 0) {
		sc.flags |= byte(trace.FlagsSampled)
	} else {
		sc.flags &^= byte(trace.FlagsSampled)
	}
	sc.traceparent = formatTraceparent(sc)
	return ts, set
}

// end records a sampled request's span: where it went and how it ended.
func (t *tracing) end(sc *spanContext, rs *requestState, method, path string, status int, end time.Time) {
	if !sc.sampled() {
		return
	}
	sp := telemetry.ProxySpan{
		TraceID: sc.traceID, SpanID: sc.spanID, ParentSpanID: sc.parent,
		Flags: sc.flags, TraceState: sc.traceState,
		Name:  t.spanName(rs.app.name),
		Start: rs.start, End: end,
		App: rs.app.name, Method: method, Path: path,
		Revision: rs.rev.state.name, Status: status, Retries: rs.retries,
		RequestID: rs.requestID,
	}
	if rs.inst != nil {
		sp.Instance, sp.Address = rs.inst.id, rs.inst.addr
	}
	t.spans.End(&sp)
}

// spanName returns "proxy APP", made once per app.
func (t *tracing) spanName(app string) string {
	if n, ok := t.names.Load(app); ok {
		return n.(string)
	}
	n, _ := t.names.LoadOrStore(app, "proxy "+app)
	return n.(string)
}

// traceIDOf returns the request's trace ID in hex, or "" without tracing.
// It allocates nothing: it is part of the traceparent sent on.
func traceIDOf(sc *spanContext) string {
	if sc == nil || len(sc.traceparent) < 35 {
		return ""
	}
	return sc.traceparent[3:35]
}

// newTraceID returns a random, valid trace ID. The IDs come from
// math/rand/v2's global source, a ChaCha8 generator per thread that the
// runtime seeds from the operating system's entropy: cheap, lock-free and
// unpredictable, as the SDK's IDs (math/rand seeded from crypto/rand).
func newTraceID() (id [16]byte) {
	for id == ([16]byte{}) {
		putUint64(id[:8], rand.Uint64())
		putUint64(id[8:], rand.Uint64())
	}
	return id
}

// newSpanID returns a random, valid span ID.
func newSpanID() (id [8]byte) {
	for id == ([8]byte{}) {
		putUint64(id[:], rand.Uint64())
	}
	return id
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// traceHeaders carries trace context in request headers, like
// propagation.HeaderCarrier, without its cost per request: the W3C keys
// are canonicalised by a switch rather than by building a new string on
// every Get and Set, and a value is replaced in place.
type traceHeaders http.Header

// Get returns the first value of key.
func (h traceHeaders) Get(key string) string {
	if v := h[canonicalTraceKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key with value.
func (h traceHeaders) Set(key, value string) {
	k := canonicalTraceKey(key)
	if v := h[k]; len(v) == 1 {
		v[0] = value
		return
	}
	h[k] = []string{value}
}

// canonicalTraceKey is textproto.CanonicalMIMEHeaderKey(key), without an
// allocation for the keys the W3C propagators use.
func canonicalTraceKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}
