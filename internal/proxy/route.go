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
	return t.inspectFrom(stdHeaders{r})
}

// headerSource is what routing reads of a request: a header's first value
// by canonical name, and a cookie's value.
type headerSource interface {
	header(name string) (string, bool)
	cookie(name string) (string, bool)
}

// stdHeaders is a net/http request as a headerSource.
type stdHeaders struct{ r *http.Request }

func (h stdHeaders) header(name string) (string, bool) {
	v := h.r.Header[name]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (h stdHeaders) cookie(name string) (string, bool) {
	return cookieValue(h.r.Header["Cookie"], name)
}

// inspectFrom is inspect on any headerSource.
func (t *Table) inspectFrom(r headerSource) routeInput {
	var in routeInput
	if len(t.spec.Overrides) == 0 && t.spec.Candidate == nil {
		return in
	}
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
func lookup(r headerSource, header, cookie string) (string, bool) {
	if header != "" {
		return r.header(header)
	}
	if cookie == "" {
		return "", false
	}
	return r.cookie(cookie)
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

// loadView is what instance choice reads about one instance: its requests in
// flight and until when passive health ejected it.
type loadView interface {
	load() int64
	ejectedUntil() int64
}

// pickInstance is the pure instance choice. Given a revision's ready
// instances, a rotating start offset, a bit set of instances already tried
// for this request (bit i for instance i; instances past 64 are never
// marked) and now in Unix nanoseconds, it returns the index of the instance
// to use, or -1 when every instance was tried.
//
// Ejected instances are skipped while an untried instance that is not
// ejected remains. When all untried instances are ejected, ejection is
// ignored: passive health is a hint, and refusing every request would be
// worse than trying an instance that failed recently.
func pickInstance[V loadView](p Policy, insts []V, start, tried uint64, now int64) int {
	n := len(insts)
	if n == 0 {
		return -1
	}
	if i := scan(p, insts, start, tried, now, true); i >= 0 {
		return i
	}
	return scan(p, insts, start, tried, now, false)
}

// scan walks the instances from start and applies the policy to the ones
// that are untried and, when healthyOnly is set, not ejected.
func scan[V loadView](p Policy, insts []V, start, tried uint64, now int64, healthyOnly bool) int {
	n := uint64(len(insts))
	best, bestLoad := -1, int64(0)
	for k := range n {
		i := (start + k) % n
		if i < 64 && tried&(1<<i) != 0 {
			continue
		}
		if healthyOnly && insts[i].ejectedUntil() > now {
			continue
		}
		if p != LeastRequests {
			return int(i)
		}
		if l := insts[i].load(); best < 0 || l < bestLoad {
			best, bestLoad = int(i), l
		}
	}
	return best
}

// markTried returns tried with instance i marked.
func markTried(tried uint64, i int) uint64 {
	if i < 64 {
		tried |= 1 << uint(i)
	}
	return tried
}

// shouldEject is the pure passive-health decision: an instance that reached
// threshold consecutive failures and is not already ejected at now gets
// ejected.
func shouldEject(failures, threshold int, ejectedUntil, now int64) bool {
	return threshold > 0 && failures >= threshold && ejectedUntil <= now
}
