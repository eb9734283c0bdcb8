package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"

	yaml "sigs.k8s.io/yaml/goyaml.v3"

	"sluice.dev/sluice/internal/flags"
)

// APIVersion is the only apiVersion sluice accepts.
const APIVersion = "sluice.dev/v1"

// Kinds of resources.
const (
	KindApp              = "App"
	KindAnalysisTemplate = "AnalysisTemplate"
	KindFlagSet          = "FlagSet"
)

// knownKinds lists the kinds for messages.
const knownKinds = KindApp + ", " + KindAnalysisTemplate + " or " + KindFlagSet

// Metadata identifies a resource.
type Metadata struct {
	// Name is a DNS label: lowercase letters, digits and '-', at most 63.
	Name string `json:"name"`
	// Labels are free-form key/values for people and tools.
	Labels map[string]string `json:"labels,omitempty"`
	// ResourceVersion, when given, makes the write conditional: it must be
	// the stored version or the write fails with a conflict.
	ResourceVersion int64 `json:"resourceVersion,omitempty"`
	// CreatedAt, UpdatedAt and Generation are set by the server; they are
	// accepted on input so that `get -o yaml` output can be applied again,
	// and ignored.
	CreatedAt  string `json:"createdAt,omitempty"`
	UpdatedAt  string `json:"updatedAt,omitempty"`
	Generation int64  `json:"generation,omitempty"`
}

// envelope is a document's outer shape.
type envelope struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   Metadata        `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Status     json.RawMessage `json:"status,omitempty"` // accepted, ignored
}

// Document is one decoded, checked and defaulted resource.
type Document struct {
	// Kind is App, AnalysisTemplate or FlagSet.
	Kind string
	// Metadata is as given.
	Metadata Metadata
	// App is set when Kind is App, with defaults applied.
	App *App
	// AnalysisTemplate is set when Kind is AnalysisTemplate, with defaults.
	AnalysisTemplate *AnalysisTemplate
	// FlagSet is set when Kind is FlagSet: the flags compiled, ready to
	// evaluate.
	FlagSet *flags.Set
	// Spec is the canonical JSON of the spec (defaults applied), as stored.
	Spec json.RawMessage
}

// ID is `Kind/name`, the way problems name a document.
func (d Document) ID() string { return d.Kind + "/" + d.Metadata.Name }

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidName reports the problem with a resource name, or "".
func ValidName(name string) string {
	switch {
	case name == "":
		return "is required"
	case len(name) > 63:
		return fmt.Sprintf("%q is longer than 63 characters", name)
	case !dnsLabel.MatchString(name):
		return fmt.Sprintf("%q is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)", name)
	}
	return ""
}

// Decode reads one or more YAML or JSON documents (separated by `---`),
// checks, defaults and validates each, and returns them in order. On any
// problem in any document it returns a *ValidationError naming them all and
// no documents.
func Decode(data []byte) ([]Document, error) {
	raws, err := splitDocuments(data)
	if err != nil {
		return nil, &ValidationError{Problems: []FieldError{{Message: err.Error()}}}
	}
	if len(raws) == 0 {
		return nil, &ValidationError{Problems: []FieldError{{Message: "no documents found"}}}
	}
	var all problems
	docs := make([]Document, 0, len(raws))
	seen := map[string]bool{}
	for i, raw := range raws {
		doc, fe := decodeOne(raw)
		label := fmt.Sprintf("document %d", i+1)
		if doc.Kind != "" && doc.Metadata.Name != "" {
			label = doc.ID()
			if seen[label] && len(fe) == 0 {
				fe = append(fe, FieldError{Path: "metadata.name", Message: "appears twice in this request"})
			}
			seen[label] = true
		}
		if len(raws) > 1 {
			for j := range fe {
				fe[j].Resource = label
			}
		}
		all.merge(fe)
		docs = append(docs, doc)
	}
	if err := all.err(); err != nil {
		return nil, err
	}
	return docs, nil
}

// splitDocuments parses a YAML (or JSON) stream into generic values.
func splitDocuments(data []byte) ([]any, error) {
	if docs, ok := splitJSONDocuments(data); ok {
		return docs, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []any
	for n := 1; ; n++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if v == nil {
			continue // an empty document between separators
		}
		out = append(out, normalize(v))
	}
}

// normalize turns YAML's map[any]any into map[string]any throughout.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	}
	return v
}

// decodeOne checks one generic document and builds its Document. It
// returns what it could decode even when there are problems, so that the
// caller can name the document.
func decodeOne(raw any) (Document, []FieldError) {
	var p problems
	p.merge(checkShape(raw, reflect.TypeFor[envelope](), ""))
	b, err := json.Marshal(raw)
	if err != nil {
		p.add("", "cannot encode document: %v", err)
		return Document{}, p.list
	}
	var env envelope
	if len(p.list) > 0 {
		// Salvage kind and name for the error message; ignore failures.
		_ = json.Unmarshal(b, &env)
		return Document{Kind: env.Kind, Metadata: Metadata{Name: env.Metadata.Name}}, p.list
	}
	if err := json.Unmarshal(b, &env); err != nil {
		p.add("", "%v", err)
		return Document{}, p.list
	}
	doc := Document{Kind: env.Kind, Metadata: env.Metadata}
	switch {
	case env.APIVersion == "":
		p.add("apiVersion", "is required (%s)", APIVersion)
	case env.APIVersion != APIVersion:
		p.add("apiVersion", "%q is not supported; use %s", env.APIVersion, APIVersion)
	}
	if msg := ValidName(env.Metadata.Name); msg != "" {
		p.add("metadata.name", "%s", msg)
	}
	if len(env.Spec) == 0 || string(env.Spec) == "null" {
		p.add("spec", "is required")
		return doc, p.list
	}
	switch env.Kind {
	case KindApp:
		app, fe := decodeApp(env.Spec)
		p.merge(fe)
		doc.App = app
	case KindAnalysisTemplate:
		tpl, fe := decodeAnalysisTemplate(env.Spec)
		p.merge(fe)
		doc.AnalysisTemplate = tpl
	case KindFlagSet:
		var fe []FieldError
		doc.FlagSet, doc.Spec, fe = decodeFlagSet(env.Spec)
		p.merge(fe)
	case "":
		p.add("kind", "is required (%s)", knownKinds)
	default:
		p.add("kind", "%q is not a known kind (%s)", env.Kind, knownKinds)
	}
	if len(p.list) > 0 || doc.FlagSet != nil {
		return doc, p.list
	}
	var canonical any = doc.App
	if doc.AnalysisTemplate != nil {
		canonical = doc.AnalysisTemplate
	}
	if doc.Spec, err = json.Marshal(canonical); err != nil {
		p.add("spec", "cannot encode: %v", err)
	}
	return doc, p.list
}

// decodeSpec checks a raw spec's shape against T and unmarshals it.
func decodeSpec[T any](raw json.RawMessage) (*T, []FieldError) {
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, []FieldError{{Path: "spec", Message: err.Error()}}
	}
	if fe := checkShape(generic, reflect.TypeFor[T](), "spec"); len(fe) > 0 {
		return nil, fe
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, []FieldError{{Path: "spec", Message: err.Error()}}
	}
	return &out, nil
}
