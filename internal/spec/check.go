package spec

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strings"
)

// textValued marks types that are written as a JSON string but unmarshal
// into something else (Duration).
type textValued interface {
	textValued()
}

var (
	textValuedType = reflect.TypeFor[textValued]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
)

// checkShape walks a decoded document (maps, slices and scalars as produced
// by YAML or JSON decoding) against the Go type it will be unmarshalled into
// and reports every unknown field and every value of the wrong type, with its
// path. Unmarshalling a value that passes cannot fail on shape.
func checkShape(v any, t reflect.Type, path string) []FieldError {
	var p problems
	walkShape(&p, v, t, path)
	return p.list
}

func walkShape(p *problems, v any, t reflect.Type, path string) {
	if v == nil {
		return // null is "not set" everywhere
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return // checked by whoever interprets it
	}
	if reflect.PointerTo(t).Implements(textValuedType) {
		if _, ok := v.(string); !ok {
			p.add(path, "must be a string, got %s", kindName(v))
			return
		}
		// Let the type judge the text, so that every bad value is reported
		// here with its path rather than by the first failed unmarshal.
		if u, ok := reflect.New(t).Interface().(json.Unmarshaler); ok {
			b, _ := json.Marshal(v)
			if err := u.UnmarshalJSON(b); err != nil {
				p.add(path, "%v", err)
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		walkShape(p, v, t.Elem(), path)
	case reflect.Struct:
		walkStruct(p, v, t, path)
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			p.add(path, "must be a list, got %s", kindName(v))
			return
		}
		for i, item := range list {
			walkShape(p, item, t.Elem(), index(path, i))
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			p.add(path, "must be a map, got %s", kindName(v))
			return
		}
		for _, k := range sortedKeys(m) {
			walkShape(p, m[k], t.Elem(), join(path, k))
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			p.add(path, "must be a string, got %s", kindName(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			p.add(path, "must be true or false, got %s", kindName(v))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		f, ok := number(v)
		switch {
		case !ok:
			p.add(path, "must be a whole number, got %s", kindName(v))
		case f != math.Trunc(f) || math.Abs(f) > 1<<53:
			p.add(path, "must be a whole number, got %v", v)
		}
	case reflect.Float64:
		if _, ok := number(v); !ok {
			p.add(path, "must be a number, got %s", kindName(v))
		}
	}
}

func walkStruct(p *problems, v any, t reflect.Type, path string) {
	m, ok := v.(map[string]any)
	if !ok {
		p.add(path, "must be an object, got %s", kindName(v))
		return
	}
	fields := jsonFields(t)
	for _, k := range sortedKeys(m) {
		f, ok := fields[k]
		if !ok {
			p.add(join(path, k), "unknown field")
			continue
		}
		walkShape(p, m[k], f.Type, join(path, k))
	}
}

// jsonFields maps JSON names to struct fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func kindName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return reflect.TypeOf(v).String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
