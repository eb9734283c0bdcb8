package edit

import (
	"errors"
	"strings"
	"testing"
)

func TestSetTargeting(t *testing.T) {
	doc, err := Parse([]byte(`{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
		"targeting": {"if": [{"==": [{"var": "email"}, "a@b.c"]}, "on"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	rule := `{"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]}`
	if changed, err := doc.SetTargeting("f", []byte(rule)); err != nil || !changed {
		t.Fatalf("set: %v %v", changed, err)
	}
	if changed, _ := doc.SetTargeting("f", []byte(" "+rule+"\n")); changed {
		t.Error("setting the same rule again changed the document")
	}
	out, _ := doc.JSON()
	if !strings.Contains(string(out), `"ends_with"`) || strings.Contains(string(out), "a@b.c") {
		t.Fatalf("document %s", out)
	}
	for _, bad := range []string{`{"if": [`, `{"a": 1} {"b": 2}`} {
		if _, err := doc.SetTargeting("f", []byte(bad)); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, err := doc.SetTargeting("nope", []byte(rule)); !errors.Is(err, ErrNoFlag) {
		t.Errorf("unknown flag: %v", err)
	}
	for _, none := range []string{"", "null", "{}"} {
		doc.SetTargeting("f", []byte(rule))
		if changed, err := doc.SetTargeting("f", []byte(none)); err != nil || !changed {
			t.Errorf("%q: %v %v", none, changed, err)
		}
		if f, _ := doc.Flag("f"); f["targeting"] != nil {
			t.Errorf("%q left targeting %v", none, f["targeting"])
		}
	}
}
