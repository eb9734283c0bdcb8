package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxWeight is the candidate weight that sends all traffic to the candidate:
// weights are basis points, so 10000 is 100 % and 1 is 0.01 %.
const MaxWeight = 10000

// DefaultDrainTimeout is the drain timeout of a table that sets none.
const DefaultDrainTimeout = 30 * time.Second

// Policy chooses one of a revision's ready instances for a request.
type Policy int

const (
	// RoundRobin takes the ready instances in turn. It is the default.
	RoundRobin Policy = iota
	// LeastRequests takes the ready instance with the fewest requests in
	// flight, starting the scan at a rotating offset so ties spread evenly.
	LeastRequests
)

// String returns the policy's name as written in specs.
func (p Policy) String() string {
	switch p {
	case RoundRobin:
		return "roundRobin"
	case LeastRequests:
		return "leastRequests"
	default:
		return "Policy(" + strconv.Itoa(int(p)) + ")"
	}
}

// Target names the revision an override route forces.
type Target int

const (
	// TargetStable forces the stable revision.
	TargetStable Target = iota + 1
	// TargetCandidate forces the candidate revision (or the stable one when
	// the table has no candidate).
	TargetCandidate
)

// String returns "stable" or "candidate".
func (t Target) String() string {
	switch t {
	case TargetStable:
		return "stable"
	case TargetCandidate:
		return "candidate"
	default:
		return "Target(" + strconv.Itoa(int(t)) + ")"
	}
}

// Instance is one ready copy of a revision.
type Instance struct {
	// ID identifies the instance across tables; it must be unique within
	// the table. Draining and in-flight counts are keyed by it.
	ID string
	// Addr is the instance's host:port, dialled over plain HTTP/1.1.
	Addr string
}

// Revision is a revision that serves traffic and its ready instances.
type Revision struct {
	// Name labels the revision in metrics and measurements, e.g. "3".
	Name string
	// Instances are the ready instances. An empty list is allowed: requests
	// routed to the revision then go to the other revision, or get a 503.
	Instances []Instance
}

// Stickiness says where a request's sticky key comes from. Set at most one
// field; when both are empty the proxy sets its own cookie, named
// "sluice_<app>", on the first response to a client that has none.
type Stickiness struct {
	// Header is a request header holding the key, e.g. "X-User-ID".
	Header string
	// Cookie is a cookie holding the key, set by the app itself.
	Cookie string
}

// Override routes requests that carry a tester's marker to a fixed revision,
// before stickiness and weights are looked at. Set exactly one of Header and
// Cookie.
type Override struct {
	// Header is a request header to match.
	Header string
	// Cookie is a cookie to match.
	Cookie string
	// Value is the exact value the header or cookie must have.
	Value string
	// Target is the revision the matching requests go to.
	Target Target
}

// TableSpec is the mutable description of an app's routes, turned into an
// immutable [Table] by [NewTable].
type TableSpec struct {
	// App is the app's name; it labels metrics and seeds the sticky hash.
	App string
	// Listen is the app's public address, host:port (port 0 picks one).
	Listen string
	// Stable is the revision that serves now.
	Stable Revision
	// Candidate is the revision being rolled out, if any.
	Candidate *Revision
	// Weight is the candidate's share in basis points (0–10000); the
	// stable revision gets the rest. It must be 0 without a candidate.
	Weight int
	// Stickiness keeps a user on one side of the split.
	Stickiness Stickiness
	// Overrides are tried in order; the first match wins.
	Overrides []Override
	// Policy chooses among a revision's instances. Default RoundRobin.
	Policy Policy
	// DrainTimeout bounds how long an instance that left the table keeps
	// serving its in-flight requests. Zero means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// TLS, when set, serves the listener over HTTPS with this
	// configuration, typically one whose GetCertificate reloads
	// certificate files. It is shared, not copied. A table with another
	// TLS setting for the same address applies to new connections; open
	// ones keep theirs. Nil: plain HTTP.
	TLS *tls.Config
	// RedirectHTTP, with TLS, is a second address (host:port; port 0
	// picks one) where the proxy answers every plain HTTP request with a
	// 308 redirect to the same host, path and query on the HTTPS port of
	// Listen (see [RedirectHandler]); nothing there reaches an instance.
	// The listener follows the tables: bound when a table names it, moved
	// when the address changes, closed when a table drops it or TLS, and
	// with the app. Empty: none.
	RedirectHTTP string
}

// Table is an app's immutable route table. Build it with [NewTable] and hand
// it to [Server.Apply]; a Table is safe to share between goroutines.
type Table struct {
	spec   TableSpec
	cookie string // cookie holding the sticky key, "" when a header does
	own    bool   // the proxy sets the sticky cookie itself
}

