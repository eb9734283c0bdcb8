package proxy

import "bytes"

// appendOutbound appends the head of the request an event loop sends an
// instance, as the net/http path's rewrite does: the request line and
// fields as the client sent them, without hop-by-hop fields, with the
// client's address appended to X-Forwarded-For, X-Forwarded-Host and
// X-Forwarded-Proto set, the request ID passed on and, with tracing on,
// the span's traceparent (and tracestate when set is true).
func appendOutbound(dst []byte, h *reqHead, clientIP, requestID, traceparent, tracestate string, set bool) []byte {
	dst = append(dst, h.method...)
	dst = append(dst, ' ')
	dst = append(dst, h.target...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	var prior [][]byte
	teTrailers := false
	for _, f := range h.fields {
		switch {
		case fieldIs(f.name, "TE"):
			// Hop by hop, but "trailers" says the client takes trailer
			// fields; net/http's reverse proxy passes that on too.
			teTrailers = teTrailers || hasToken(f.value, "trailers")
			continue
		case hopByHop(f.name), fieldIs(f.name, "X-Forwarded-Host"), fieldIs(f.name, "X-Forwarded-Proto"),
			fieldIs(f.name, "Forwarded"), fieldIs(f.name, "X-Request-Id"):
			continue
		case fieldIs(f.name, "X-Forwarded-For"):
			prior = append(prior, f.value)
			continue
		case traceparent != "" && fieldIs(f.name, "traceparent"), set && fieldIs(f.name, "tracestate"):
			continue
		}
		dst = append(dst, f.name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.value...)
		dst = append(dst, crlf...)
	}
	if teTrailers {
		dst = append(dst, "Te: trailers\r\n"...)
	}
	dst = append(dst, "X-Forwarded-For: "...)
	for _, p := range prior {
		dst = append(dst, p...)
		dst = append(dst, ", "...)
	}
	dst = append(dst, clientIP...)
	dst = append(dst, "\r\nX-Forwarded-Host: "...)
	dst = append(dst, h.host...)
	dst = append(dst, "\r\nX-Forwarded-Proto: http\r\nX-Request-Id: "...)
	dst = append(dst, requestID...)
	dst = append(dst, crlf...)
	if traceparent != "" {
		dst = append(dst, "Traceparent: "...)
		dst = append(dst, traceparent...)
		dst = append(dst, crlf...)
	}
	if set {
		dst = append(dst, "Tracestate: "...)
		dst = append(dst, tracestate...)
		dst = append(dst, crlf...)
	}
	return append(dst, crlf...)
}

// hasToken reports whether a comma-separated field value holds token,
// ignoring case and parameters.
func hasToken(v []byte, token string) bool {
	for tok := range bytes.SplitSeq(v, []byte{','}) {
		tok, _, _ = bytes.Cut(tok, []byte{';'})
		if fieldIs(bytes.Trim(tok, " \t"), token) {
			return true
		}
	}
	return false
}
