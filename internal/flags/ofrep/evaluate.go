package ofrep

import (
	"encoding/json"
	"net/http"
	"time"

	"sluice.dev/sluice/internal/flags"
)

// serveFlag answers POST /ofrep/v1/evaluate/flags/{key}: one flag for one
// context. 200 with the value, 404 when the flag does not exist, 400 when
// the request or the evaluation fails.
func (h *Handler) serveFlag(w http.ResponseWriter, r *http.Request) {
	defer h.recoverEvaluation(w, r)
	key := r.PathValue("key")
	env, ok := h.admit(w, r)
	if !ok {
		return
	}
	evalCtx, reqErr := h.readContext(w, r)
	if reqErr != nil {
		writeJSON(w, http.StatusBadRequest, evaluation{
			Key: key, ErrorCode: string(reqErr.code), ErrorDetails: reqErr.details,
		})
		return
	}

	snap, _ := h.src.Current(env)
	if snap.Set == nil {
		h.observe(env, flags.Evaluation{Key: key, Reason: flags.ReasonError, ErrorCode: flags.ErrorFlagNotFound})
		writeJSON(w, http.StatusNotFound, notFound(key, ""))
		return
	}
	ev := snap.Set.Evaluate(key, evalCtx, h.cfg.now())
	h.observe(env, ev)
	switch {
	case ev.ErrorCode == flags.ErrorFlagNotFound:
		writeJSON(w, http.StatusNotFound, notFound(key, ev.ErrorMessage))
	case ev.Reason == flags.ReasonError || ev.ErrorCode != flags.ErrorNone:
		writeJSON(w, http.StatusBadRequest, toWire(ev))
	default:
		writeJSON(w, http.StatusOK, toWire(ev))
	}
}

// serveBulk answers POST /ofrep/v1/evaluate/flags: every flag of the
// environment for one context, with an ETag, 304 when If-None-Match holds
// it, and the event stream that announces changes.
func (h *Handler) serveBulk(w http.ResponseWriter, r *http.Request) {
	defer h.recoverEvaluation(w, r)
	env, ok := h.admit(w, r)
	if !ok {
		return
	}
	evalCtx, reqErr := h.readContext(w, r)
	if reqErr != nil {
		writeJSON(w, http.StatusBadRequest, bulkFailure{ErrorCode: string(reqErr.code), ErrorDetails: reqErr.details})
		return
	}
	canonical, err := json.Marshal(evalCtx)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, bulkFailure{
			ErrorCode: string(flags.ErrorInvalidContext), ErrorDetails: "context cannot be encoded: " + err.Error(),
		})
		return
	}

	snap, _ := h.src.Current(env)
	tag := bulkETag(env, snap.Version, canonical)
	w.Header().Set("ETag", tag)
	if etagMatches(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}

	resp := bulkSuccess{
		Flags:        h.evaluateAll(env, snap.Set, evalCtx, h.cfg.now()),
		EventStreams: []eventStream{h.streamFor(env)},
	}
	if snap.Set != nil {
		resp.Metadata = scalarMetadata(snap.Set.Metadata())
	}
	writeJSON(w, http.StatusOK, resp)
}

// evaluateAll evaluates every flag of set, which may be nil, in key order.
func (h *Handler) evaluateAll(env string, set *flags.Set, evalCtx map[string]any, now time.Time) []evaluation {
	if set == nil {
		return []evaluation{}
	}
	all := set.EvaluateAll(evalCtx, now)
	out := make([]evaluation, len(all))
	for i, ev := range all {
		h.observe(env, ev)
		out[i] = toWire(ev)
	}
	return out
}

// observe reports an evaluation to the OnEvaluate callback, if any.
func (h *Handler) observe(env string, ev flags.Evaluation) {
	if h.cfg.onEvaluate != nil {
		h.cfg.onEvaluate(env, ev.Key, ev.Variant, ev.Reason)
	}
}