// FieldError is one problem in a [TableSpec], with the path of the field.
type FieldError struct {
	// Field is the path of the offending field, e.g. "candidate.instances[1].addr".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// NewTable validates spec and returns an immutable table built from a deep
// copy of it. All problems are reported at once, each a [*FieldError], and
// the error matches [ErrInvalidTable].
func NewTable(spec TableSpec) (*Table, error) {
	spec = cloneSpec(spec)
	normalize(&spec)
	if errs := validate(&spec); len(errs) > 0 {
		return nil, fmt.Errorf("%w for app %q: %w", ErrInvalidTable, spec.App, errors.Join(errs...))
	}
	t := &Table{spec: spec, cookie: spec.Stickiness.Cookie}
	if spec.Stickiness.Header == "" && spec.Stickiness.Cookie == "" {
		t.cookie, t.own = OwnCookieName(spec.App), true
	}
	return t, nil
}

// OwnCookieName is the name of the sticky cookie the proxy sets for app when
// the table names no header or cookie.
func OwnCookieName(app string) string {
	b := []byte("sluice_" + app)
	for i, c := range b {
		if !isTokenChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// App returns the app's name.
func (t *Table) App() string { return t.spec.App }

// Listen returns the app's listen address as given.
func (t *Table) Listen() string { return t.spec.Listen }

// Weight returns the candidate's share in basis points.
func (t *Table) Weight() int { return t.spec.Weight }

// redirectHTTP returns the address of the app's redirect listener, or "".
func (t *Table) redirectHTTP() string { return t.spec.RedirectHTTP }

// DrainTimeout returns how long instances that leave this table may drain.
func (t *Table) DrainTimeout() time.Duration { return t.spec.DrainTimeout }

// Spec returns a deep copy of the spec the table was built from, with
// defaults filled in.
func (t *Table) Spec() TableSpec { return cloneSpec(t.spec) }

// revisions returns the stable revision and, if present, the candidate.
func (t *Table) revisions() []*Revision {
	if t.spec.Candidate == nil {
		return []*Revision{&t.spec.Stable}
	}
	return []*Revision{&t.spec.Stable, t.spec.Candidate}
}

func cloneSpec(s TableSpec) TableSpec {
	s.Stable.Instances = slices.Clone(s.Stable.Instances)
	if s.Candidate != nil {
		c := *s.Candidate
		c.Instances = slices.Clone(c.Instances)
		s.Candidate = &c
	}
	s.Overrides = slices.Clone(s.Overrides)
	return s
}

func normalize(s *TableSpec) {
	if s.DrainTimeout == 0 {
		s.DrainTimeout = DefaultDrainTimeout
	}
	if s.Stickiness.Header != "" {
		s.Stickiness.Header = textproto.CanonicalMIMEHeaderKey(s.Stickiness.Header)
	}
	for i := range s.Overrides {
		if s.Overrides[i].Header != "" {
			s.Overrides[i].Header = textproto.CanonicalMIMEHeaderKey(s.Overrides[i].Header)
		}
	}
}

func validate(s *TableSpec) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if s.App == "" {
		bad("app", "must not be empty")
	}
	if err := checkAddr(s.Listen, true); err != nil {
		bad("listen", "%v", err)
	}
	checkRedirect(s, bad)
	ids := map[string]string{}
	checkRevision(&s.Stable, "stable", ids, bad)
	if s.Candidate != nil {
		checkRevision(s.Candidate, "candidate", ids, bad)
		if s.Candidate.Name != "" && s.Candidate.Name == s.Stable.Name {
			bad("candidate.name", "must differ from the stable revision's name %q", s.Stable.Name)
		}
	}
	switch {
	case s.Weight < 0 || s.Weight > MaxWeight:
		bad("weight", "%d is outside 0–%d basis points", s.Weight, MaxWeight)
	case s.Weight > 0 && s.Candidate == nil:
		bad("weight", "is %d but there is no candidate", s.Weight)
	}
	if s.Stickiness.Header != "" && s.Stickiness.Cookie != "" {
		bad("stickiness", "set a header or a cookie, not both")
	}
	if c := s.Stickiness.Cookie; c != "" && !isToken(c) {
		bad("stickiness.cookie", "%q is not a valid cookie name", c)
	}
	for i, o := range s.Overrides {
		field := "overrides[" + strconv.Itoa(i) + "]"
		if (o.Header == "") == (o.Cookie == "") {
			bad(field, "set exactly one of header and cookie")
		}
		if o.Value == "" {
			bad(field+".value", "must not be empty")
		}
		if o.Target != TargetStable && o.Target != TargetCandidate {
			bad(field+".target", "must be stable or candidate")
		}
	}
	if s.Policy != RoundRobin && s.Policy != LeastRequests {
		bad("policy", "unknown policy %d", int(s.Policy))
	}
	if s.DrainTimeout < 0 {
		bad("drainTimeout", "must not be negative")
	}
	return errs
}

// checkRedirect accepts a redirect listener only beside TLS, on an address
// of its own.
func checkRedirect(s *TableSpec, bad func(string, string, ...any)) {
	if s.RedirectHTTP == "" {
		return
	}
	switch err := checkAddr(s.RedirectHTTP, true); {
	case err != nil:
		bad("redirectHTTP", "%v", err)
	case s.TLS == nil:
		bad("redirectHTTP", "needs TLS: it redirects to the HTTPS listener")
	case s.RedirectHTTP == s.Listen && !strings.HasSuffix(s.Listen, ":0"):
		bad("redirectHTTP", "must differ from listen")
	}
}

func checkRevision(r *Revision, field string, ids map[string]string, bad func(string, string, ...any)) {
	if r.Name == "" {
		bad(field+".name", "must not be empty")
	}
	for i, in := range r.Instances {
		f := field + ".instances[" + strconv.Itoa(i) + "]"
		if in.ID == "" {
			bad(f+".id", "must not be empty")
		} else if prev, dup := ids[in.ID]; dup {
			bad(f+".id", "%q is already used by %s", in.ID, prev)
		} else {
			ids[in.ID] = f
		}
		if err := checkAddr(in.Addr, false); err != nil {
			bad(f+".addr", "%v", err)
		}
	}
}

// checkAddr accepts host:port; a listen address may omit the host and use
// port 0, an instance address may not.
func checkAddr(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	if !listen && (host == "" || n == 0) {
		return fmt.Errorf("%q needs a host and a non-zero port", addr)
	}
	if strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("%q has an invalid host", addr)
	}
	return nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// isTokenChar reports whether c may appear in an RFC 7230 token.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
