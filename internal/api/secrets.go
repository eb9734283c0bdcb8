package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
)

// SecretStore keeps versioned, sealed key/values; *secrets.Service is the
// implementation.
type SecretStore interface {
	Put(ctx context.Context, path string, data map[string]string, actor string) (secrets.Version, error)
	Get(ctx context.Context, path string, version int64) (secrets.Secret, error)
	List(ctx context.Context) ([]secrets.Info, error)
	Versions(ctx context.Context, path string) (secrets.Info, []secrets.Version, error)
	Rollback(ctx context.Context, path string, version int64, actor string) (secrets.Version, error)
	Delete(ctx context.Context, path string) error
}

// MasterKeyRotator replaces the master key and re-wraps every data key
// under the new one; the server implements it, as it knows where the key
// is kept.
type MasterKeyRotator interface {
	RotateMasterKey(ctx context.Context) (apiv1.MasterKeyRotation, error)
}

// Mask stands in for every secret value shown to whoever may not see it.
const Mask = "********"

// errNoSecrets answers secret routes on a server that keeps none.
var errNoSecrets = fmt.Errorf("this server keeps no secrets: %w", errNotConfigured)

func (a *API) secretRoutes() []Route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []Route{
		{"GET /api/v1/secrets", auth.PermRead, h(a.listSecrets)},
		{"GET /api/v1/secrets/metadata", auth.PermRead, h(a.secretMetadata)},
		{"DELETE /api/v1/secrets/metadata", auth.PermAdmin, h(a.deleteSecret)},
		{"GET /api/v1/secrets/data", auth.PermAdmin, h(a.readSecret)},
		{"PUT /api/v1/secrets/data", auth.PermAdmin, h(a.putSecret)},
		{"POST /api/v1/secrets/rollback", auth.PermAdmin, h(a.rollbackSecret)},
		{"POST /api/v1/secrets/rotate-master-key", auth.PermAdmin, h(a.rotateMasterKey)},
	}
}

// secretPath is the ?path= of a secret route. Paths hold slashes, so they
// travel in the query rather than the route, whose wildcards would collide
// with the resource routes.
func secretPath(r *http.Request) string { return r.URL.Query().Get("path") }

// invalidField is a 400 about one field of the request.
func invalidField(field, msg string) error {
	return &spec.ValidationError{Problems: []spec.FieldError{{Path: field, Message: msg}}}
}

// secretError turns the secrets package's validation problems into the
// API's field errors; other errors pass as they are.
func secretError(err error) error {
	var ie *secrets.InvalidError
	if !errors.As(err, &ie) {
		return err
	}
	ve := &spec.ValidationError{}
	for _, p := range ie.Problems {
		ve.Problems = append(ve.Problems, spec.FieldError{Path: p.Field, Message: p.Message})
	}
	return ve
}

// secretVersionParam reads ?version=, 0 when absent.
func secretVersionParam(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("version")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, invalidField("version", fmt.Sprintf("%q is not a version number (1, 2, …)", s))
	}
	return v, nil
}

func wireSecretVersion(v secrets.Version) apiv1.SecretVersion {
	return apiv1.SecretVersion{Version: v.Version, CreatedAt: v.CreatedAt, Actor: v.Actor, RestoredFrom: v.RestoredFrom}
}

