package spec

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretPath  = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$`)
	headerName  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	statusRange = regexp.MustCompile(`^([1-5][0-9][0-9])(-([1-5][0-9][0-9]))?$`)
)

// reservedEnv are set by sluice on every instance.
var reservedEnv = map[string]bool{"PORT": true, "HOST": true}

// decodeApp checks, defaults and validates an App spec.
func decodeApp(raw json.RawMessage) (*App, []FieldError) {
	app, fe := decodeSpec[App](raw)
	if len(fe) > 0 {
		return nil, fe
	}
	app.SetDefaults()
	return app, app.Validate("spec")
}

// Validate reports every problem with a defaulted App spec, with paths
// under base (normally "spec").
func (a *App) Validate(base string) []FieldError {
	var p problems
	if msg := checkAddress(a.Listen); msg != "" {
		p.add(join(base, "listen"), "%s", msg)
	}
	if len(a.Version) > 128 {
		p.add(join(base, "version"), "is longer than 128 characters")
	}
	positive(&p, join(base, "progressDeadline"), a.ProgressDeadline)
	a.Runtime.validate(&p, join(base, "runtime"))
	a.HealthCheck.validate(&p, join(base, "healthCheck"))
	a.Strategy.validate(&p, join(base, "strategy"), a.Listen)
	a.TLS.validate(&p, join(base, "tls"), a.Listen, a.previewListen())
	a.validateSecretRollout(&p, join(base, "rolloutOnSecretChange"))
	return p.list
}

func (r *Runtime) validate(p *problems, path string) {
	switch {
	case r.Process == nil && r.Static == nil:
		p.add(path, "one of process or static is required")
	case r.Process != nil && r.Static != nil:
		p.add(path, "only one of process or static may be set")
	case r.Process != nil:
		r.Process.validate(p, join(path, "process"))
	default:
		r.Static.validate(p, join(path, "static"))
	}
}

func (pr *ProcessRuntime) validate(p *problems, path string) {
	if len(pr.Command) == 0 || strings.TrimSpace(pr.Command[0]) == "" {
		p.add(join(path, "command"), "is required: the program to run")
	}
	if n := *pr.Replicas; n < 1 || n > 1000 {
		p.add(join(path, "replicas"), "must be between 1 and 1000, got %d", n)
	}
	if pr.StopGracePeriod.Duration > time.Hour {
		p.add(join(path, "stopGracePeriod"), "must be at most 1h, got %s", pr.StopGracePeriod)
	}
	seen := map[string]bool{}
	for i, e := range pr.Env {
		ep := index(join(path, "env"), i)
		switch {
		case !envName.MatchString(e.Name):
			p.add(join(ep, "name"), "%q is not a valid environment variable name", e.Name)
		case reservedEnv[e.Name] || strings.HasPrefix(e.Name, "SLUICE_"):
			p.add(join(ep, "name"), "%q is set by sluice and cannot be overridden", e.Name)
		case seen[e.Name]:
			p.add(join(ep, "name"), "%q is set twice", e.Name)
		}
		seen[e.Name] = true
		switch {
		case e.ValueFrom != nil && e.Value != "":
			p.add(ep, "only one of value or valueFrom may be set")
		case e.ValueFrom != nil:
			e.ValueFrom.validate(p, join(ep, "valueFrom"))
		}
	}
}

func (s *EnvSource) validate(p *problems, path string) {
	if s.Secret == nil {
		p.add(path, "secret is required")
		return
	}
	if !secretPath.MatchString(s.Secret.Path) {
		p.add(join(path, "secret.path"), "%q is not a secret path (lowercase segments separated by '/')", s.Secret.Path)
	}
	if !envName.MatchString(s.Secret.Key) && !secretPath.MatchString(s.Secret.Key) {
		p.add(join(path, "secret.key"), "%q is not a valid key", s.Secret.Key)
	}
}

func (s *StaticRuntime) validate(p *problems, path string) {
	if len(s.Addresses) == 0 {
		p.add(join(path, "addresses"), "at least one address is required")
	}
	seen := map[string]bool{}
	for i, a := range s.Addresses {
		ap := index(join(path, "addresses"), i)
		if msg := checkAddress(a); msg != "" {
			p.add(ap, "%s", msg)
		} else if seen[a] {
			p.add(ap, "%q is listed twice", a)
		}
		seen[a] = true
	}
}

func (h *HealthCheck) validate(p *problems, path string) {
	if !strings.HasPrefix(h.Path, "/") {
		p.add(join(path, "path"), "must start with '/', got %q", h.Path)
	}
	positive(p, join(path, "interval"), h.Interval)
	positive(p, join(path, "timeout"), h.Timeout)
	if h.Timeout.Duration > h.Interval.Duration {
		p.add(join(path, "timeout"), "must not be longer than interval (%s), got %s", h.Interval, h.Timeout)
	}
	between(p, join(path, "healthyThreshold"), *h.HealthyThreshold, 1, 100)
	between(p, join(path, "unhealthyThreshold"), *h.UnhealthyThreshold, 1, 100)
	for i, c := range h.StatusCodes {
		if _, _, err := ParseStatusRange(c); err != nil {
			p.add(index(join(path, "statusCodes"), i), "%v", err)
		}
	}
}

// ParseStatusRange parses `204` or `200-299` into an inclusive range.
func ParseStatusRange(s string) (lo, hi int, err error) {
	m := statusRange.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not a status code or range such as 200-299", s)
	}
	lo, _ = strconv.Atoi(m[1])
	hi = lo
	if m[3] != "" {
		hi, _ = strconv.Atoi(m[3])
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("%q: range ends before it starts", s)
	}
	return lo, hi, nil
}

func (s *Strategy) validate(p *problems, path, listen string) {
	if s.Canary != nil && s.BlueGreen != nil {
		p.add(path, "only one of canary or blueGreen may be set")
		return
	}
	if c := s.Canary; c != nil {
		cp := join(path, "canary")
		c.Stickiness.validate(p, join(cp, "stickiness"))
		c.Override.validate(p, join(cp, "override"))
		for i, st := range c.Steps {
			st.validate(p, index(join(cp, "steps"), i))
		}
		c.Analysis.validate(p, join(cp, "analysis"))
		nonNegative(p, join(cp, "scaleDownDelay"), c.ScaleDownDelay)
	}
	if bg := s.BlueGreen; bg != nil {
		bp := join(path, "blueGreen")
		if bg.PreviewListen != "" {
			if msg := checkAddress(bg.PreviewListen); msg != "" {
				p.add(join(bp, "previewListen"), "%s", msg)
			} else if bg.PreviewListen == listen {
				p.add(join(bp, "previewListen"), "must differ from spec.listen")
			}
		}
		nonNegative(p, join(bp, "autoPromoteAfter"), bg.AutoPromoteAfter)
		nonNegative(p, join(bp, "scaleDownDelay"), bg.ScaleDownDelay)
		bg.PrePromotionAnalysis.validate(p, join(bp, "prePromotionAnalysis"))
		bg.PostPromotionAnalysis.validate(p, join(bp, "postPromotionAnalysis"))
	}
}

func (s *Stickiness) validate(p *problems, path string) {
	if s == nil {
		return
	}
	switch {
	case s.Header != "" && s.Cookie != "":
		p.add(path, "only one of header or cookie may be set")
	case s.Header == "" && s.Cookie == "":
		p.add(path, "one of header or cookie is required")
	case s.Header != "" && !headerName.MatchString(s.Header):
		p.add(join(path, "header"), "%q is not a valid header name", s.Header)
	case s.Cookie != "" && !headerName.MatchString(s.Cookie):
		p.add(join(path, "cookie"), "%q is not a valid cookie name", s.Cookie)
	}
}

func (st CanaryStep) validate(p *problems, path string) {
	set := 0
	if st.SetWeight != nil {
		set++
		if msg := checkPercent(*st.SetWeight); msg != "" {
			p.add(join(path, "setWeight"), "%s", msg)
		}
	}
	if st.Pause != nil {
		set++
		if st.Pause.Duration != nil {
			positive(p, join(path, "pause.duration"), st.Pause.Duration)
		}
	}
	if st.Analysis != nil {
		set++
		st.Analysis.validate(p, join(path, "analysis"))
	}
	if set != 1 {
		p.add(path, "exactly one of setWeight, pause or analysis must be set, got %d", set)
	}
}

func (a *RolloutAnalysis) validate(p *problems, path string) {
	if a == nil {
		return
	}
	if len(a.Templates) == 0 {
		p.add(join(path, "templates"), "at least one template is required")
	}
	for i, t := range a.Templates {
		if msg := ValidName(t.Name); msg != "" {
			p.add(join(index(join(path, "templates"), i), "name"), "%s", msg)
		}
	}
	for i, arg := range a.Args {
		if arg.Name == "" {
			p.add(join(index(join(path, "args"), i), "name"), "is required")
		}
	}
}

// checkAddress reports the problem with a `host:port` listen address, or "".
func checkAddress(addr string) string {
	if addr == "" {
		return "is required (host:port, such as 127.0.0.1:8080)"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %q is out of range (1-65535)", port)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Sprintf("host %q is not an IP address or host name", host)
	}
	return ""
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !dnsLabel.MatchString(strings.ToLower(label)) {
			return false
		}
	}
	return true
}

func positive(p *problems, path string, d *Duration) {
	if d != nil && d.Duration <= 0 {
		p.add(path, "must be longer than 0, got %s", d)
	}
}

func nonNegative(p *problems, path string, d *Duration) {
	if d != nil && d.Duration < 0 {
		p.add(path, "must not be negative, got %s", d)
	}
}

func between(p *problems, path string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(path, "must be between %d and %d, got %d", lo, hi, v)
	}
}
