package proxy

import (
	"bytes"
	"errors"
)

// The event loops (loop_linux.go) read and write HTTP/1.1 themselves. This
// file holds the pure part: parsing request and response heads, and the
// chunked body decoder. It accepts a deliberately narrow subset of HTTP/1.1
// requests; everything else (HTTP/1.0, protocol upgrades, Expect, chunked
// request bodies, obsolete line folding, bare LF line ends, malformed or
// oversized heads) is reported as fastHandOff, and the connection is
// handed to net/http's server, which serves it fully or answers the error.

// headStatus is the outcome of parsing a head from the bytes read so far.
type headStatus int

const (
	// headIncomplete: the head has not ended yet; read more.
	headIncomplete headStatus = iota
	// headOK: the head was parsed.
	headOK
	// headHandOff: the event loop does not serve this request; net/http
	// does (request heads only).
	headHandOff
)

// maxFields bounds the header fields of one head the event loop keeps.
const maxFields = 128

// maxResponseHead bounds an instance's response head, and the trailer
// section of a chunked body.
const maxResponseHead = 64 << 10

// field is one header field of a head, as slices of the bytes read.
type field struct{ name, value []byte }

// reqHead is a request head the event loop serves.
type reqHead struct {
	method, target []byte
	fields         []field
	host           []byte
	contentLength  int64 // 0 without a Content-Length field
	close          bool  // Connection: close
	size           int   // bytes of the head, through its blank line
}

// parseRequestHead parses the request head at the start of buf into h,
// which it resets (keeping its fields' capacity). maxHead bounds the head's
// size: a longer head is handed off (net/http answers 431).
func parseRequestHead(buf []byte, maxHead int, h *reqHead) headStatus {
	fields := h.fields[:0]
	*h = reqHead{fields: fields}
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		if len(buf) >= maxHead || bytes.IndexByte(buf, '\n') >= 0 && !linesEndInCRLF(buf) {
			return headHandOff
		}
		return headIncomplete
	}
	h.size = end + 4
	if h.size > maxHead {
		return headHandOff
	}
	head := buf[:end+2]
	line, rest, _ := bytes.Cut(head, crlf)
	var ok bool
	if h.method, h.target, ok = parseRequestLine(line); !ok {
		return headHandOff
	}
	hosts, lengths := 0, 0
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := parseField(line)
		if !ok || len(h.fields) == maxFields {
			return headHandOff
		}
		h.fields = append(h.fields, field{name, value})
		switch {
		case fieldIs(name, "Host"):
			hosts++
			h.host = value
		case fieldIs(name, "Content-Length"):
			lengths++
			n, ok := parseLength(value)
			if !ok {
				return headHandOff
			}
			h.contentLength = n
		case fieldIs(name, "Connection"):
			if !connectionTokens(value, &h.close) {
				return headHandOff
			}
		case fieldIs(name, "Transfer-Encoding"), fieldIs(name, "Upgrade"),
			fieldIs(name, "Expect"), fieldIs(name, "HTTP2-Settings"):
			return headHandOff
		}
	}
	if hosts != 1 || lengths > 1 || !hostChars(h.host) {
		return headHandOff
	}
	return headOK
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// linesEndInCRLF reports whether every LF in buf follows a CR.
func linesEndInCRLF(buf []byte) bool {
	for i, c := range buf {
		if c == '\n' && (i == 0 || buf[i-1] != '\r') {
			return false
		}
	}
	return true
}

// parseRequestLine splits "METHOD /target HTTP/1.1". Only origin-form
// targets of HTTP/1.1 requests are accepted, and not CONNECT.
func parseRequestLine(line []byte) (method, target []byte, ok bool) {
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, version, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || string(version) != "HTTP/1.1" || !isTokenBytes(method) ||
		string(method) == "CONNECT" || string(method) == "PRI" ||
		len(target) == 0 || target[0] != '/' {
		return nil, nil, false
	}
	for i, c := range target {
		switch {
		case c <= ' ' || c == 0x7f:
			return nil, nil, false
		case c == '%':
			// net/http refuses a bad escape with 400; let it.
			if i+2 >= len(target) || !isHex(target[i+1]) || !isHex(target[i+2]) {
				return nil, nil, false
			}
		}
	}
	return method, target, true
}

// parseField splits "Name: value" and trims the value's optional
// whitespace. Names must be tokens right before the colon; values must not
// hold control characters other than tab. A line starting with whitespace
// (obsolete folding) is refused.
func parseField(line []byte) (name, value []byte, ok bool) {
	name, value, found := bytes.Cut(line, []byte{':'})
	if !found || !isTokenBytes(name) {
		return nil, nil, false
	}
	value = bytes.Trim(value, " \t")
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return name, value, true
}

