package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

func wireToken(t store.Token) apiv1.Token {
	return apiv1.Token{ID: t.ID, Name: t.Name, Role: t.Role, Env: t.Env, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req apiv1.TokenRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.writeError(w, r, &spec.ValidationError{Problems: []spec.FieldError{{Message: "the body must be a JSON token request: " + err.Error()}}})
		return
	}
	nt, problems := auth.CheckNewToken(req.Name, req.Role, req.Env, req.ExpiresIn)
	if len(problems) > 0 {
		fields := make([]string, 0, len(problems))
		for f := range problems {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		ve := &spec.ValidationError{}
		for _, f := range fields {
			ve.Problems = append(ve.Problems, spec.FieldError{Path: f, Message: problems[f]})
		}
		a.writeError(w, r, ve)
		return
	}
	secret, tok, err := a.opts.Tokens.Create(r.Context(), nt)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.record(r, "", "TokenCreated", fmt.Sprintf("token %q (%s) created by %s", tok.Name, tok.Role, actor(r)))
	writeJSON(w, http.StatusCreated, apiv1.TokenCreated{Token: wireToken(tok), Secret: secret})
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := a.opts.Tokens.List(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.TokenList{Items: make([]apiv1.Token, 0, len(list))}
	for _, t := range list {
		out.Items = append(out.Items, wireToken(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	tok, err := a.opts.Tokens.Revoke(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.record(r, "", "TokenRevoked", fmt.Sprintf("token %q revoked by %s", tok.Name, actor(r)))
	w.WriteHeader(http.StatusNoContent)
}

// record appends an event; failing to record does not fail the request
// that already happened, but is logged.
func (a *API) record(r *http.Request, app, reason, msg string) {
	if err := a.opts.Resources.Record(r.Context(), store.Event{App: app, Reason: reason, Message: msg}); err != nil {
		a.log.ErrorContext(r.Context(), "record event", append(requestAttrs(r), "reason", reason, "error", err)...)
	}
}
