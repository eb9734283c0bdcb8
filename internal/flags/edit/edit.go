package edit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"sluice.dev/sluice/internal/flags"
)

// Errors the edits return, wrapped with the flag's key.
var (
	// ErrNoFlag means the document has no flag with the key.
	ErrNoFlag = errors.New("no such flag")
	// ErrNoVariant means the flag has no variant with the name.
	ErrNoVariant = errors.New("no such variant")
	// ErrNoDefault means a rollout was asked of a flag without a default
	// variant to send the other users to.
	ErrNoDefault = errors.New("the flag has no default variant")
	// ErrNotARollout means the flag's targeting is a rule that a rollout
	// would replace.
	ErrNotARollout = errors.New("the flag's targeting is not a rollout")
	// ErrMalformed means the document is not a flag-definition document.
	ErrMalformed = errors.New("not a flag-definition document")
)

// Document is a flag-definition document being edited. Create one with
// Parse; it is not safe for concurrent use.
type Document struct {
	top map[string]any
}

// Parse decodes a flag-definition document. Numbers keep their text.
func Parse(spec []byte) (*Document, error) {
	v, err := decode(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: it is not a JSON object", ErrMalformed)
	}
	switch top["flags"].(type) {
	case map[string]any, []any:
	default:
		return nil, fmt.Errorf("%w: it has no \"flags\" object", ErrMalformed)
	}
	return &Document{top: top}, nil
}

// decode reads JSON keeping numbers as json.Number.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// JSON encodes the document.
func (d *Document) JSON() ([]byte, error) { return json.Marshal(d.top) }

// Keys returns the keys of the document's flags, sorted.
func (d *Document) Keys() []string { return slices.Sorted(maps.Keys(d.flagMap())) }

// Flag returns the definition of flag key as it is written (without its
// "key" member in the array form). The map is the document's own: changes
// to it change the document.
func (d *Document) Flag(key string) (map[string]any, error) {
	f, ok := d.flagMap()[key]
	if !ok {
		return nil, fmt.Errorf("flag %q: %w", key, ErrNoFlag)
	}
	return f, nil
}

// flagMap indexes the flags by key, for either form of "flags".
func (d *Document) flagMap() map[string]map[string]any {
	out := map[string]map[string]any{}
	switch all := d.top["flags"].(type) {
	case map[string]any:
		for k, v := range all {
			if f, ok := v.(map[string]any); ok {
				out[k] = f
			}
		}
	case []any:
		for _, v := range all {
			f, ok := v.(map[string]any)
			if !ok {
				continue
			}
			if k, ok := f["key"].(string); ok {
				out[k] = f
			}
		}
	}
	return out
}

// Flags returns every flag by key, as written, without the array form's
// "key" members: the shape two versions of a document are compared in.
func (d *Document) Flags() map[string]any {
	out := map[string]any{}
	for k, f := range d.flagMap() {
		own := make(map[string]any, len(f))
		for m, v := range f {
			if m != "key" {
				own[m] = v
			}
		}
		out[k] = own
	}
	return out
}

// SetState sets the state of flag key (ENABLED or DISABLED) and reports
// whether that changed anything. Disabling is the kill switch: the flag
// then gives no value, and clients use their code default.
func (d *Document) SetState(key string, state flags.State) (bool, error) {
	f, err := d.Flag(key)
	if err != nil {
		return false, err
	}
	if state != flags.StateEnabled && state != flags.StateDisabled {
		return false, fmt.Errorf("flag %q: state %q: use %s or %s", key, state, flags.StateEnabled, flags.StateDisabled)
	}
	if f["state"] == string(state) {
		return false, nil
	}
	f["state"] = string(state)
	return true, nil
}

// SetDefault makes variant the default variant of flag key and reports
// whether that changed anything.
func (d *Document) SetDefault(key, variant string) (bool, error) {
	f, err := d.Flag(key)
	if err != nil {
		return false, err
	}
	if err := checkVariant(key, f, variant); err != nil {
		return false, err
	}
	if f["defaultVariant"] == variant {
		return false, nil
	}
	f["defaultVariant"] = variant
	return true, nil
}

// checkVariant reports an error unless flag f has a variant named v.
func checkVariant(key string, f map[string]any, v string) error {
	variants, _ := f["variants"].(map[string]any)
	if _, ok := variants[v]; ok {
		return nil
	}
	names := make([]string, 0, len(variants))
	for n := range variants {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("flag %q: variant %q (variants: %s): %w", key, v, strings.Join(names, ", "), ErrNoVariant)
}

// defaultVariant returns the flag's default variant, or "".
func defaultVariant(f map[string]any) string {
	s, _ := f["defaultVariant"].(string)
	return s
}
