package ofrep

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"sluice.dev/sluice/internal/flags/feed"
)

// Paths the handler serves. Mount the handler at PathPrefix.
const (
	// PathPrefix is the root of every OFREP path.
	PathPrefix = "/ofrep/v1/"
	// FlagsPath is the bulk evaluation path; a single flag is FlagsPath/{key}.
	FlagsPath = "/ofrep/v1/evaluate/flags"
	// EventsPath is the server-sent events stream of flag changes.
	EventsPath = "/ofrep/v1/events"
)

// Errors an Authenticate function returns, possibly wrapped, to choose the
// answer. Any other error answers 500.
var (
	// ErrUnauthenticated means the request carries no valid credentials:
	// 401 Unauthorized.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means the credentials are valid but may not read flags:
	// 403 Forbidden.
	ErrForbidden = errors.New("forbidden")
)

// Authenticate returns the environment whose flags the request may read,
// typically from an SDK key in "Authorization: Bearer" or "X-API-Key". It
// returns an error wrapping ErrUnauthenticated or ErrForbidden to refuse.
// It must be safe for concurrent use.
type Authenticate func(r *http.Request) (env string, err error)

// Source supplies the flag sets the handler evaluates and tells it when they
// change. *feed.Feed satisfies it.
type Source interface {
	// Current returns the environment's flag set and version, and false when
	// the environment has none (it is then answered as an empty set).
	Current(env string) (feed.Snapshot, bool)
	// Subscribe notifies of the environment's changes until ctx ends, then
	// closes the channel.
	Subscribe(ctx context.Context, env string) <-chan feed.Change
}

// Handler serves OFREP under PathPrefix. Create it with NewHandler.
type Handler struct {
	src  Source
	auth Authenticate
	cfg  config
	mux  *http.ServeMux

	// stop is closed by CloseStreams to end every event stream.
	stop     chan struct{}
	stopOnce sync.Once
}

// NewHandler returns a Handler that evaluates flags from src for the
// environment auth assigns to each request. It panics when src or auth is
// nil, or when no random stream key can be drawn.
func NewHandler(src Source, auth Authenticate, opts ...Option) *Handler {
	if src == nil || auth == nil {
		panic("ofrep: NewHandler needs a Source and an Authenticate")
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.streamKey == nil {
		cfg.streamKey = make([]byte, 32)
		if _, err := rand.Read(cfg.streamKey); err != nil {
			panic(fmt.Sprintf("ofrep: draw stream key: %v", err))
		}
	}
	h := &Handler{src: src, auth: auth, cfg: cfg, stop: make(chan struct{})}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST "+FlagsPath, h.serveBulk)
	h.mux.HandleFunc("POST "+FlagsPath+"/{key...}", h.serveFlag)
	h.mux.HandleFunc("GET "+EventsPath, h.serveEvents)
	return h
}

// ServeHTTP routes OFREP requests. Unknown paths answer 404 and wrong
// methods 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cors(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// CloseStreams ends every open event stream and makes new ones end at once.
// Evaluations are unaffected. It is safe to call more than once; pass it to
// http.Server.RegisterOnShutdown.
func (h *Handler) CloseStreams() {
	h.stopOnce.Do(func() { close(h.stop) })
}

// admit authenticates r and applies the limiter. When the request may not
// proceed it writes the answer and returns false.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	env, err := h.auth(r)
	if err != nil {
		h.refuse(w, r, err)
		return "", false
	}
	return env, h.allow(w, r, env)
}

// allow applies the limiter to an authenticated request, answering 429 when
// it refuses.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, env string) bool {
	if h.cfg.limiter == nil {
		return true
	}
	after, ok := h.cfg.limiter(r, env)
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(after)))
	writeJSON(w, http.StatusTooManyRequests, generalError{ErrorDetails: "rate limit exceeded"})
	return false
}

// refuse answers an authentication error: 401, 403, or 500 for anything
// the Authenticate function did not classify.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="ofrep"`)
		writeJSON(w, http.StatusUnauthorized, generalError{ErrorDetails: "missing or invalid credentials"})
	case errors.Is(err, ErrForbidden):
		writeJSON(w, http.StatusForbidden, generalError{ErrorDetails: "credentials may not read flags"})
	default:
		h.cfg.logger.ErrorContext(r.Context(), "ofrep: authenticate", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, generalError{ErrorDetails: "authentication failed"})
	}
}

// recoverEvaluation turns a panic in an evaluation into a 500 answer, so a
// faulty flag set cannot drop the client's connection. Call it deferred.
func (h *Handler) recoverEvaluation(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	h.cfg.logger.ErrorContext(r.Context(), "ofrep: evaluation panicked", "path", r.URL.Path, "panic", fmt.Sprint(v))
	writeJSON(w, http.StatusInternalServerError, generalError{ErrorDetails: "internal error while evaluating flags"})
}

// cors adds CORS headers for allowed origins and answers preflight
// requests. It returns true when it wrote the whole answer.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(h.cfg.allowedOrigins) == 0 {
		return false
	}
	w.Header().Add("Vary", "Origin")
	if !slices.Contains(h.cfg.allowedOrigins, "*") && !slices.Contains(h.cfg.allowedOrigins, origin) {
		return false
	}
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Expose-Headers", "ETag, Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	hdr.Set("Access-Control-Allow-Methods", "GET, POST")
	hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, If-None-Match, Last-Event-ID")
	hdr.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// retrySeconds rounds a Retry-After delay up to whole seconds, at least one.
func retrySeconds(d time.Duration) int {
	s := math.Ceil(d.Seconds())
	if s < 1 {
		return 1
	}
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(s)
}
