package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"sluice.dev/sluice/internal/audit"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/rollout"
	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// errForbidden means the caller's role does not allow the action.
var errForbidden = errors.New("forbidden")

// errNotConfigured means the route's feature is not set up on this server.
var errNotConfigured = errors.New("not configured")

// statusOf maps an error to its HTTP status: the one place that does.
func statusOf(err error) int {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, auth.ErrThrottled):
		return http.StatusTooManyRequests
	case errors.Is(err, errNotConfigured):
		return http.StatusNotFound
	case errors.Is(err, secrets.ErrInvalid), errors.Is(err, audit.ErrBadSince):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists), errors.Is(err, rollout.ErrRefused):
		return http.StatusConflict
	case errors.Is(err, rollout.ErrUnknownAction):
		return http.StatusNotFound
	}
	if _, ok := spec.AsValidationError(err); ok {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeError answers with the problem err stands for. Internal errors are
// logged and answered without their details.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	detail := err.Error()
	var fields []apiv1.FieldError
	if ve, ok := spec.AsValidationError(err); ok {
		detail = "the request is invalid; nothing was changed"
		for _, p := range ve.Problems {
			fields = append(fields, apiv1.FieldError{Resource: p.Resource, Field: p.Path, Message: p.Message})
		}
	}
	if status == http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "request failed", append(requestAttrs(r), "error", err)...)
		detail = "internal error; see the server log for request " + requestID(r)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
	}
	writeProblem(w, r, status, detail, fields)
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string, fields []apiv1.FieldError) {
	p := apiv1.Problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: r.URL.Path, RequestID: requestID(r), Errors: fields,
	}
	w.Header().Set("Content-Type", apiv1.ProblemContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p) // the client may be gone; nothing to do
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
