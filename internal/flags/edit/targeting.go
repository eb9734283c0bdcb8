package edit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// SetTargeting replaces the targeting rule of flag key with rule (a JsonLogic
// expression, as JSON) and reports whether that changed anything. An empty
// rule, null or {} removes the targeting: the flag then always gives its
// default variant. The rule is not validated here; the server refuses a
// document whose rule does not compile.
func (d *Document) SetTargeting(key string, rule []byte) (bool, error) {
	f, err := d.Flag(key)
	if err != nil {
		return false, err
	}
	rule = bytes.TrimSpace(rule)
	var v any
	if len(rule) > 0 {
		dec := json.NewDecoder(bytes.NewReader(rule))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return false, fmt.Errorf("flag %q: the targeting rule is not JSON: %w", key, err)
		}
		if dec.More() {
			return false, fmt.Errorf("flag %q: the targeting rule is more than one JSON value", key)
		}
	}
	if m, ok := v.(map[string]any); v == nil || (ok && len(m) == 0) {
		_, had := f["targeting"]
		delete(f, "targeting")
		return had, nil
	}
	if reflect.DeepEqual(f["targeting"], v) {
		return false, nil
	}
	f["targeting"] = v
	return true, nil
}
