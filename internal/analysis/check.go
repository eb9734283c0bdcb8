package analysis

import (
	"errors"
	"fmt"
	"strings"

	"sluice.dev/sluice/internal/spec"
)

// Check reports, with field paths under `spec.`, what Compile would reject
// in a template whatever the rollout passes: a condition that does not
// compile against its provider's variables (a misspelt `candidate.p99`,
// `result` in a builtin metric) and a placeholder that is unknown or names
// an undeclared argument. spec.Decode cannot check these, since the
// variables belong to the providers; the API calls Check when a template is
// applied.
func Check(t *spec.AnalysisTemplate) []spec.FieldError {
	if t == nil {
		return nil
	}
	// Every declared argument gets a placeholder value: only which
	// arguments exist matters here.
	declared := make([]spec.TemplateArg, len(t.Args))
	for i, a := range t.Args {
		v := "x"
		declared[i] = spec.TemplateArg{Name: a.Name, Value: &v}
	}
	v, err := resolveArgs(Target{}, declared, nil)
	if err != nil {
		return []spec.FieldError{{Path: "spec.args", Message: err.Error()}}
	}
	var out []spec.FieldError
	for i, sm := range t.Metrics {
		path := fmt.Sprintf("spec.metrics[%d]", i)
		_, err := compileMetric(Target{}, "", sm, v, Options{})
		if err == nil {
			continue
		}
		field, msg := splitField(err)
		if field != "" {
			path += "." + field
		}
		out = append(out, spec.FieldError{Path: path, Message: msg})
	}
	return out
}

// splitField separates the field a compileMetric error starts with
// (`successCondition: …`, `provider.webhook.url: …`) from its message.
func splitField(err error) (field, msg string) {
	s := err.Error()
	if errors.Is(err, ErrCondition) || errors.Is(err, ErrPlaceholder) || errors.Is(err, ErrUndeclaredArg) {
		if f, rest, ok := strings.Cut(s, ": "); ok && !strings.ContainsAny(f, " {") {
			return f, rest
		}
	}
	return "", s
}
