package flags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
)

// conformanceDir is the shared conformance data, beside the repository.
const conformanceDir = "../../../shared/conformance"

// testbedDir returns the flagd testbed's directory, skipping the test when
// the shared conformance data is not there.
func testbedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(conformanceDir, "flagd-testbed")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("flagd testbed not found at %s (the shared/ folder beside the repository): %v", dir, err)
	}
	return dir
}

// TestFlagdTestbed runs the flagd testbed's evaluator scenarios
// (evaluator/gherkin/*.feature) against testkit-flags.json.
//
// Scenarios tagged @fractional-v1 are excluded: they pin the legacy
// floating-point bucketing of flagd before 0.15, and sluice implements the
// integer bucketing of later versions (@fractional-v2), whose scenarios
// run. Every other scenario runs. The testbed's flag file uses rules the
// schema rejects (a $ref to a missing evaluator, sem_ver with two
// arguments …) to check flagd's runtime answers to them, so it is loaded
// with ParseLenient.
func TestFlagdTestbed(t *testing.T) {
	dir := testbedDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "evaluator", "flags", "testkit-flags.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseLenient(data)
	if err != nil {
		t.Fatalf("load testkit-flags.json: %v", err)
	}
	var report bytes.Buffer
	suite := godog.TestSuite{
		Name: "flagd-testbed-evaluator",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			(&testbedScenario{set: set}).register(sc)
		},
		Options: &godog.Options{
			Format:   "progress",
			Output:   &report,
			Paths:    []string{filepath.Join(dir, "evaluator", "gherkin")},
			Tags:     "~@fractional-v1",
			Strict:   true,
			NoColors: true,
			TestingT: t,
		},
	}
	status := suite.Run()
	for _, line := range strings.Split(report.String(), "\n") {
		if strings.Contains(line, " scenarios (") || strings.Contains(line, " steps (") {
			t.Log(line)
		}
	}
	if status != 0 {
		t.Fatalf("testbed scenarios failed (status %d):\n%s", status, report.String())
	}
}

// testbedScenario is the state of one scenario.
type testbedScenario struct {
	set      *Set
	loaded   *Set
	typ      string
	key      string
	fallback string
	ctx      map[string]any
	result   Evaluation
}

// register binds the testbed's step phrases.
func (s *testbedScenario) register(sc *godog.ScenarioContext) {
	sc.Step(`^an evaluator$`, s.anEvaluator)
	sc.Step(`^a (Boolean|String|Integer|Float|Object)-flag with key "([^"]*)" and a fallback value "(.*)"$`, s.aFlag)
	sc.Step(`^a context containing a key "([^"]*)", with type "([^"]*)" and with value "(.*)"$`, s.contextKey)
	sc.Step(`^a context containing a nested property with outer key "([^"]*)" and inner key "([^"]*)", with value "(.*)"$`, s.contextNested)
	sc.Step(`^a context containing a targeting key with value "(.*)"$`, s.contextTargetingKey)
	sc.Step(`^the flag was evaluated with details$`, s.evaluate)
	sc.Step(`^the resolved details value should be "(.*)"$`, s.valueShouldBe)
	sc.Step(`^the reason should be "([^"]*)"$`, s.reasonShouldBe)
	sc.Step(`^the error-code should be "([^"]*)"$`, s.errorCodeShouldBe)
	sc.Step(`^the resolved metadata should contain$`, s.metadataShouldContain)
	sc.Step(`^the resolved metadata is empty$`, s.metadataEmpty)
}

func (s *testbedScenario) anEvaluator() error {
	s.loaded = s.set
	s.ctx = map[string]any{}
	return nil
}

func (s *testbedScenario) aFlag(typ, key, fallback string) error {
	s.typ, s.key, s.fallback = typ, key, fallback
	return nil
}

func (s *testbedScenario) contextKey(key, typ, value string) error {
	v, err := typedValue(typ, value)
	if err != nil {
		return err
	}
	s.ctx[key] = v
	return nil
}

func (s *testbedScenario) contextNested(outer, inner, value string) error {
	s.ctx[outer] = map[string]any{inner: value}
	return nil
}

func (s *testbedScenario) contextTargetingKey(value string) error {
	s.ctx[targetingKeyField] = value
	return nil
}

func (s *testbedScenario) evaluate() error {
	if s.loaded == nil {
		return fmt.Errorf("no evaluator")
	}
	want := map[string]ValueType{
		"Boolean": TypeBoolean, "String": TypeString, "Integer": TypeNumber,
		"Float": TypeNumber, "Object": TypeObject,
	}[s.typ]
	s.result = s.loaded.Evaluate(s.key, s.ctx, time.Now()).As(want)
	return nil
}

