package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// splitJSONDocuments decodes data that is one JSON object the way the YAML
// decoder would, only faster: YAML checks a mapping's keys for duplicates
// pairwise, which makes a 10,000-flag FlagSet take seconds. It returns
// false for anything else (YAML, JSON documents joined with ---, broken
// JSON); the caller then decodes it as YAML, which also gives the better
// error messages.
func splitJSONDocuments(data []byte) ([]any, bool) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return []any{jsonNumbers(v)}, true
}

// jsonNumbers replaces json.Number values with what the YAML decoder gives
// for the same text: int for whole numbers that fit, uint64 beyond,
// float64 otherwise.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return int(i)
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return u
		}
		f, err := t.Float64()
		if err != nil {
			return string(t) // out of float64's range: let validation refuse it
		}
		return f
	}
	return v
}
