package api

import (
	"fmt"
	"net/http"
	"strconv"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// Bounds of a history page.
const (
	// defaultHistoryLimit is how many entries a history answer holds when
	// the request sets no limit.
	defaultHistoryLimit = 100
	// maxHistoryLimit is the most entries one answer holds.
	maxHistoryLimit = 1000
)

func wireHistory(h store.HistoryEntry) apiv1.HistoryEntry {
	return apiv1.HistoryEntry{Kind: h.Kind, Name: h.Name, Version: h.Version, ResourceVersion: h.ResourceVersion,
		Action: h.Action, Spec: h.Spec, Actor: h.Actor, Time: h.Time}
}

// history answers GET /api/v1/{kind}/{name}/history?limit=: the newest
// entries of a resource's history, oldest first, each with its spec. A
// deleted resource keeps its history.
func (a *API) history(w http.ResponseWriter, r *http.Request) {
	kind, ok := a.kindParam(w, r)
	if !ok {
		return
	}
	limit, err := historyLimit(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list, err := a.opts.Resources.History(r.Context(), kind, r.PathValue("name"), limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.HistoryList{Items: make([]apiv1.HistoryEntry, 0, len(list))}
	for _, h := range list {
		out.Items = append(out.Items, wireHistory(h))
	}
	writeJSON(w, http.StatusOK, out)
}

// historyVersion answers GET /api/v1/{kind}/{name}/history/{version}: one
// entry, the spec to apply to revert to it.
func (a *API) historyVersion(w http.ResponseWriter, r *http.Request) {
	kind, ok := a.kindParam(w, r)
	if !ok {
		return
	}
	version, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || version < 1 {
		a.writeError(w, r, &spec.ValidationError{Problems: []spec.FieldError{{
			Path: "version", Message: fmt.Sprintf("%q is not a version (1, 2, 3 …)", r.PathValue("version"))}}})
		return
	}
	h, err := a.opts.Resources.HistoryVersion(r.Context(), kind, r.PathValue("name"), version)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireHistory(h))
}

// historyLimit reads ?limit=, between 1 and maxHistoryLimit.
func historyLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return defaultHistoryLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxHistoryLimit {
		return 0, &spec.ValidationError{Problems: []spec.FieldError{{
			Path: "limit", Message: fmt.Sprintf("%q must be a whole number from 1 to %d", raw, maxHistoryLimit)}}}
	}
	return n, nil
}