// resolved is what an OpenFeature client would return: the value, or the
// fallback when there is none.
func (s *testbedScenario) resolved() (any, error) {
	if s.result.Value == nil {
		return typedValue(s.typ, s.fallback)
	}
	if s.typ == "Integer" {
		return int64(s.result.Value.(float64)), nil
	}
	return s.result.Value, nil
}

func (s *testbedScenario) valueShouldBe(expected string) error {
	got, err := s.resolved()
	if err != nil {
		return err
	}
	want, err := typedValue(s.typ, expected)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("value: got %#v, want %#v (evaluation %+v)", got, want, s.result)
	}
	return nil
}

func (s *testbedScenario) reasonShouldBe(reason string) error {
	if string(s.result.Reason) != reason {
		return fmt.Errorf("reason: got %s, want %s (evaluation %+v)", s.result.Reason, reason, s.result)
	}
	return nil
}

func (s *testbedScenario) errorCodeShouldBe(code string) error {
	if string(s.result.ErrorCode) != code {
		return fmt.Errorf("error code: got %q, want %q (evaluation %+v)", s.result.ErrorCode, code, s.result)
	}
	return nil
}

func (s *testbedScenario) metadataShouldContain(table *godog.Table) error {
	for _, row := range table.Rows[1:] {
		key, typ, value := row.Cells[0].Value, row.Cells[1].Value, row.Cells[2].Value
		want, err := typedValue(typ, value)
		if err != nil {
			return err
		}
		got := s.result.Metadata[key]
		if typ == "Integer" {
			if f, ok := got.(float64); ok {
				got = int64(f)
			}
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("metadata %q: got %#v, want %#v", key, got, want)
		}
	}
	return nil
}

func (s *testbedScenario) metadataEmpty() error {
	if len(s.result.Metadata) != 0 {
		return fmt.Errorf("metadata: got %v, want none", s.result.Metadata)
	}
	return nil
}

// typedValue converts a scenario's text to a value of the testbed's type
// names, as an OpenFeature client would hold it.
func typedValue(typ, text string) (any, error) {
	switch typ {
	case "Boolean":
		return strconv.ParseBool(text)
	case "String":
		return text, nil
	case "Integer":
		return strconv.ParseInt(text, 10, 64)
	case "Float":
		return strconv.ParseFloat(text, 64)
	case "Object":
		var v map[string]any
		err := json.Unmarshal([]byte(strings.ReplaceAll(text, `\"`, `"`)), &v)
		return v, err
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// TestTestbedFlagFilesLoad loads every flag file of the testbed's provider
// suites the way flagd does; the strict parser must accept those that
// keep to the schema.
func TestTestbedFlagFilesLoad(t *testing.T) {
	dir := testbedDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "flags", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no flag files in %s: %v", dir, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			set, err := ParseLenient(data)
			if err != nil {
				t.Fatalf("ParseLenient: %v", err)
			}
			if set.Len() == 0 {
				t.Fatal("no flags loaded")
			}
			for _, p := range set.Problems() {
				t.Logf("tolerated: %s", p)
			}
		})
	}
}

// TestTestbedEdgeCaseFlags evaluates the testbed's edge-case flags, which
// its provider suites use, with the answers flagd gives.
func TestTestbedEdgeCaseFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testbedDir(t), "flags", "edge-case-flags.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseLenient(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		ctx    map[string]any
		value  any
		reason Reason
		code   ErrorCode
	}{
		{"targeting-null-variant-flag", nil, 2.0, ReasonDefault, ""},
		{"error-targeting-flag", nil, nil, ReasonError, ErrorParse},
		{"missing-variant-targeting-flag", nil, nil, ReasonError, ErrorGeneral},
		{"non-string-variant-targeting-flag", nil, 2.0, ReasonTargetingMatch, ""},
		{"empty-targeting-flag", nil, 1.0, ReasonStatic, ""},
		{"targeting-null-flag", nil, 2.0, ReasonDefault, ""},
		{"targeting-null-flag", map[string]any{"targetingKey": "u"}, 1.0, ReasonTargetingMatch, ""},
		{"fractional-zero-weights-flag", map[string]any{"targetingKey": "u"}, "fallback", ReasonDefault, ""},
		{"semver-invalid-version-flag", map[string]any{"version": "x"}, "fallback", ReasonDefault, ""},
	}
	for _, tt := range tests {
		got := set.Evaluate(tt.key, tt.ctx, testNow())
		if got.Value != tt.value || got.Reason != tt.reason || got.ErrorCode != tt.code {
			t.Errorf("%s %v: %+v, want %v %s %q", tt.key, tt.ctx, got, tt.value, tt.reason, tt.code)
		}
	}
}
