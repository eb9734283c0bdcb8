package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
	"sluice.dev/sluice/internal/flags/ofrep"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// EnvironmentHeader names the environment an admin or deployer token
// evaluates over OFREP. SDK keys are bound to one environment and need no
// header; when they send one, it must name their own.
const EnvironmentHeader = "X-Sluice-Env"

// FlagSource is the live flag set of each environment, as OFREP serves it.
// *feed.Feed satisfies it.
type FlagSource interface {
	// Current returns the environment's flag set and its version, and false
	// when the environment has none.
	Current(env string) (feed.Snapshot, bool)
}

// OFREPRoutes mounts an OFREP handler (internal/flags/ofrep) beside the API,
// for Options.Extra. Evaluations need the evaluate permission, which the
// API's authentication checks; the handler then asks OFREPEnvironment which
// environment the caller reads. The event stream is declared PermNone
// because browsers' EventSource cannot send headers: the handler itself
// checks the signed channel token in its URL (which grants change
// notifications and nothing else), or, without one, an evaluate key as for
// evaluations.
func OFREPRoutes(h http.Handler) []Route {
	return []Route{
		{"POST " + ofrep.FlagsPath, auth.PermEvaluate, h},
		{"POST " + ofrep.FlagsPath + "/{key...}", auth.PermEvaluate, h},
		{"GET " + ofrep.EventsPath, auth.PermNone, h},
	}
}

// OFREPEnvironment is the ofrep.Authenticate function of the API: it
// returns the environment the request's authenticated token may evaluate.
// An sdk key evaluates the environment it is bound to; an admin or
// deployer token the one it names in EnvironmentHeader; anything else is
// refused.
func OFREPEnvironment(r *http.Request) (string, error) {
	id, ok := IdentityFrom(r.Context())
	if !ok {
		return "", ofrep.ErrUnauthenticated
	}
	asked := r.Header.Get(EnvironmentHeader)
	switch {
	case id.Role == auth.RoleSDK && (asked == "" || asked == id.Env):
		return id.Env, nil
	case id.Role == auth.RoleSDK:
		return "", fmt.Errorf("%w: the key of %q may not read %q", ofrep.ErrForbidden, id.Env, asked)
	case !id.Role.Allows(auth.PermEvaluate):
		return "", fmt.Errorf("%w: role %s may not evaluate flags", ofrep.ErrForbidden, id.Role)
	case asked == "":
		return "", fmt.Errorf("%w: a %s token must name the environment in %s", ofrep.ErrForbidden, id.Role, EnvironmentHeader)
	}
	return asked, nil
}

// evaluate answers POST /api/v1/flagsets/{name}/evaluate/{key}: one flag of
// the environment's live flag set, for the context in the body, as OFREP
// clients of that environment get it. 404 when the environment or the flag
// does not exist.
func (a *API) evaluate(w http.ResponseWriter, r *http.Request) {
	env, key := r.PathValue("name"), r.PathValue("key")
	req, err := readEvaluationRequest(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var snap feed.Snapshot
	if a.opts.Flags != nil {
		snap, _ = a.opts.Flags.Current(env)
	}
	if snap.Set == nil {
		a.writeError(w, r, fmt.Errorf("FlagSet %q is not served: %w", env, store.ErrNotFound))
		return
	}
	ev := snap.Set.Evaluate(key, req.Context, time.Now())
	if ev.ErrorCode == flags.ErrorFlagNotFound {
		a.writeError(w, r, fmt.Errorf("flag %q of FlagSet %q: %w", key, env, store.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, apiv1.FlagEvaluation{
		Key: key, Value: ev.Value, Variant: ev.Variant, Reason: string(ev.Reason),
		ErrorCode: string(ev.ErrorCode), ErrorMessage: ev.ErrorMessage, Metadata: ev.Metadata,
		FlagSetVersion: snap.Version,
	})
}

// readEvaluationRequest decodes {"context": {...}}; an empty body is an
// empty context.
func readEvaluationRequest(r *http.Request) (apiv1.EvaluationRequest, error) {
	var req apiv1.EvaluationRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return req, nil
	case errors.As(err, &tooBig):
		return req, err
	case err != nil:
		return req, &spec.ValidationError{Problems: []spec.FieldError{{
			Path: "context", Message: "the body must be {\"context\": {...}}, a JSON object: " + err.Error()}}}
	}
	return req, nil
}
