package edit

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/flags"
)

const sample = `{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "metadata": {"version": "7"},
  "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@example.com"]}},
  "flags": {
    "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
    "discount": {"state": "ENABLED", "variants": {"none": 0, "some": 0.150, "big": 12345678901234567890}, "defaultVariant": "none",
      "targeting": {"if": [{"$ref": "staff"}, "big", null]}},
    "no-default": {"state": "DISABLED", "variants": {"a": "a", "b": "b"}}
  }
}`

func mustParse(t testing.TB, doc string) *Document {
	t.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustJSON(t testing.TB, d *Document) string {
	t.Helper()
	b, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseRefusesWhatIsNotAFlagDocument(t *testing.T) {
	for _, bad := range []string{"", "{", "[]", `"x"`, `{"flags": 3}`, `{"metadata": {}}`} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestSetStateIsTheKillSwitch(t *testing.T) {
	d := mustParse(t, sample)
	changed, err := d.SetState("new-checkout", flags.StateDisabled)
	if err != nil || !changed {
		t.Fatalf("disable: %v, %v", changed, err)
	}
	if changed, _ := d.SetState("new-checkout", flags.StateDisabled); changed {
		t.Error("disabling twice reported a change")
	}
	set, err := flags.Parse([]byte(mustJSON(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	if ev := set.Evaluate("new-checkout", nil, testNow); ev.Reason != flags.ReasonDisabled || ev.Value != nil {
		t.Fatalf("after disable: %+v", ev)
	}
	if _, err := d.SetState("nope", flags.StateEnabled); !errors.Is(err, ErrNoFlag) {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := d.SetState("new-checkout", "MAYBE"); err == nil {
		t.Error("an unknown state was accepted")
	}
}

func TestSetDefault(t *testing.T) {
	d := mustParse(t, sample)
	if changed, err := d.SetDefault("no-default", "b"); err != nil || !changed {
		t.Fatalf("set-default: %v, %v", changed, err)
	}
	if changed, _ := d.SetDefault("no-default", "b"); changed {
		t.Error("the same default again reported a change")
	}
	_, err := d.SetDefault("no-default", "c")
	if !errors.Is(err, ErrNoVariant) || !strings.Contains(err.Error(), "variants: a, b") {
		t.Fatalf("unknown variant: %v", err)
	}
	if f, _ := d.Flag("no-default"); f["defaultVariant"] != "b" {
		t.Fatalf("flag = %v", f)
	}
}

// TestEditsKeepEverythingElse checks that an edit changes its field and
// nothing else: other flags, evaluators, metadata and the text of numbers.
func TestEditsKeepEverythingElse(t *testing.T) {
	d := mustParse(t, sample)
	if _, err := d.SetState("new-checkout", flags.StateDisabled); err != nil {
		t.Fatal(err)
	}
	out := mustJSON(t, d)
	for _, want := range []string{`"some":0.150`, `"big":12345678901234567890`, `"$ref":"staff"`, `"$schema":"https://flagd.dev/schema/v0/flags.json"`, `"version":"7"`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s lost %s", out, want)
		}
	}
	changes := DiffDocuments([]byte(sample), []byte(out))
	want := []Change{{Path: "flags.new-checkout.state", Kind: Changed, Old: "ENABLED", New: "DISABLED"}}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
}

func TestTheArrayFormIsEditedInPlace(t *testing.T) {
	doc := `{"flags": [{"key": "a", "state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x"},
	  {"key": "b", "state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}]}`
	d := mustParse(t, doc)
	if got := d.Keys(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("keys %v", got)
	}
	if _, err := d.SetDefault("a", "y"); err != nil {
		t.Fatal(err)
	}
	out := mustJSON(t, d)
	if !strings.HasPrefix(out, `{"flags":[{"defaultVariant":"y","key":"a"`) {
		t.Fatalf("array form not kept: %s", out)
	}
	if _, ok := d.Flags()["a"].(map[string]any)["key"]; ok {
		t.Error("Flags kept the array form's key member")
	}
	if _, err := flags.Parse([]byte(out)); err != nil {
		t.Fatalf("the edited document does not parse: %v", err)
	}
}
