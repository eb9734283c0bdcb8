package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	"sluice.dev/sluice/internal/auth"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyIdentity
	keyAudit
)

// RequestIDHeader carries a request's ID in and out.
const RequestIDHeader = "X-Request-ID"

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

// IdentityFrom returns the authenticated caller of a request, if any.
func IdentityFrom(ctx context.Context) (auth.Identity, bool) {
	id, ok := ctx.Value(keyIdentity).(auth.Identity)
	return id, ok
}

func actor(r *http.Request) string {
	if id, ok := IdentityFrom(r.Context()); ok {
		return id.Name
	}
	return "anonymous"
}

// withRequestID keeps a sane incoming X-Request-ID or makes one.
func (a *API) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

// recoverPanics turns a panicking handler into a logged 500.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the server's own way to abort a response
			}
			a.log.ErrorContext(r.Context(), "panic in handler", append(requestAttrs(r),
				"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
			writeProblem(w, r, http.StatusInternalServerError, "internal error; see the server log for request "+requestID(r), nil)
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flushes, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// limitBody refuses bodies over limit bytes with 413.
func limitBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			writeProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit), nil)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// bodyLimit is the largest body the route with pattern reads: documents
// (apply, PUT) may be large flag sets; everything else is small.
func bodyLimit(pattern string) int64 {
	switch pattern {
	case "POST /api/v1/apply", "PUT /api/v1/{kind}/{name}":
		return MaxDocumentBytes
	}
	return MaxBodyBytes
}

// bearer extracts a presented secret from Authorization or X-API-Key.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

// authorize authenticates the caller and checks the route's permission.
func (a *API) authorize(perm auth.Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := bearer(r)
		if perm == auth.PermNone && secret == "" {
			next.ServeHTTP(w, r)
			return
		}
		if a.throttled(w, r) {
			return
		}
		id, err := a.opts.Auth.Authenticate(r.Context(), secret)
		if err != nil {
			a.authFailed(r, secret, err)
			if perm == auth.PermNone {
				next.ServeHTTP(w, r)
				return
			}
			a.writeError(w, r, err)
			return
		}
		noteIdentity(r, id)
		if !id.Role.Allows(perm) {
			a.writeError(w, r, fmt.Errorf("role %s may not %s: %w", id.Role, perm, errForbidden))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyIdentity, id)))
	})
}
