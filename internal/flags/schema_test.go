package flags

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// schemaDir returns the flagd schema's directory, skipping the test when
// the shared conformance data is not there.
func schemaDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(conformanceDir, "flagd-schema")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("flagd schema not found at %s (the shared/ folder beside the repository): %v", dir, err)
	}
	return dir
}

// schemaFiles lists the JSON files matching pattern under the schema dir.
func schemaFiles(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(schemaDir(t), pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", pattern, err)
	}
	return files
}

// readFile reads a test file.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// validationProblems returns the problems of a *ValidationError.
func validationProblems(t *testing.T, err error) []FieldError {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if len(verr.Problems) == 0 {
		t.Fatal("ValidationError without problems")
	}
	return verr.Problems
}

func TestSchemaPositiveFlagSetsParse(t *testing.T) {
	files := append(schemaFiles(t, "test/flags/positive/*.json"), schemaFiles(t, "test/flagd/positive/*.json")...)
	files = append(files, filepath.Join(schemaDir(t), "examples", "minimal.json"))
	for _, file := range files {
		t.Run(strings.TrimPrefix(file, schemaDir(t)), func(t *testing.T) {
			set, err := Parse(readFile(t, file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if set.Len() == 0 {
				t.Fatal("no flags")
			}
		})
	}
}

func TestSchemaNegativeFlagSetsAreRejected(t *testing.T) {
	// Each file must be rejected, and the first problem must point at the
	// part that breaks the schema.
	want := map[string]FieldError{
		"empty-variants.json":                 {"flags.myBoolFlag.variants", "needs at least one variant"},
		"malformed-flag.json":                 {"flags.not-a-flag.state", "is required"},
		"missing-variants.json":               {"flags.myBoolFlag.variants", "is required"},
		"mixed-variant-types.ffconfig.json":   {"flags.myBoolFlag.variants", "variants must share one type"},
		"state-set-incorrectly.json":          {"flags.myBoolFlag.state", `must be "ENABLED" or "DISABLED", got "WILL-FAIL"`},
		"with-array-flags.json":               {"flags", "the array form belongs to flagd.json"},
		"with-invalid-flag-metadata.json":     {"flags.myBoolFlag.metadata.invalid", "metadata values must be strings, numbers or booleans"},
		"with-invalid-flag-set-metadata.json": {"metadata.invalid", "metadata values must be strings, numbers or booleans"},
		"with-invalid-targeting.json":         {"flags.targetedFlag.targeting.not-a-real-rule", `unknown operator "not-a-real-rule"`},
	}
	files := schemaFiles(t, "test/flags/negative/*.json")
	if len(files) != len(want) {
		t.Errorf("%d negative files, %d expectations: update the test", len(files), len(want))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			set, err := Parse(readFile(t, file))
			if set != nil || err == nil {
				t.Fatalf("Parse accepted it: set %v, err %v", set, err)
			}
			first := validationProblems(t, err)[0]
			w := want[name]
			if first.Path != w.Path || !strings.Contains(first.Message, w.Message) {
				t.Errorf("first problem %q, want path %q with %q", first, w.Path, w.Message)
			}
		})
	}
}

// targetingDocument wraps a targeting rule in a flag set. The targeting
// schema checks the shape of a $ref but not its target, which a document
// supplies, so the wrapper defines the evaluator the tests refer to.
func targetingDocument(t *testing.T, rule []byte) []byte {
	t.Helper()
	doc := map[string]any{
		"flags": map[string]any{
			"f": map[string]any{
				"state":          "ENABLED",
				"variants":       map[string]any{"a": "a", "b": "b"},
				"defaultVariant": "a",
				"targeting":      json.RawMessage(rule),
			},
		},
		"$evaluators": map[string]any{"some-ref": map[string]any{"==": []any{1, 1}}},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSchemaTargetingRules(t *testing.T) {
	for _, file := range schemaFiles(t, "test/targeting/positive/*.json") {
		t.Run("positive/"+filepath.Base(file), func(t *testing.T) {
			if _, err := Parse(targetingDocument(t, readFile(t, file))); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
	want := map[string]FieldError{
		"fractional-decimal-weighting.json":    {"flags.f.targeting.fractional[1][1]", "weight must be a whole number, got 25.5"},
		"fractional-invalid-bucketing.json":    {"flags.f.targeting.fractional[0]", "the bucketing value must be a rule"},
		"fractional-invalid-weighting.json":    {"flags.f.targeting.fractional[1][1]", "weight must be a whole number, got string"},
		"fractional-negative-weighting.json":   {"flags.f.targeting.fractional[1][1]", "weight must not be negative, got -25"},
		"invalid-ends-with-param.json":         {"flags.f.targeting.if[0].ends_with[1]", "ends_with compares strings, got number"},
		"invalid-flagd-props.json":             {"flags.f.targeting.if[0].==[0].var", `"$flagd.invalidProp" is not a flagd property`},
		"invalid-starts-with-param.json":       {"flags.f.targeting.if[0].starts_with[1]", "starts_with compares strings, got number"},
		"sem-ver-invalid-range-specifier.json": {"flags.f.targeting.if[0].sem_ver[1]", `sem_ver operator must be one of`},
		"sem-ver-invalid-ver-expression.json":  {"flags.f.targeting.if[0].sem_ver[2]", `"2.0.0.0" is not a semantic version`},
	}
	files := schemaFiles(t, "test/targeting/negative/*.json")
	if len(files) != len(want) {
		t.Errorf("%d negative files, %d expectations: update the test", len(files), len(want))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run("negative/"+name, func(t *testing.T) {
			_, err := Parse(targetingDocument(t, readFile(t, file)))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			first := validationProblems(t, err)[0]
			w := want[name]
			if first.Path != w.Path || !strings.Contains(first.Message, w.Message) {
				t.Errorf("first problem %q, want path %q with %q", first, w.Path, w.Message)
			}
		})
	}
}

// TestSchemaFullExample covers examples/full.json, which the schema itself
// rejects: it uses ends_with with a number and sem_ver with "2.0.0.0",
// exactly what test/targeting/negative requires rejecting. Parse reports
// both; ParseLenient loads it with flagd's meaning for them (null).
func TestSchemaFullExample(t *testing.T) {
	data := readFile(t, filepath.Join(schemaDir(t), "examples", "full.json"))
	_, err := Parse(data)
	got := validationProblems(t, err)
	want := []string{
		"flags.equal-greater-lesser-version-flag.targeting.if[2].if[2].if[2].if[0].sem_ver[2]",
		"flags.starts-ends-flag.targeting.if[2].if[2].if[0].ends_with[1]",
	}
	if len(got) != len(want) {
		t.Fatalf("problems %v, want at %v", got, want)
	}
	for i := range want {
		if got[i].Path != want[i] {
			t.Errorf("problem %d at %q, want %q", i, got[i].Path, want[i])
		}
	}
	set, err := ParseLenient(data)
	if err != nil {
		t.Fatalf("ParseLenient: %v", err)
	}
	if len(set.Problems()) != 2 {
		t.Errorf("tolerated %v, want the 2 above", set.Problems())
	}
	ev := set.Evaluate("starts-ends-flag", map[string]any{"id": "lmnopq"}, testNow())
	if ev.Value != "none" || ev.Reason != ReasonTargetingMatch {
		t.Errorf("starts-ends-flag: %+v, want none by TARGETING_MATCH", ev)
	}
}
