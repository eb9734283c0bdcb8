package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flagSetYAML is the FlagSet of the design, as a user writes it.
const flagSetYAML = `apiVersion: sluice.dev/v1
kind: FlagSet
metadata:
  name: production
spec:
  flags:
    new-checkout:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "off"
      targeting:
        fractional: [["on", 10], ["off", 90]]
`

// flagSet wraps a flag-definition document (JSON) as a FlagSet named env.
func flagSet(env, spec string) string {
	return fmt.Sprintf(`{"apiVersion":"sluice.dev/v1","kind":"FlagSet","metadata":{"name":%q},"spec":%s}`, env, spec)
}

// oneFlag is a flag-definition document with one flag, whose members are
// given.
func oneFlag(members string) string {
	return `{"flags":{"new-checkout":{` + members + `}}}`
}

func TestDecodeFlagSet(t *testing.T) {
	docs, err := Decode([]byte(flagSetYAML))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	d := docs[0]
	if d.ID() != "FlagSet/production" || d.FlagSet == nil || d.App != nil {
		t.Fatalf("document = %+v", d)
	}
	want := `{"flags":{"new-checkout":{"defaultVariant":"off","state":"ENABLED","targeting":{"fractional":[["on",10],["off",90]]},"variants":{"off":false,"on":true}}}}`
	if string(d.Spec) != want {
		t.Errorf("stored spec\n %s\nwant\n %s", d.Spec, want)
	}
	ev := d.FlagSet.Evaluate("new-checkout", map[string]any{"targetingKey": "user-1"}, time.Now())
	if ev.ErrorCode != "" || ev.Variant == "" {
		t.Errorf("the compiled set does not evaluate: %+v", ev)
	}
}

// TestPlainFlagdFilesLoadUnchanged puts flagd's own positive test files
// and minimal example, as they are, under spec: every one loads and its
// spec is stored with the same meaning. (examples/full.json breaks the
// schema it ships with; see TestFlagdFullExampleIsRefusedWithPaths.)
func TestPlainFlagdFilesLoadUnchanged(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "conformance", "flagd-schema")
	files, _ := filepath.Glob(filepath.Join(dir, "test", "flag*", "positive", "*.json"))
	if len(files) == 0 {
		t.Skipf("no flagd schema files under %s (the shared/ folder beside the repository)", dir)
	}
	files = append(files, filepath.Join(dir, "examples", "minimal.json"))
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := Decode([]byte(flagSet("production", string(raw))))
			if err != nil {
				t.Fatalf("a flagd file was refused: %v", err)
			}
			if !sameJSON(t, raw, docs[0].Spec) {
				t.Errorf("the stored spec changed the file:\n%s", docs[0].Spec)
			}
		})
	}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestDecodeFlagSetRejects(t *testing.T) {
	bool2 := `"state":"ENABLED","variants":{"on":true,"off":false}`
	cases := []struct {
		name string
		doc  string
		want []string // fields, in order
	}{
		{"unknown default variant", oneFlag(bool2 + `,"defaultVariant":"maybe"`),
			[]string{"spec.flags.new-checkout.defaultVariant"}},
		{"mixed variant types", oneFlag(`"state":"ENABLED","variants":{"on":true,"off":"no"},"defaultVariant":"on"`),
			[]string{"spec.flags.new-checkout.variants"}},
		{"bad state", oneFlag(`"state":"ON","variants":{"on":true},"defaultVariant":"on"`),
			[]string{"spec.flags.new-checkout.state"}},
		{"unknown operator", oneFlag(bool2 + `,"defaultVariant":"off","targeting":{"frobnicate":[1]}`),
			[]string{"spec.flags.new-checkout.targeting"}},
		{"ref to nothing", oneFlag(bool2 + `,"defaultVariant":"off","targeting":{"if":[{"$ref":"staff"},"on","off"]}`),
			[]string{"spec.flags.new-checkout.targeting"}},
		{"weights overflow", oneFlag(bool2 + `,"defaultVariant":"off","targeting":{"fractional":[["on",9223372036854775807],["off",9223372036854775807]]}`),
			[]string{"spec.flags.new-checkout.targeting"}},
		{"no flags", `{"metadata":{}}`, []string{"spec.flags"}},
		{"not an object", `[1,2]`, []string{"spec"}},
		{"unknown member", `{"flags":{},"flagz":{}}`, []string{"spec.flagz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, err := Decode([]byte(flagSet("production", c.doc)))
			ve, ok := AsValidationError(err)
			if !ok || docs != nil {
				t.Fatalf("Decode = %v, %v; want a ValidationError and no documents", docs, err)
			}
			if len(ve.Problems) < len(c.want) {
				t.Fatalf("problems %v, want fields %v", ve.Problems, c.want)
			}
			for i, w := range c.want {
				if p := ve.Problems[i]; !strings.HasPrefix(p.Path, w) || p.Message == "" {
					t.Errorf("problem %d = %q, want field %s", i, p, w)
				}
			}
		})
	}
}

