package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/spec"
)

// Errors a provider returns.
var (
	// ErrWrongProvider means a provider was asked to measure a metric of
	// another kind.
	ErrWrongProvider = errors.New("the metric is not for this provider")
	// ErrNotConfigured means a Set has no provider of the metric's kind.
	ErrNotConfigured = errors.New("no provider of this kind is configured")
	// ErrBadResponse means an answer could not be understood: not JSON, too
	// large, or of an unexpected shape.
	ErrBadResponse = errors.New("bad response")
)

// maxBody bounds the answer a provider reads, in bytes.
const maxBody = 1 << 20

// StatusError is an HTTP answer outside 2xx.
type StatusError struct {
	// URL is where the request went.
	URL string
	// Code is the HTTP status code.
	Code int
	// Body is the start of the answer's body, for the message.
	Body string
}

// Error implements error.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.URL, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Set measures each metric with the provider its spec names.
type Set struct {
	// Builtin measures builtin metrics.
	Builtin analysis.Provider
	// Prometheus measures prometheus metrics.
	Prometheus analysis.Provider
	// Webhook measures webhook metrics.
	Webhook analysis.Provider
}

// New returns a Set of all three providers: builtin over counters, and
// prometheus and webhook over client (nil means a client of its own with no
// overall timeout; each call is bounded by its metric's timeout).
func New(counters Counters, client *http.Client) Set {
	if client == nil {
		client = &http.Client{}
	}
	return Set{Builtin: NewBuiltin(counters), Prometheus: NewPrometheus(client), Webhook: NewWebhook(client)}
}

// Measure implements analysis.Provider.
func (s Set) Measure(ctx context.Context, req analysis.Request) (analysis.Result, error) {
	var p analysis.Provider
	var kind string
	switch pr := req.Provider; {
	case pr.Builtin != nil:
		p, kind = s.Builtin, "builtin"
	case pr.Prometheus != nil:
		p, kind = s.Prometheus, "prometheus"
	case pr.Webhook != nil:
		p, kind = s.Webhook, "webhook"
	default:
		return analysis.Result{}, fmt.Errorf("metric %s/%s: %w", req.Template, req.Metric, ErrWrongProvider)
	}
	if p == nil {
		return analysis.Result{}, fmt.Errorf("%s: %w", kind, ErrNotConfigured)
	}
	return p.Measure(ctx, req)
}

// setHeaders adds the metric's headers to r.
func setHeaders(r *http.Request, hs []spec.Header) {
	for _, h := range hs {
		r.Header.Set(h.Name, h.Value)
	}
}

// readBody reads at most maxBody bytes of an answer.
func readBody(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%w: the answer is larger than %d bytes", ErrBadResponse, maxBody)
	}
	return b, nil
}

// snippet returns the start of a body for an error message, on one line.
func snippet(b []byte) string {
	const max = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// withTimeout bounds ctx by d when d is positive.
func withTimeout(ctx context.Context, d *spec.Duration) (context.Context, context.CancelFunc) {
	if d == nil || d.Duration <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d.Duration)
}
