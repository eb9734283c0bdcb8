package api

import (
	"fmt"
	"io"
	"net/http"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// kindOf maps a collection path segment to a kind.
func kindOf(segment string) (string, bool) {
	switch segment {
	case "apps":
		return spec.KindApp, true
	case "analysistemplates":
		return spec.KindAnalysisTemplate, true
	case "flagsets":
		return spec.KindFlagSet, true
	}
	return "", false
}

// kindParam resolves {kind}, answering 404 for unknown collections.
func (a *API) kindParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	kind, ok := kindOf(r.PathValue("kind"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, fmt.Sprintf("no such collection %q (apps, analysistemplates, flagsets)", r.PathValue("kind")), nil)
	}
	return kind, ok
}

func toWire(o store.Object) apiv1.Object {
	return apiv1.Object{
		APIVersion: apiv1.APIVersion, Kind: o.Kind, Spec: o.Spec, Status: o.Status,
		Metadata: apiv1.Metadata{
			Name: o.Name, Labels: o.Labels, ResourceVersion: o.ResourceVersion, Generation: o.Generation,
			CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		},
	}
}

// readDocuments reads and decodes a request body of YAML or JSON documents.
func readDocuments(r *http.Request) ([]spec.Document, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	docs, err := spec.Decode(body)
	if err != nil {
		return nil, err
	}
	return docs, checkTemplates(docs)
}

// checkTemplates compiles every analysis template's conditions against its
// provider's variables, so that a misspelt field is refused when the
// template is applied rather than when a rollout first runs it.
func checkTemplates(docs []spec.Document) error {
	ve := &spec.ValidationError{}
	for _, d := range docs {
		for _, p := range analysis.Check(d.AnalysisTemplate) {
			if len(docs) > 1 {
				p.Resource = d.ID()
			}
			ve.Problems = append(ve.Problems, p)
		}
	}
	if len(ve.Problems) > 0 {
		return ve
	}
	return nil
}

func (a *API) apply(w http.ResponseWriter, r *http.Request) {
	docs, err := readDocuments(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.opts.Resources.Apply(r.Context(), docs, actor(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) put(w http.ResponseWriter, r *http.Request) {
	kind, ok := a.kindParam(w, r)
	if !ok {
		return
	}
	docs, err := readDocuments(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	name := r.PathValue("name")
	if len(docs) != 1 || docs[0].Kind != kind || docs[0].Metadata.Name != name {
		a.writeError(w, r, &spec.ValidationError{Problems: []spec.FieldError{{
			Message: fmt.Sprintf("the body must be exactly one %s named %q", kind, name)}}})
		return
	}
	res, err := a.opts.Resources.Apply(r.Context(), docs, actor(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Resources[0].Action == apiv1.ActionCreated {
		status = http.StatusCreated
	}
	writeJSON(w, status, res.Resources[0])
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	kind, ok := a.kindParam(w, r)
	if !ok {
		return
	}
	objs, err := a.opts.Resources.List(r.Context(), kind)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.ObjectList{Items: make([]apiv1.Object, 0, len(objs))}
	for _, o := range objs {
		out.Items = append(out.Items, toWire(o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	kind, ok := a.kindParam(w, r)
	if !ok {
		return
	}
	o, err := a.opts.Resources.Get(r.Context(), kind, r.PathValue("name"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWire(o))
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	kind, ok := a.kindParam(w, r)
	if !ok {
		return
	}
	if err := a.opts.Resources.Delete(r.Context(), kind, r.PathValue("name"), actor(r)); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) revisions(w http.ResponseWriter, r *http.Request) {
	revs, err := a.opts.Resources.Revisions(r.Context(), r.PathValue("name"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.RevisionList{Items: make([]apiv1.Revision, 0, len(revs))}
	for _, rv := range revs {
		out.Items = append(out.Items, apiv1.Revision{App: rv.App, Number: rv.Number, Version: rv.Version,
			Workload: rv.Workload, Cause: rv.Cause, CreatedAt: rv.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}