func TestInvalidFlagSetRejectsTheWholeRequest(t *testing.T) {
	good := app()
	bad := flagSet("staging", oneFlag(`"state":"ENABLED","variants":{"on":true},"defaultVariant":"off"`))
	_, err := Decode([]byte(good + "---\n" + bad))
	ve, ok := AsValidationError(err)
	if !ok || len(ve.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	p := ve.Problems[0]
	if p.Resource != "FlagSet/staging" || p.Path != "spec.flags.new-checkout.defaultVariant" {
		t.Errorf("problem = %+v", p)
	}
}

func TestFlagSetNameIsTheEnvironment(t *testing.T) {
	_, err := Decode([]byte(flagSet("Production!", `{"flags":{}}`)))
	if err == nil || !strings.Contains(err.Error(), "metadata.name") {
		t.Fatalf("a bad environment name: %v", err)
	}
	_, err = Decode([]byte(flagSet("production", "null")))
	if err == nil || !strings.Contains(err.Error(), "spec: is required") {
		t.Fatalf("a FlagSet without spec: %v", err)
	}
}

// TestFlagdFullExampleIsRefusedWithPaths applies flagd's full example,
// which breaks its own schema in two places (internal/flags documents
// them): both are reported under spec.
func TestFlagdFullExampleIsRefusedWithPaths(t *testing.T) {
	file := filepath.Join("..", "..", "..", "shared", "conformance", "flagd-schema", "examples", "full.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Skipf("no flagd example: %v", err)
	}
	_, err = Decode([]byte(flagSet("production", string(raw))))
	ve, ok := AsValidationError(err)
	if !ok || len(ve.Problems) != 2 {
		t.Fatalf("err = %v", err)
	}
	for _, p := range ve.Problems {
		if !strings.HasPrefix(p.Path, "spec.flags.") || !strings.Contains(p.Path, ".targeting.") {
			t.Errorf("problem %q is not located in a flag's targeting", p)
		}
	}
}

// largeFlagSet is a FlagSet of n flags in JSON: static, targeted and
// fractional flags in turn.
func largeFlagSet(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"apiVersion":"sluice.dev/v1","kind":"FlagSet","metadata":{"name":"production"},"spec":{"flags":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"flag-%05d":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","metadata":{"owner":"team-%d"}`, i, i%17)
		switch i % 3 {
		case 1:
			b.WriteString(`,"targeting":{"if":[{"ends_with":[{"var":"email"},"@example.com"]},"on",null]}`)
		case 2:
			fmt.Fprintf(&b, `,"targeting":{"fractional":[["on",%d],["off",%d]]}`, i%100, 100-i%100)
		}
		b.WriteString("}")
	}
	b.WriteString("}}}")
	return []byte(b.String())
}

// BenchmarkDecodeFlagSet10000 decodes and validates a FlagSet of 10,000
// flags, as an apply does before storing it.
func BenchmarkDecodeFlagSet10000(b *testing.B) {
	doc := largeFlagSet(10000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		docs, err := Decode(doc)
		if err != nil || docs[0].FlagSet.Len() != 10000 {
			b.Fatalf("Decode: %v", err)
		}
	}
}
