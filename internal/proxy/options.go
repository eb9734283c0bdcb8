package proxy

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/internal/telemetry"
)

var (
	// ErrInvalidTable is matched by every validation error of NewTable.
	ErrInvalidTable = errors.New("invalid route table")
	// ErrListen is matched when an app's listen address cannot be bound.
	ErrListen = errors.New("listen")
	// ErrUnknownApp is returned for an app the server has no table for.
	ErrUnknownApp = errors.New("unknown app")
	// ErrUnknownRevision is returned by Stats for a revision the app never
	// routed to (or forgot, once it was gone for longer than the window).
	ErrUnknownRevision = errors.New("unknown revision")
	// ErrStillRouted is returned by Drain for an instance that is still in
	// the app's current table: apply a table without it first.
	ErrStillRouted = errors.New("instance is still routed")
	// ErrDrainTimeout is returned by Drain when requests were still in
	// flight at the table's drain deadline.
	ErrDrainTimeout = errors.New("drain timeout")
	// ErrClosed is returned by Apply, Run and Remove after Run has returned.
	ErrClosed = errors.New("proxy server closed")
)

// Options configures a Server. The zero value is usable: metrics off, no
// callbacks, the defaults documented on each field.
type Options struct {
	// Registerer receives the proxy's Prometheus metrics. Nil turns
	// metrics off.
	Registerer prometheus.Registerer
	// Logger receives listener and forwarding errors. Nil discards them.
	Logger *slog.Logger
	// Now is the clock used for measurements and passive health. Nil
	// means time.Now. Timers (drain deadlines) always use real time.
	Now func() time.Time
	// OnEject is called, on the request's goroutine, each time passive
	// health ejects an instance. It must return quickly. Nil: not called.
	OnEject func(Ejection)
	// AccessLog is called, on the request's goroutine, once per completed
	// request. It must return quickly. Nil turns access logging off.
	AccessLog func(AccessRecord)
	// Spans records a span for every proxied request its sampler samples,
	// continuing the caller's W3C trace context (traceparent, tracestate)
	// and passing it on to the instance, sampled or not. The spans are
	// recorded without the OpenTelemetry SDK (see telemetry.ProxySpans).
	// Nil turns tracing off at no cost.
	Spans *telemetry.ProxySpans

	// EjectThreshold is how many consecutive failures (connect errors,
	// 502, 503 or 504 from the instance) eject an instance. Default 5;
	// negative turns passive ejection off.
	EjectThreshold int
	// EjectCooldown is how long an ejected instance gets no traffic.
	// Default 10s.
	EjectCooldown time.Duration
	// MaxRetries bounds how many other instances a request may be sent to
	// after a dial error. Default 2; negative turns retries off.
	MaxRetries int
	// StatsWindow is how far back per-revision measurements reach, in
	// whole seconds. Default DefaultStatsWindow (5m).
	StatsWindow time.Duration

	// DialTimeout bounds connecting to an instance. Default 2s.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for an instance's response
	// headers. Default 0: no limit, so long polls work.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerInstance is the keep-alive pool size towards each
	// instance. Default 512.
	MaxIdleConnsPerInstance int
	// IdleConnTimeout closes pooled upstream connections idle this long.
	// Default 90s.
	IdleConnTimeout time.Duration
	// ReadHeaderTimeout bounds reading a client's request headers.
	// Default 10s.
	ReadHeaderTimeout time.Duration
	// ClientIdleTimeout closes client keep-alive connections idle this
	// long. Default 120s.
	ClientIdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of a client's request headers;
	// larger ones get 431. Default 64 KiB.
	MaxHeaderBytes int

	// DisableEventLoops serves every connection with net/http's server, a
	// goroutine per connection. By default (on Linux) plain HTTP/1.1
	// connections are served by event loops, one per CPU, which spend
	// about half the CPU per request; TLS connections, protocol upgrades,
	// HTTP/1.0 and unusual requests always go to net/http.
	DisableEventLoops bool
}

// Ejection reports that passive health took an instance out of rotation.
type Ejection struct {
	// App and Revision name where the instance serves.
	App, Revision string
	// Instance and Addr identify the instance.
	Instance, Addr string
	// Failures is the number of consecutive failures that ejected it.
	Failures int
	// Until is when it gets traffic again.
	Until time.Time
	// Reason describes the last failure, e.g. "connect: connection refused"
	// or "status 503".
	Reason string
}

// AccessRecord describes one completed request for access logging.
type AccessRecord struct {
	// Time is when the request arrived.
	Time time.Time
	// App and Revision say where it was routed. When no instance was
	// ready (a 503), Revision is the one the request was routed to.
	App, Revision string
	// Instance is the ID of the instance that answered last, or empty.
	Instance string
	// Method and Path are the request's method and URL path.
	Method, Path string
	// Status is the status code sent to the client (101 for upgrades).
	Status int
	// Duration runs from arrival to the end of the response.
	Duration time.Duration
	// Bytes is the number of response body bytes written to the client.
	Bytes int64
	// RequestID is the request's X-Request-ID.
	RequestID string
	// TraceID is the request's trace ID when tracing is on.
	TraceID string
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	setDefault(&o.EjectThreshold, 5)
	setDefault(&o.EjectCooldown, 10*time.Second)
	setDefault(&o.MaxRetries, 2)
	setDefault(&o.StatsWindow, DefaultStatsWindow)
	setDefault(&o.DialTimeout, 2*time.Second)
	setDefault(&o.MaxIdleConnsPerInstance, 512)
	setDefault(&o.IdleConnTimeout, 90*time.Second)
	setDefault(&o.ReadHeaderTimeout, 10*time.Second)
	setDefault(&o.ClientIdleTimeout, 120*time.Second)
	setDefault(&o.MaxHeaderBytes, 64<<10)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