func wireSecretInfo(i secrets.Info) apiv1.SecretInfo {
	return apiv1.SecretInfo{Path: i.Path, LatestVersion: i.Latest, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt}
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) {
	if a.opts.Secrets == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	list, err := a.opts.Secrets.List(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.SecretList{Items: make([]apiv1.SecretInfo, 0, len(list))}
	for _, i := range list {
		out.Items = append(out.Items, wireSecretInfo(i))
	}
	writeJSON(w, http.StatusOK, out)
}

// secretMetadata describes a secret: its versions, and the keys of one
// version (?version=, else the newest) with every value masked.
func (a *API) secretMetadata(w http.ResponseWriter, r *http.Request) {
	if a.opts.Secrets == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	version, err := secretVersionParam(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	path := secretPath(r)
	info, versions, err := a.opts.Secrets.Versions(r.Context(), path)
	if err != nil {
		a.writeError(w, r, secretError(err))
		return
	}
	sec, err := a.opts.Secrets.Get(r.Context(), path, version)
	if err != nil {
		a.writeError(w, r, secretError(err))
		return
	}
	keys := sec.Keys()
	clear(sec.Data)
	out := apiv1.SecretMetadata{SecretInfo: wireSecretInfo(info), Versions: make([]apiv1.SecretVersion, 0, len(versions)),
		Secret: apiv1.Secret{Path: path, SecretVersion: wireSecretVersion(sec.Version), Masked: true, Data: map[string]string{}}}
	for _, v := range versions {
		out.Versions = append(out.Versions, wireSecretVersion(v))
	}
	for _, k := range keys {
		out.Secret.Data[k] = Mask
	}
	writeJSON(w, http.StatusOK, out)
}

// readSecret answers one version's values; admins only, and audited.
func (a *API) readSecret(w http.ResponseWriter, r *http.Request) {
	if a.opts.Secrets == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	version, err := secretVersionParam(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sec, err := a.opts.Secrets.Get(r.Context(), secretPath(r), version)
	if err != nil {
		a.writeError(w, r, secretError(err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, apiv1.Secret{Path: sec.Path, SecretVersion: wireSecretVersion(sec.Version), Data: sec.Data})
}

// decodeJSON reads a JSON body into v, refusing unknown fields and
// trailing data.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return invalidField("", "the body must be a JSON object of this request: "+jsonProblem(err))
	}
	if dec.More() {
		return invalidField("", "the body must hold one JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the input, which
// may hold a secret value.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s must be %s, got %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	}
	return err.Error() // unknown fields: the message names the field only
}

func (a *API) putSecret(w http.ResponseWriter, r *http.Request) {
	if a.opts.Secrets == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	var req apiv1.SecretWrite
	if err := decodeJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	path := secretPath(r)
	v, err := a.opts.Secrets.Put(r.Context(), path, req.Data, actor(r))
	clear(req.Data)
	if err != nil {
		a.writeError(w, r, secretError(err))
		return
	}
	a.record(r, "", "SecretWritten", fmt.Sprintf("secret %q version %d written by %s", path, v.Version, actor(r)))
	out := wireSecretVersion(v)
	out.Rollouts = a.rollOutSecretChange(r)
	writeJSON(w, http.StatusOK, out)
}

func (a *API) rollbackSecret(w http.ResponseWriter, r *http.Request) {
	if a.opts.Secrets == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	var req apiv1.SecretRollback
	if err := decodeJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	path := secretPath(r)
	v, err := a.opts.Secrets.Rollback(r.Context(), path, req.Version, actor(r))
	if err != nil {
		a.writeError(w, r, secretError(err))
		return
	}
	a.record(r, "", "SecretRolledBack", fmt.Sprintf("secret %q version %d restores version %d, by %s", path, v.Version, req.Version, actor(r)))
	out := wireSecretVersion(v)
	out.Rollouts = a.rollOutSecretChange(r)
	writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) {
	if a.opts.Secrets == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	path := secretPath(r)
	if err := a.opts.Secrets.Delete(r.Context(), path); err != nil {
		a.writeError(w, r, secretError(err))
		return
	}
	a.record(r, "", "SecretRemoved", fmt.Sprintf("secret %q and all its versions removed by %s", path, actor(r)))
	a.rollOutSecretChange(r)
	w.WriteHeader(http.StatusNoContent)
}

// secretRolloutTimeout bounds making the revisions a secret change calls
// for, which goes on when the caller hangs up.
const secretRolloutTimeout = 10 * time.Second

// rollOutSecretChange makes the revisions a secret change calls for, in
// apps with rolloutOnSecretChange, and returns them. The secret is already
// changed, so a failure here does not fail the call: it is logged, and the
// next secret change or the server's next start makes the revisions
// (resources.RollOutSecretChanges looks at every app and is idempotent).
func (a *API) rollOutSecretChange(r *http.Request) []apiv1.SecretRollout {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), secretRolloutTimeout)
	defer cancel()
	made, err := a.opts.Resources.RollOutSecretChanges(ctx, requestID(r))
	if err != nil {
		a.log.ErrorContext(ctx, "secret changed, but the apps that follow it were not rolled out yet",
			append(requestAttrs(r), "path", secretPath(r), "error", err)...)
		return nil
	}
	var out []apiv1.SecretRollout
	for _, m := range made {
		out = append(out, apiv1.SecretRollout{App: m.App, Revision: m.Revision})
	}
	return out
}

func (a *API) rotateMasterKey(w http.ResponseWriter, r *http.Request) {
	if a.opts.MasterKey == nil {
		a.writeError(w, r, errNoSecrets)
		return
	}
	res, err := a.opts.MasterKey.RotateMasterKey(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.record(r, "", "MasterKeyRotated", fmt.Sprintf("master key rotated to %s by %s: %d data keys re-wrapped", res.KeyID, actor(r), res.Rewrapped))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, res)
}
