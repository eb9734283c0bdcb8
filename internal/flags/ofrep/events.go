package ofrep

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sluice.dev/sluice/internal/flags/feed"
)

// eventTypeRefetch is the OFREP event that asks the provider to re-fetch
// its bulk evaluation.
const eventTypeRefetch = "refetchEvaluation"

// channelParam is the query parameter that carries a stream's channel token.
const channelParam = "channel"

// errBadChannel means a channel token is malformed or not signed by this
// handler's key.
var errBadChannel = errors.New("invalid event stream channel")

// eventData is the schema sseEventData.
type eventData struct {
	Type string `json:"type"`
	ETag string `json:"etag,omitempty"`
}

// streamFor is the event stream advertised to a client of env.
func (h *Handler) streamFor(env string) eventStream {
	uri := EventsPath + "?" + channelParam + "=" + url.QueryEscape(h.channelToken(env))
	if h.cfg.streamOrigin != "" {
		return eventStream{Type: "sse", URL: h.cfg.streamOrigin + uri}
	}
	return eventStream{Type: "sse", Endpoint: &streamEndpoint{RequestURI: uri}}
}

// channelToken signs env: base64url(env) "." base64url(HMAC-SHA256(key,
// env) truncated to 128 bits).
func (h *Handler) channelToken(env string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(env)) + "." +
		base64.RawURLEncoding.EncodeToString(h.channelMAC(env))
}

// channelMAC is the signature part of env's channel token.
func (h *Handler) channelMAC(env string) []byte {
	mac := hmac.New(sha256.New, h.cfg.streamKey)
	mac.Write([]byte("ofrep-events\x00"))
	mac.Write([]byte(env))
	return mac.Sum(nil)[:16]
}

// channelEnv returns the environment a channel token was signed for.
func (h *Handler) channelEnv(token string) (string, error) {
	encEnv, encMAC, ok := strings.Cut(token, ".")
	if !ok {
		return "", errBadChannel
	}
	env, err := base64.RawURLEncoding.DecodeString(encEnv)
	if err != nil {
		return "", errBadChannel
	}
	sig, err := base64.RawURLEncoding.DecodeString(encMAC)
	if err != nil || !hmac.Equal(sig, h.channelMAC(string(env))) {
		return "", errBadChannel
	}
	return string(env), nil
}

// streamEnv authenticates an event-stream request: by its channel token
// when it has one, else by the Authenticate function.
func (h *Handler) streamEnv(r *http.Request) (string, error) {
	if token := r.URL.Query().Get(channelParam); token != "" {
		env, err := h.channelEnv(token)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
		}
		return env, nil
	}
	return h.auth(r)
}

// serveEvents answers GET /ofrep/v1/events with a server-sent event stream
// that sends refetchEvaluation each time the environment's flags change,
// until the client leaves or CloseStreams is called.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	env, err := h.streamEnv(r)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	if !h.allow(w, r, env) {
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	changes := h.src.Subscribe(ctx, env)
	snap, _ := h.src.Current(env)

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}

	s := &eventWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.writeTimeout}
	s.printf("retry: %d\n\n", h.cfg.retry.Milliseconds())
	if last := r.Header.Get("Last-Event-ID"); last != "" && last != snap.Version {
		s.refetch(snap.Version)
	}
	if s.flush() != nil {
		return
	}
	h.pump(ctx, s, changes)
}

// pump forwards changes to s, with keep-alive comments between them, until
// the stream must end.
func (h *Handler) pump(ctx context.Context, s *eventWriter, changes <-chan feed.Change) {
	keepAlive := time.NewTicker(h.cfg.keepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.stop:
			return
		case c, ok := <-changes:
			if !ok {
				return
			}
			s.refetch(c.Version)
		case <-keepAlive.C:
			s.printf(": keep-alive\n\n")
		}
		if s.flush() != nil {
			return
		}
	}
}

// eventWriter writes server-sent events, each write bounded by a deadline.
// It remembers the first error; later writes are skipped.
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

// refetch writes a refetchEvaluation event for version.
func (s *eventWriter) refetch(version string) {
	data, _ := json.Marshal(eventData{Type: eventTypeRefetch, ETag: version})
	if version != "" && !strings.ContainsAny(version, "\r\n\x00") {
		s.printf("id: %s\n", version)
	}
	s.printf("event: message\ndata: %s\n\n", data)
}

// printf writes formatted text to the stream.
func (s *eventWriter) printf(format string, args ...any) {
	if s.err != nil {
		return
	}
	s.deadline()
	_, s.err = fmt.Fprintf(s.w, format, args...)
}

// flush sends what was written to the client.
func (s *eventWriter) flush() error {
	if s.err != nil {
		return s.err
	}
	s.deadline()
	s.err = s.rc.Flush()
	return s.err
}

// deadline bounds the next write. Writers without deadlines (a test
// recorder) are written without one.
func (s *eventWriter) deadline() {
	err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
}
