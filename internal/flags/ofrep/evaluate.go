package ofrep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// requestError is why a request body was refused: an OFREP error code and
// details for the client.
type requestError struct {
	code    flags.ErrorCode
	details string
}

// readContext reads r's body, at most maxBody bytes, and decodes the
// evaluation context from it.
func (h *Handler) readContext(w http.ResponseWriter, r *http.Request) (map[string]any, *requestError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &requestError{flags.ErrorParse, fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)}
		}
		return nil, &requestError{flags.ErrorParse, "request body could not be read"}
	}
	return decodeRequest(body, h.cfg.maxDepth)
}

// decodeRequest decodes an OFREP evaluation request, {"context": {...}},
// and returns its context. It refuses, without decoding, a body nested
// deeper than maxDepth.
func decodeRequest(body []byte, maxDepth int) (map[string]any, *requestError) {
	if len(body) == 0 {
		return nil, &requestError{flags.ErrorParse, "request body is empty; want a JSON object with a context"}
	}
	if depth, ok := nestingWithin(body, maxDepth); !ok {
		return nil, &requestError{flags.ErrorInvalidContext,
			fmt.Sprintf("request body nests deeper than %d levels (at least %d)", maxDepth, depth)}
	}
	var req struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, classifyDecodeError(err)
	}
	if req.Context == nil {
		return nil, &requestError{flags.ErrorInvalidContext, "context is required and must be a JSON object"}
	}
	if tk := req.Context["targetingKey"]; tk != nil {
		if _, isString := tk.(string); !isString {
			return nil, &requestError{flags.ErrorInvalidContext, "context.targetingKey must be a string"}
		}
	}
	return req.Context, nil
}

// classifyDecodeError maps a json.Unmarshal error of the request body to
// the code the client should see.
func classifyDecodeError(err error) *requestError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return &requestError{flags.ErrorParse, fmt.Sprintf("request body is a JSON %s; want an object", typeErr.Value)}
		}
		return &requestError{flags.ErrorInvalidContext, fmt.Sprintf("context is a JSON %s; want an object", typeErr.Value)}
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return &requestError{flags.ErrorParse, fmt.Sprintf("request body is not valid JSON at byte %d: %v", syntaxErr.Offset, err)}
	}
	return &requestError{flags.ErrorParse, fmt.Sprintf("request body is not valid JSON: %v", err)}
}

// nestingWithin reports whether the JSON text in data nests objects and
// arrays at most max levels deep. It scans once, without recursion, and
// stops at the first level past max; depth is the deepest level seen.
// Brackets inside strings do not count. Malformed text is left for the
// decoder to reject.
func nestingWithin(data []byte, max int) (depth int, ok bool) {
	level := 0
	inString := false
	escaped := false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			level++
			if level > depth {
				depth = level
			}
			if level > max {
				return depth, false
			}
		case '}', ']':
			level--
			if level < 0 {
				// Unbalanced: not JSON, and the decoder will say so.
				return depth, true
			}
		}
	}
	return depth, true
}
