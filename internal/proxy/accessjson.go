package proxy

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r to b as one line of JSON, newline included, in the
// shape of sluice's other log lines:
//
//	{"time":"2026-11-26T09:25:16.123456789Z","level":"INFO","msg":"access","component":"access",
//	 "app":"web","revision":"2","instance":"web-2-0","method":"GET","path":"/hello","status":200,
//	 "duration_ms":0.532,"bytes":98,"request_id":"…","trace_id":"…"}
//
// (on one line). time is the request's arrival in RFC 3339 with
// nanoseconds, duration_ms is in milliseconds with microsecond precision,
// and trace_id is left out without a trace. Strings are escaped as
// encoding/json and log/slog escape them: invalid UTF-8 becomes U+FFFD,
// so every line is valid JSON whatever the client sent.
func (r *AccessRecord) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"access","component":"access","app":`...)
	b = appendJSONString(b, r.App)
	b = append(b, `,"revision":`...)
	b = appendJSONString(b, r.Revision)
	b = append(b, `,"instance":`...)
	b = appendJSONString(b, r.Instance)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, r.Duration)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, r.Bytes, 10)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, r.RequestID)
	if r.TraceID != "" {
		b = append(b, `,"trace_id":`...)
		b = appendJSONString(b, r.TraceID)
	}
	return append(b, "}\n"...)
}

// appendMillis appends d in milliseconds with three decimals (1.234).
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript: escaped, as
			// encoding/json does.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"
