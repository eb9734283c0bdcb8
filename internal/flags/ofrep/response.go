package ofrep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"sluice.dev/sluice/internal/flags"
)

// OFREP reasons that have no constant in package flags.
const (
	reasonSplit   flags.Reason = "SPLIT"
	reasonUnknown flags.Reason = "UNKNOWN"
)

// evaluation is one flag's answer on the wire: the schemas
// evaluationSuccess (Reason set), evaluationFailure and flagNotFound
// (ErrorCode set).
type evaluation struct {
	Key          string         `json:"key"`
	Value        any            `json:"value,omitempty"`
	Reason       flags.Reason   `json:"reason,omitempty"`
	Variant      string         `json:"variant,omitempty"`
	ErrorCode    string         `json:"errorCode,omitempty"`
	ErrorDetails string         `json:"errorDetails,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
}

// bulkSuccess is the schema bulkEvaluationSuccess.
type bulkSuccess struct {
	Flags        []evaluation   `json:"flags"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	EventStreams []eventStream  `json:"eventStreams,omitempty"`
}

// bulkFailure is the schema bulkEvaluationFailure.
type bulkFailure struct {
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// generalError is the schema generalErrorResponse, also used for 401, 403
// and 429, for which the specification defines no body.
type generalError struct {
	ErrorDetails string `json:"errorDetails"`
}

// eventStream is the schema eventStream: exactly one of URL and Endpoint.
type eventStream struct {
	Type     string          `json:"type"`
	URL      string          `json:"url,omitempty"`
	Endpoint *streamEndpoint `json:"endpoint,omitempty"`
}

// streamEndpoint is the schema eventStreamEndpoint, without origin: the
// provider resolves RequestURI against its configured base URL.
type streamEndpoint struct {
	RequestURI string `json:"requestUri"`
}

// toWire converts an evaluation to its OFREP form. A failed evaluation
// becomes a failure; a successful one without a value omits "value".
func toWire(ev flags.Evaluation) evaluation {
	out := evaluation{Key: ev.Key, Metadata: scalarMetadata(ev.Metadata)}
	if ev.Reason == flags.ReasonError || ev.ErrorCode != flags.ErrorNone {
		out.ErrorCode = wireErrorCode(ev.ErrorCode)
		out.ErrorDetails = ev.ErrorMessage
		return out
	}
	out.Value = ev.Value
	out.Reason = wireReason(ev.Reason)
	out.Variant = ev.Variant
	return out
}

// notFound is the flagNotFound answer for key.
func notFound(key, details string) evaluation {
	if details == "" {
		details = "flag " + strconv.Quote(key) + " was not found"
	}
	return evaluation{Key: key, ErrorCode: string(flags.ErrorFlagNotFound), ErrorDetails: details}
}

// wireReason maps an evaluator reason to one OFREP allows.
func wireReason(r flags.Reason) flags.Reason {
	switch r {
	case flags.ReasonStatic, flags.ReasonTargetingMatch, flags.ReasonDisabled, reasonSplit:
		return r
	default:
		return reasonUnknown
	}
}

// wireErrorCode maps an evaluator error code to one OFREP allows in an
// evaluation failure.
func wireErrorCode(c flags.ErrorCode) string {
	switch c {
	case flags.ErrorParse, flags.ErrorTargetingKeyMissing, flags.ErrorInvalidContext, flags.ErrorGeneral:
		return string(c)
	default:
		return string(flags.ErrorGeneral)
	}
}

// scalarMetadata returns md without entries OFREP cannot carry (anything
// but booleans, strings and numbers). It returns md itself, unmodified,
// when every entry is allowed, which is the common case.
func scalarMetadata(md map[string]any) map[string]any {
	clean := true
	for _, v := range md {
		if !isScalar(v) {
			clean = false
			break
		}
	}
	if clean {
		return md
	}
	out := make(map[string]any, len(md))
	for k, v := range md {
		if isScalar(v) {
			out[k] = v
		}
	}
	return out
}

// isScalar reports whether v is a JSON boolean, string or number.
func isScalar(v any) bool {
	switch v.(type) {
	case bool, string, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return true
	default:
		return false
	}
}

// bulkETag is the strong entity tag of a bulk answer: a hash of the
// environment, the flag set's version and the context. canonicalContext
// must be the context's JSON with keys sorted, as json.Marshal writes it.
func bulkETag(env, version string, canonicalContext []byte) string {
	h := sha256.New()
	h.Write([]byte(env))
	h.Write([]byte{0})
	h.Write([]byte(version))
	h.Write([]byte{0})
	h.Write(canonicalContext)
	var sum [sha256.Size]byte
	return `"` + hex.EncodeToString(h.Sum(sum[:0])[:16]) + `"`
}

// etagMatches reports whether an If-None-Match header lists tag. Weak tags
// match their strong form, as RFC 9110's weak comparison says; "*" is not
// honoured.
func etagMatches(header, tag string) bool {
	for header != "" {
		var candidate string
		candidate, header, _ = strings.Cut(header, ",")
		candidate = strings.TrimSpace(candidate)
		candidate = strings.TrimPrefix(candidate, "W/")
		if candidate == tag {
			return true
		}
	}
	return false
}

// writeJSON writes v as the JSON body of a status answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"errorDetails":"the answer could not be encoded"}`)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
