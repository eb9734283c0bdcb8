package proxy

import "go.opentelemetry.io/otel/trace"

// parseTraceparent reads a W3C traceparent header as the SDK's
// TraceContext propagator does: lower-case hex fields separated by '-',
// version ff rejected, version 00 with exactly four fields and no
// reserved flag bits, a non-zero trace ID and span ID; of the flags only
// sampled and random are kept.
func parseTraceparent(h string) (traceID [16]byte, spanID [8]byte, flags byte, ok bool) {
	var ver, opts [1]byte
	if !cutHex(ver[:], &h) || ver[0] == 0xff ||
		!cutHex(traceID[:], &h) || !cutHex(spanID[:], &h) || !cutHex(opts[:], &h) {
		return traceID, spanID, 0, false
	}
	if ver[0] == 0 && (h != "" || opts[0] > 3) {
		return traceID, spanID, 0, false
	}
	if traceID == ([16]byte{}) || spanID == ([8]byte{}) {
		return traceID, spanID, 0, false
	}
	return traceID, spanID, opts[0] & byte(trace.FlagsSampled|trace.FlagsRandom), true
}

// cutHex decodes the field *h starts with, up to the next '-' or the end,
// into dst, which it must fill exactly, and leaves the rest in *h.
func cutHex(dst []byte, h *string) bool {
	s := *h
	n := 2 * len(dst)
	if len(s) < n || (len(s) > n && s[n] != '-') {
		if i := indexDash(s); i >= 0 {
			*h = s[i+1:]
		} else {
			*h = ""
		}
		return false
	}
	if len(s) > n {
		*h = s[n+1:]
	} else {
		*h = ""
	}
	for i := range dst {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi > 15 || lo > 15 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func indexDash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			return i
		}
	}
	return -1
}

// unhex decodes a lower-case hex digit; anything else gives 0xff.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return 0xff
}

// formatTraceparent writes the span's version-00 traceparent, with the
// sampled and random flags, in one allocation.
func formatTraceparent(sc *spanContext) string {
	var b [55]byte
	b[0], b[1], b[2] = '0', '0', '-'
	i := 3
	for _, c := range sc.traceID {
		b[i], b[i+1] = hexDigits[c>>4], hexDigits[c&15]
		i += 2
	}
	b[i] = '-'
	i++
	for _, c := range sc.spanID {
		b[i], b[i+1] = hexDigits[c>>4], hexDigits[c&15]
		i += 2
	}
	flags := sc.flags & byte(trace.FlagsSampled|trace.FlagsRandom)
	b[i], b[i+1], b[i+2] = '-', hexDigits[flags>>4], hexDigits[flags&15]
	return string(b[:])
}
