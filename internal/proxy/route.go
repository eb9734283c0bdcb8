package proxy

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/twmb/murmur3"
)

// Bucket returns the sticky bucket of key for app, in [0, MaxWeight). It is
// the fixed contract shared with flag rollouts:
//
//	bucket = (uint64(murmur3_x86_32(app + key, seed 0)) * 10000) >> 32
//
// A request whose bucket is below the candidate's weight goes to the
// candidate, so raising the weight only ever moves users to the candidate.
func Bucket(app, key string) int {
	var buf [128]byte
	b := append(buf[:0], app...)
	b = append(b, key...)
	return int((uint64(murmur3.Sum32(b)) * MaxWeight) >> 32)
}

// chooseRevision is the pure revision choice. An override wins; otherwise
// the request goes to the candidate when its bucket is below the weight.
// Without a candidate everything goes to the stable revision.
func chooseRevision(weight int, hasCandidate bool, override Target, bucket int) Target {
	switch {
	case !hasCandidate:
		return TargetStable
	case override != 0:
		return override
	case bucket < weight:
		return TargetCandidate
	default:
		return TargetStable
	}
}

// routeInput is what revision choice reads from a request.
type routeInput struct {
	// override is the target forced by an override route, or 0.
	override Target
	// bucket is the request's sticky bucket, or a random one when the
	// request has no key.
	bucket int
	// newKey is a sticky key the proxy made up for a client without one;
	// it must be sent back in the proxy's own cookie. Empty otherwise.
	newKey string
}

// inspect reads the override, the sticky key and the bucket of r. A request
// without a key draws a random bucket, which splits such clients per request
// by weight; when the proxy owns the sticky cookie, the made-up key is
// returned so the client sticks from its next request on.
func (t *Table) inspect(r *http.Request) routeInput {
	var in routeInput
	for i := range t.spec.Overrides {
		o := &t.spec.Overrides[i]
		if v, ok := lookup(r, o.Header, o.Cookie); ok && v == o.Value {
			in.override = o.Target
			break
		}
	}
	if t.spec.Candidate == nil {
		return in // the bucket cannot matter
	}
	key, ok := lookup(r, t.spec.Stickiness.Header, t.cookie)
	switch {
	case ok && key != "":
		in.bucket = Bucket(t.spec.App, key)
	case t.own:
		in.newKey = newStickyKey()
		in.bucket = Bucket(t.spec.App, in.newKey)
	default:
		in.bucket = rand.IntN(MaxWeight)
	}
	return in
}

// lookup returns the value of the named header, else of the named cookie.
func lookup(r *http.Request, header, cookie string) (string, bool) {
	if header != "" {
		v := r.Header[header]
		if len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	if cookie == "" {
		return "", false
	}
	return cookieValue(r.Header["Cookie"], cookie)
}

// cookieValue finds cookie name in Cookie header lines without allocating,
// unlike http.Request.Cookie, since the proxy reads its sticky cookie on
// every request. Surrounding double quotes are removed from the value.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// stickyCookie is the Set-Cookie value that makes a client keep key.
func (t *Table) stickyCookie(key string) string {
	return t.cookie + "=" + key + "; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax"
}

// newStickyKey returns 16 random hex characters. The key only spreads users
// over buckets, so it needs no cryptographic strength.
func newStickyKey() string {
	var raw [8]byte
	var out [16]byte
	u := rand.Uint64()
	for i := range raw {
		raw[i] = byte(u >> (8 * i))
	}
	hex.Encode(out[:], raw[:])
	return string(out[:])
}

// newRequestID returns 32 random hex characters for X-Request-ID.
func newRequestID() string {
	var raw [16]byte
	var out [32]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		raw[i] = byte(a >> (8 * i))
		raw[8+i] = byte(b >> (8 * i))
	}
	hex.Encode(out[:], raw[:])
	return string(out[:])
}