// fieldIs compares a field name with a canonical one, ignoring case.
func fieldIs(name []byte, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := range len(name) {
		if lower(name[i]) != lower(want[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// isTokenBytes reports whether b is a non-empty RFC 9110 token.
func isTokenBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value: decimal digits only, at most
// 18 of them.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// connectionTokens reads a Connection field: "close" sets *closeConn,
// "keep-alive" is allowed; any other token (an upgrade, or a header the
// client wants removed hop by hop) is refused, so that net/http handles it.
func connectionTokens(v []byte, closeConn *bool) bool {
	for tok := range bytes.SplitSeq(v, []byte{','}) {
		tok = bytes.Trim(tok, " \t")
		switch {
		case len(tok) == 0, fieldIs(tok, "keep-alive"):
		case fieldIs(tok, "close"):
			*closeConn = true
		default:
			return false
		}
	}
	return true
}

// hostChars reports whether a Host value has only characters a host and
// port may have (net/http's own, looser check answers the rest).
func hostChars(h []byte) bool {
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("-._~:[]!$&'()*+,;=%"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// lookupField returns the first value of the named field.
func (h *reqHead) lookupField(name string) ([]byte, bool) {
	for _, f := range h.fields {
		if fieldIs(f.name, name) {
			return f.value, true
		}
	}
	return nil, false
}

// errBadResponse is a response head or body framing the proxy cannot pass
// on; the request ends in 502 (or a broken-off response after the head).
var errBadResponse = errors.New("malformed response from instance")

// respHead is a response head from an instance.
type respHead struct {
	status        int
	reason        []byte
	fields        []field
	contentLength int64 // -1 without a Content-Length field
	chunked       bool
	close         bool // the instance closes the connection after it
	size          int  // bytes of the head, through its blank line
}

// parseResponseHead parses the response head at the start of buf into h.
// A head longer than maxHead is an error.
func parseResponseHead(buf []byte, maxHead int, h *respHead) (headStatus, error) {
	fields := h.fields[:0]
	*h = respHead{fields: fields, contentLength: -1}
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		if len(buf) >= maxHead {
			return headIncomplete, errBadResponse
		}
		return headIncomplete, nil
	}
	h.size = end + 4
	head := buf[:end+2]
	line, rest, _ := bytes.Cut(head, crlf)
	minor, ok := parseStatusLine(line, h)
	if !ok {
		return headIncomplete, errBadResponse
	}
	keepAlive, closeTok := false, false
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := parseField(line)
		if !ok || len(h.fields) == maxFields {
			return headIncomplete, errBadResponse
		}
		h.fields = append(h.fields, field{name, value})
		switch {
		case fieldIs(name, "Content-Length"):
			n, ok := parseLength(value)
			if !ok || h.contentLength >= 0 && h.contentLength != n {
				return headIncomplete, errBadResponse
			}
			h.contentLength = n
		case fieldIs(name, "Transfer-Encoding"):
			if !fieldIs(value, "chunked") || h.chunked {
				return headIncomplete, errBadResponse
			}
			h.chunked = true
		case fieldIs(name, "Connection"):
			for tok := range bytes.SplitSeq(value, []byte{','}) {
				tok = bytes.Trim(tok, " \t")
				if fieldIs(tok, "close") {
					closeTok = true
				} else if fieldIs(tok, "keep-alive") {
					keepAlive = true
				}
			}
		}
	}
	// HTTP/1.0 closes unless the instance asks to keep the connection
	// (and does not claim a chunked body, which HTTP/1.0 does not have).
	h.close = closeTok || minor == 0 && (!keepAlive || h.chunked)
	if h.chunked {
		h.contentLength = -1 // Transfer-Encoding wins (RFC 9112 6.3)
	}
	return headOK, nil
}

// parseStatusLine reads "HTTP/1.x NNN reason" and returns x.
func parseStatusLine(line []byte, h *respHead) (int, bool) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
		(line[7] != '0' && line[7] != '1') || len(line) > 12 && line[12] != ' ' {
		return 0, false
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, false
	}
	h.status = code
	if len(line) > 13 {
		h.reason = line[13:]
	}
	return int(line[7] - '0'), true
}

// hasBody reports whether a response to method with this status carries a
// body (RFC 9112 6.3).
func (h *respHead) hasBody(method string) bool {
	return method != "HEAD" && h.status >= 200 && h.status != 204 && h.status != 304
}

// hopByHop reports whether a response field is hop-by-hop, so not passed
// on: the proxy frames the client's response itself.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return fieldIs(name, "TE")
	case 7:
		return fieldIs(name, "Upgrade") || fieldIs(name, "Trailer")
	case 10:
		return fieldIs(name, "Connection") || fieldIs(name, "Keep-Alive")
	case 16:
		return fieldIs(name, "Proxy-Connection")
	case 17:
		return fieldIs(name, "Transfer-Encoding")
	case 18:
		return fieldIs(name, "Proxy-Authenticate")
	case 19:
		return fieldIs(name, "Proxy-Authorization")
	}
	return false
}

// chunkDecoder follows a chunked body (RFC 9112 7.1) and yields its data.
// Chunk extensions are dropped; trailer fields are kept, as received, in
// trailer.
type chunkDecoder struct {
	state   chunkState
	remain  int64  // data bytes left in the current chunk
	line    int    // bytes of the current size or trailer line so far
	cr      bool   // the trailer byte before was a CR
	trailer []byte // the trailer section's lines, each with its CRLF
}

type chunkState uint8

const (
	chunkSize    chunkState = iota // reading the size's hex digits
	chunkSizeWS                    // whitespace after the size, before the CR
	chunkExt                       // a chunk extension, up to the CR
	chunkSizeLF                    // expecting the LF of the size line
	chunkData                      // reading data
	chunkDataCR                    // expecting the CR after data
	chunkDataLF                    // expecting the LF after data
	chunkTrailer                   // reading trailer lines
	chunkDone                      // after the final blank line
)

// maxChunkLine bounds a chunk size line (with extensions).
const maxChunkLine = 4096

// next consumes bytes from buf and returns how many it consumed and the
// data bytes among them (a slice of buf, possibly empty). Call it until it
// consumed all of buf. done reports the end of the body. Lines must end in
// CRLF; a size line is hex digits, then optional whitespace or an
// extension after ';'.
func (d *chunkDecoder) next(buf []byte) (consumed int, data []byte, done bool, err error) {
	i := 0
	for i < len(buf) {
		c := buf[i]
		switch d.state {
		case chunkSize:
			if v, ok := hexDigit(c); ok {
				if d.line >= 15 {
					return i, nil, false, errBadResponse
				}
				d.remain = d.remain<<4 | int64(v)
				d.line++
				i++
				continue
			}
			if d.line == 0 {
				return i, nil, false, errBadResponse
			}
			switch c {
			case ';':
				d.state = chunkExt
			case ' ', '\t':
				d.state = chunkSizeWS
			case '\r':
				d.state = chunkSizeLF
			default:
				return i, nil, false, errBadResponse
			}
			i++
		case chunkSizeWS, chunkExt:
			switch {
			case c == '\r':
				d.state = chunkSizeLF
			case d.state == chunkSizeWS && c != ' ' && c != '\t',
				c < ' ' && c != '\t', c == 0x7f:
				return i, nil, false, errBadResponse
			}
			i++
			d.line++
			if d.line > maxChunkLine {
				return i, nil, false, errBadResponse
			}
		case chunkSizeLF:
			if c != '\n' {
				return i, nil, false, errBadResponse
			}
			i++
			d.line = 0
			if d.remain == 0 {
				d.state = chunkTrailer
			} else {
				d.state = chunkData
			}
		case chunkData:
			n := min(int64(len(buf)-i), d.remain)
			d.remain -= n
			if d.remain == 0 {
				d.state = chunkDataCR
			}
			return i + int(n), buf[i : i+int(n)], false, nil
		case chunkDataCR, chunkDataLF:
			want := byte('\r')
			if d.state == chunkDataLF {
				want = '\n'
			}
			if c != want {
				return i, nil, false, errBadResponse
			}
			i++
			if d.state == chunkDataCR {
				d.state = chunkDataLF
			} else {
				d.state = chunkSize
			}
		case chunkTrailer:
			i++
			switch {
			case c == '\n' && !d.cr, c != '\n' && d.cr:
				return i, nil, false, errBadResponse // a bare LF or CR
			case c == '\n' && d.line == 0: // an empty line ends the body
				d.trailer = d.trailer[:len(d.trailer)-1]
				d.state = chunkDone
				return i, nil, true, nil
			case c == '\n':
				d.line, d.cr = 0, false
			case c == '\r':
				d.cr = true
			default:
				d.line++
			}
			d.trailer = append(d.trailer, c)
			if len(d.trailer) > maxResponseHead {
				return i, nil, false, errBadResponse
			}
		case chunkDone:
			return i, nil, true, nil
		}
	}
	return i, nil, d.state == chunkDone, nil
}

func isHex(c byte) bool {
	_, ok := hexDigit(c)
	return ok
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// header returns the first value of the named field (routing's
// headerSource).
func (h *reqHead) header(name string) (string, bool) {
	v, ok := h.lookupField(name)
	return string(v), ok
}

// cookie returns the value of the named cookie (routing's headerSource).
func (h *reqHead) cookie(name string) (string, bool) {
	var lines []string
	for _, f := range h.fields {
		if fieldIs(f.name, "Cookie") {
			lines = append(lines, string(f.value))
		}
	}
	return cookieValue(lines, name)
}
