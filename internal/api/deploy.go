package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// deployAttempts bounds how often a deploy re-reads the app when the app
// changed between its read and its write (the rollout controller writes
// statuses often).
const deployAttempts = 10

// deploy makes a new revision of an app from its current spec with the
// changes asked for (env, command, version label), as if the changed spec
// were applied. It answers what the apply did, the revision the app rolls
// out now, and the app's status.
func (a *API) deploy(w http.ResponseWriter, r *http.Request) {
	var req apiv1.DeployRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.writeError(w, r, &spec.ValidationError{Problems: []spec.FieldError{{Message: "the body must be a JSON deploy request: " + err.Error()}}})
		return
	}
	name := r.PathValue("name")
	var applied apiv1.Applied
	var err error
	for range deployAttempts {
		if applied, err = a.deployOnce(r, name, req); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.opts.Resources.Get(r.Context(), spec.KindApp, name)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.DeployResult{Applied: applied, Revision: applied.Revision}
	if out.Status, err = appStatusOf(o); err != nil {
		a.writeError(w, r, err)
		return
	}
	if out.Revision == 0 {
		out.Revision = out.Status.LatestRevision
	}
	writeJSON(w, http.StatusOK, out)
}

// deployOnce reads the app, changes its spec and applies it, conditionally
// on the version it read.
func (a *API) deployOnce(r *http.Request, name string, req apiv1.DeployRequest) (apiv1.Applied, error) {
	o, err := a.opts.Resources.Get(r.Context(), spec.KindApp, name)
	if err != nil {
		return apiv1.Applied{}, err
	}
	var app spec.App
	if err := json.Unmarshal(o.Spec, &app); err != nil {
		return apiv1.Applied{}, fmt.Errorf("decode the spec of app %q: %w", name, err)
	}
	if err := changeApp(&app, req); err != nil {
		return apiv1.Applied{}, err
	}
	doc, err := json.Marshal(map[string]any{
		"apiVersion": spec.APIVersion, "kind": spec.KindApp, "spec": app,
		"metadata": spec.Metadata{Name: name, Labels: o.Labels, ResourceVersion: o.ResourceVersion},
	})
	if err != nil {
		return apiv1.Applied{}, fmt.Errorf("encode the spec of app %q: %w", name, err)
	}
	docs, err := spec.Decode(doc)
	if err != nil {
		return apiv1.Applied{}, err
	}
	res, err := a.opts.Resources.Apply(r.Context(), docs, actor(r))
	if err != nil {
		return apiv1.Applied{}, err
	}
	return res.Resources[0], nil
}

// changeApp applies a deploy request to an app's spec: env values are set
// or replaced by name, a command replaces the command and its args, a
// version replaces the label.
func changeApp(app *spec.App, req apiv1.DeployRequest) error {
	p := app.Runtime.Process
	if p == nil && (len(req.Env) > 0 || len(req.Command) > 0) {
		return &spec.ValidationError{Problems: []spec.FieldError{{Path: "env",
			Message: "env and command can only change apps with a process runtime"}}}
	}
	if len(req.Command) > 0 {
		p.Command, p.Args = slices.Clone(req.Command), nil
	}
	names := make([]string, 0, len(req.Env))
	for k := range req.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := spec.EnvVar{Name: k, Value: req.Env[k]}
		if i := slices.IndexFunc(p.Env, func(e spec.EnvVar) bool { return e.Name == k }); i >= 0 {
			p.Env[i] = v
		} else {
			p.Env = append(p.Env, v)
		}
	}
	if req.Version != "" {
		app.Version = strings.TrimSpace(req.Version)
	}
	return nil
}
