package analysis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"sluice.dev/sluice/internal/spec"
)

// Errors of argument substitution; Compile wraps them with the template,
// the metric and the field.
var (
	// ErrMissingArg means a template argument has neither a value from the
	// rollout nor a default.
	ErrMissingArg = errors.New("argument has no value")
	// ErrUndeclaredArg means a field uses `{{args.NAME}}` for a NAME the
	// template does not declare.
	ErrUndeclaredArg = errors.New("argument is not declared in the template's args")
	// ErrPlaceholder means a field holds a `{{…}}` that is not a known
	// placeholder, or a `{{` that is never closed.
	ErrPlaceholder = errors.New("bad placeholder")
)

// Placeholders other than `{{args.NAME}}`, filled from the Target.
const (
	placeholderApp       = "app"
	placeholderCandidate = "candidate"
	placeholderStable    = "stable"
	argPrefix            = "args."
)

// vars are the values of the placeholders of one template, by the text
// between the braces (`args.NAME`, `app`, `candidate`, `stable`).
type vars map[string]string

// resolveArgs gives every argument the template declares a value: the one
// the rollout passes, else the template's default. Arguments the rollout
// passes that the template does not declare are ignored, since a rollout
// passes one set of args to all its templates.
func resolveArgs(target Target, declared []spec.TemplateArg, given []spec.AnalysisArg) (vars, error) {
	v := vars{
		placeholderApp:       target.App,
		placeholderCandidate: strconv.Itoa(target.Candidate),
		placeholderStable:    strconv.Itoa(target.Stable),
	}
	passed := make(map[string]string, len(given))
	for _, a := range given {
		passed[a.Name] = a.Value
	}
	for _, a := range declared {
		val, ok := passed[a.Name]
		if !ok {
			if a.Value == nil {
				return nil, fmt.Errorf("%q: %w: pass it in the rollout's analysis args or give it a default value in the template", a.Name, ErrMissingArg)
			}
			val = *a.Value
		}
		v[argPrefix+a.Name] = val
	}
	return v, nil
}

// Args returns the template's arguments and their values (without the
// `args.` prefix), as a provider's request carries them.
func (v vars) args() map[string]string {
	out := map[string]string{}
	for k, val := range v {
		if name, ok := strings.CutPrefix(k, argPrefix); ok {
			out[name] = val
		}
	}
	return out
}

// substitute replaces every `{{ NAME }}` in s (spaces inside the braces are
// allowed) by its value.
func (v vars) substitute(s string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	var b strings.Builder
	rest := s
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:open])
		closing := strings.Index(rest[open+2:], "}}")
		if closing < 0 {
			return "", fmt.Errorf("%w: %q is not closed with }}", ErrPlaceholder, rest[open:])
		}
		name := strings.TrimSpace(rest[open+2 : open+2+closing])
		val, ok := v[name]
		if !ok {
			if arg, isArg := strings.CutPrefix(name, argPrefix); isArg {
				return "", fmt.Errorf("{{%s}}: %q: %w", name, arg, ErrUndeclaredArg)
			}
			return "", fmt.Errorf("%w {{%s}}: use {{args.NAME}}, {{app}}, {{candidate}} or {{stable}}", ErrPlaceholder, name)
		}
		b.WriteString(val)
		rest = rest[open+2+closing+2:]
	}
}

// resolveProvider returns a copy of p with placeholders substituted in its
// address, query, URL and header values. The template's spec is not
// changed.
func (v vars) resolveProvider(p spec.MetricProvider) (spec.MetricProvider, error) {
	var out spec.MetricProvider
	var err error
	sub := func(field, s string) string {
		if err != nil {
			return s
		}
		r, e := v.substitute(s)
		if e != nil {
			err = fmt.Errorf("%s: %w", field, e)
		}
		return r
	}
	headers := func(field string, hs []spec.Header) []spec.Header {
		if hs == nil {
			return nil
		}
		out := make([]spec.Header, len(hs))
		for i, h := range hs {
			out[i] = spec.Header{Name: h.Name, Value: sub(fmt.Sprintf("%s[%d].value", field, i), h.Value)}
		}
		return out
	}
	switch {
	case p.Builtin != nil:
		b := *p.Builtin
		out.Builtin = &b
	case p.Prometheus != nil:
		pm := *p.Prometheus
		pm.Address = sub("provider.prometheus.address", pm.Address)
		pm.Query = sub("provider.prometheus.query", pm.Query)
		pm.Headers = headers("provider.prometheus.headers", pm.Headers)
		out.Prometheus = &pm
	case p.Webhook != nil:
		w := *p.Webhook
		w.URL = sub("provider.webhook.url", w.URL)
		w.Headers = headers("provider.webhook.headers", w.Headers)
		out.Webhook = &w
	}
	return out, err
}
