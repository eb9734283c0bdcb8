package ofrep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"sluice.dev/sluice/internal/flags"
)

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
