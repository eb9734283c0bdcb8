package ofrep

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"sluice.dev/sluice/internal/flags"
)

// Defaults for the handler's limits and timings.
const (
	// DefaultMaxBodyBytes is the largest request body read, in bytes.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxDepth is the deepest nesting of objects and arrays accepted
	// in a request body; the body itself is depth 1, its context depth 2.
	DefaultMaxDepth = 32
	// DefaultKeepAlive is the interval between keep-alive comments on an
	// event stream.
	DefaultKeepAlive = 15 * time.Second
	// DefaultRetry is the reconnection delay suggested to event-stream
	// clients.
	DefaultRetry = 5 * time.Second
	// DefaultStreamWriteTimeout bounds each write to an event stream; a
	// client that does not take a write within it is disconnected.
	DefaultStreamWriteTimeout = 10 * time.Second
)

// OnEvaluate is called after each flag evaluation, single or bulk, with the
// environment, the flag key, the chosen variant (empty when none) and the
// evaluator's reason. It runs on the request's goroutine, so it must be
// fast and safe for concurrent use; the server uses it for metrics.
type OnEvaluate func(env, key, variant string, reason flags.Reason)

// Limiter decides whether a request from env may proceed. When ok is false
// the handler answers 429 Too Many Requests with retryAfter (rounded up to
// whole seconds, at least one) in the Retry-After header. It must be safe
// for concurrent use.
type Limiter func(r *http.Request, env string) (retryAfter time.Duration, ok bool)

// Option configures a Handler.
type Option func(*config)

// config is the handler's settings after options are applied.
type config struct {
	onEvaluate     OnEvaluate
	limiter        Limiter
	maxBody        int64
	maxDepth       int
	keepAlive      time.Duration
	retry          time.Duration
	writeTimeout   time.Duration
	streamKey      []byte
	streamOrigin   string
	allowedOrigins []string
	now            func() time.Time
	logger         *slog.Logger
}

// defaultConfig returns the settings used when no option says otherwise.
// The stream key is filled in by NewHandler.
func defaultConfig() config {
	return config{
		maxBody:      DefaultMaxBodyBytes,
		maxDepth:     DefaultMaxDepth,
		keepAlive:    DefaultKeepAlive,
		retry:        DefaultRetry,
		writeTimeout: DefaultStreamWriteTimeout,
		now:          time.Now,
		logger:       slog.New(slog.DiscardHandler),
	}
}

// WithOnEvaluate sets a callback run after every flag evaluation.
func WithOnEvaluate(fn OnEvaluate) Option {
	return func(c *config) { c.onEvaluate = fn }
}

// WithLimiter sets a rate limiter consulted after authentication on every
// request, event streams included. Without one nothing is limited.
func WithLimiter(l Limiter) Option {
	return func(c *config) { c.limiter = l }
}

// WithMaxBodyBytes sets the largest request body read, in bytes (default
// DefaultMaxBodyBytes). A larger body answers 400 PARSE_ERROR. Values below
// one are ignored.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithMaxDepth sets the deepest nesting of objects and arrays accepted in a
// request body (default DefaultMaxDepth). A deeper body answers 400
// INVALID_CONTEXT. Values below two (the body and its context) are ignored.
func WithMaxDepth(n int) Option {
	return func(c *config) {
		if n >= 2 {
			c.maxDepth = n
		}
	}
}

// WithKeepAlive sets the interval between keep-alive comments on event
// streams (default DefaultKeepAlive). Values below one millisecond are
// ignored.
func WithKeepAlive(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Millisecond {
			c.keepAlive = d
		}
	}
}

// WithStreamWriteTimeout bounds each write to an event stream (default
// DefaultStreamWriteTimeout). Values below one millisecond are ignored.
func WithStreamWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Millisecond {
			c.writeTimeout = d
		}
	}
}

// WithStreamKey sets the key that signs event-stream channel tokens. Every
// server answering the same clients must use the same key, or a stream URL
// handed out by one is refused by another. Without it each Handler draws a
// random key, which suits a single server. Keys shorter than 16 bytes are
// ignored.
func WithStreamKey(key []byte) Option {
	return func(c *config) {
		if len(key) >= 16 {
			c.streamKey = append([]byte(nil), key...)
		}
	}
}

// WithStreamOrigin makes the bulk response advertise its event stream as an
// absolute url under origin (scheme, host and optional port, such as
// "https://flags.example.com") instead of an endpoint relative to the
// provider's base URL. Use it when clients reach the event stream through a
// different origin than the evaluations.
func WithStreamOrigin(origin string) Option {
	return func(c *config) { c.streamOrigin = strings.TrimRight(origin, "/") }
}

// WithAllowedOrigins lets browsers on these origins call the handler: it
// answers CORS preflight requests and exposes the ETag header. "*" allows
// every origin. Without it no CORS headers are sent.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) { c.allowedOrigins = append([]string(nil), origins...) }
}

// WithClock sets the clock passed to the evaluator (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets where the handler reports its own failures (default:
// nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
