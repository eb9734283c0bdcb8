package ofrep_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/ofrep"
)

// flagPath is the single-evaluation path of key.
func flagPath(key string) string { return ofrep.FlagsPath + "/" + key }

func TestSingleEvaluationOfEveryType(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	cases := []struct {
		key     string
		value   any
		variant string
	}{
		{"new-checkout", false, "off"},
		{"banner-color", "#00c", "blue"},
		{"max-items", 50.0, "large"},
		{"discount", 0.15, "some"},
		{"theme", map[string]any{"bg": "black", "fg": "white"}, "dark"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			r := f.post(t, flagPath(c.key), prodKey, `{"context":{"targetingKey":"user-1"}}`).wantStatus(t, http.StatusOK)
			r.conform(t, s, flagPath(c.key))
			got := r.decode(t)
			if got["key"] != c.key || got["reason"] != "STATIC" || got["variant"] != c.variant {
				t.Fatalf("answer = %v; want key %s, reason STATIC, variant %s", got, c.key, c.variant)
			}
			value, present := got["value"]
			if !present || !reflect.DeepEqual(value, c.value) {
				t.Fatalf("value = %#v (present %v), want %#v", value, present, c.value)
			}
		})
	}
}

func TestSingleEvaluationCarriesMetadata(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	r := f.post(t, flagPath("new-checkout"), prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
	r.conform(t, s, flagPath("new-checkout"))
	md, _ := r.decode(t)["metadata"].(map[string]any)
	if md["owner"] != "payments" || md["team"] != "checkout" {
		t.Fatalf("metadata = %v; want the flag's owner and the set's team", md)
	}
}

func TestSingleEvaluationTargeting(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)

	match := f.post(t, flagPath("beta-users"), prodKey, `{"context":{"targetingKey":"user-42"}}`).wantStatus(t, http.StatusOK)
	match.conform(t, s, flagPath("beta-users"))
	if got := match.decode(t); got["value"] != true || got["reason"] != "TARGETING_MATCH" || got["variant"] != "on" {
		t.Fatalf("matching user: %v", got)
	}

	// Targeting that chooses nothing falls back to the default variant; the
	// evaluator's DEFAULT has no OFREP reason and travels as UNKNOWN.
	miss := f.post(t, flagPath("beta-users"), prodKey, `{"context":{"targetingKey":"user-7"}}`).wantStatus(t, http.StatusOK)
	miss.conform(t, s, flagPath("beta-users"))
	if got := miss.decode(t); got["value"] != false || got["reason"] != "UNKNOWN" || got["variant"] != "off" {
		t.Fatalf("other user: %v", got)
	}
}

func TestSingleEvaluationFractionalMatchesEvaluator(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	seen := map[any]bool{}
	for _, user := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"} {
		body := `{"context":{"targetingKey":"` + user + `"}}`
		r := f.post(t, flagPath("split"), prodKey, body).wantStatus(t, http.StatusOK)
		r.conform(t, s, flagPath("split"))
		want := f.set.Evaluate("split", map[string]any{"targetingKey": user}, time.Now())
		got := r.decode(t)
		if got["value"] != want.Value || got["variant"] != want.Variant {
			t.Fatalf("%s: answer %v, evaluator says %s=%v", user, got, want.Variant, want.Value)
		}
		again := f.post(t, flagPath("split"), prodKey, body).decode(t)
		if again["variant"] != got["variant"] {
			t.Fatalf("%s: bucket moved from %v to %v", user, got["variant"], again["variant"])
		}
		seen[got["value"]] = true
	}
	if len(seen) < 2 {
		t.Logf("all eight users fell in one bucket: %v", seen)
	}
}

func TestSingleEvaluationWithoutValueOmitsIt(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	for key, reason := range map[string]string{"retired": "DISABLED", "no-default": "UNKNOWN"} {
		r := f.post(t, flagPath(key), prodKey, `{"context":{"targetingKey":"user-7"}}`).wantStatus(t, http.StatusOK)
		r.conform(t, s, flagPath(key))
		got := r.decode(t)
		if _, present := got["value"]; present {
			t.Fatalf("%s: answer carries a value: %s", key, r.body)
		}
		if got["reason"] != reason {
			t.Fatalf("%s: reason = %v, want %s", key, got["reason"], reason)
		}
	}
}

func TestSingleEvaluationNotFound(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	for name, key := range map[string]string{"unknown flag": prodKey, "environment without flags": stagingKey} {
		t.Run(name, func(t *testing.T) {
			r := f.post(t, flagPath("nope"), key, `{"context":{}}`).wantStatus(t, http.StatusNotFound)
			r.conform(t, s, flagPath("nope"))
			if got := r.decode(t); got["key"] != "nope" || got["errorCode"] != "FLAG_NOT_FOUND" {
				t.Fatalf("answer = %v", got)
			}
		})
	}
}

func TestSingleEvaluationKeyIsUnescaped(t *testing.T) {
	f := newFixture(t)
	f.feed.Publish("production", parseSet(t, `{"flags":{"team/flag x":{"state":"ENABLED",
		"variants":{"on":true},"defaultVariant":"on"}}}`), "2")
	r := f.post(t, flagPath("team%2Fflag%20x"), prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
	if got := r.decode(t); got["key"] != "team/flag x" || got["value"] != true {
		t.Fatalf("answer = %v", got)
	}
}

func TestBulkEvaluation(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	r := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{"targetingKey":"user-42"}}`).wantStatus(t, http.StatusOK)
	r.conform(t, s, ofrep.FlagsPath)

	var got struct {
		Flags []map[string]any `json:"flags"`
		Meta  map[string]any   `json:"metadata"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, fl := range got.Flags {
		keys = append(keys, fl["key"].(string))
	}
	if want := f.set.Keys(); !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	byKey := map[string]map[string]any{}
	for _, fl := range got.Flags {
		byKey[fl["key"].(string)] = fl
	}
	if fl := byKey["beta-users"]; fl["value"] != true || fl["reason"] != "TARGETING_MATCH" {
		t.Fatalf("beta-users = %v", fl)
	}
	if fl := byKey["new-checkout"]; fl["value"] != false {
		t.Fatalf("new-checkout = %v; a false value must be sent", fl)
	}
	if _, present := byKey["retired"]["value"]; present {
		t.Fatalf("disabled flag carries a value: %v", byKey["retired"])
	}
	if got.Meta["team"] != "checkout" {
		t.Fatalf("set metadata = %v", got.Meta)
	}
	if r.header.Get("ETag") == "" {
		t.Fatal("bulk answer has no ETag")
	}
}

func TestBulkEvaluationOfEnvironmentWithoutFlags(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	r := f.post(t, ofrep.FlagsPath, stagingKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
	r.conform(t, s, ofrep.FlagsPath)
	if got := r.decode(t); len(got["flags"].([]any)) != 0 {
		t.Fatalf("flags = %v, want none", got["flags"])
	}
}

func TestBulkETag(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	first := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{"targetingKey":"u1","plan":"pro"}}`).wantStatus(t, http.StatusOK)
	tag := first.header.Get("ETag")

	// The same context, keys reordered and spaced differently: same tag, 304.
	same := f.post(t, ofrep.FlagsPath, prodKey, `{ "context": {"plan":"pro", "targetingKey":"u1"} }`, "If-None-Match", tag)
	same.wantStatus(t, http.StatusNotModified).conform(t, s, ofrep.FlagsPath)
	if same.header.Get("ETag") != tag {
		t.Fatalf("304 ETag = %q, want %q", same.header.Get("ETag"), tag)
	}
	// A weak form of the tag in a list also matches.
	f.post(t, ofrep.FlagsPath, prodKey, `{"context":{"targetingKey":"u1","plan":"pro"}}`,
		"If-None-Match", `"other", W/`+tag).wantStatus(t, http.StatusNotModified)

	// Another context: another tag, full answer.
	other := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{"targetingKey":"u2","plan":"pro"}}`, "If-None-Match", tag)
	other.wantStatus(t, http.StatusOK)
	if other.header.Get("ETag") == tag {
		t.Fatal("a different context kept the ETag")
	}

	// A new flag set version: the old tag no longer matches.
	f.feed.Publish("production", parseSet(t, strings.Replace(flagDoc, `"defaultVariant": "off",
      "metadata"`, `"defaultVariant": "on",
      "metadata"`, 1)), "2")
	changed := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{"targetingKey":"u1","plan":"pro"}}`, "If-None-Match", tag)
	changed.wantStatus(t, http.StatusOK).conform(t, s, ofrep.FlagsPath)
	if changed.header.Get("ETag") == tag {
		t.Fatal("a new version kept the ETag")
	}
	if !bytes.Contains(changed.body, []byte(`{"key":"new-checkout","value":true`)) {
		t.Fatalf("new version's value missing: %s", changed.body)
	}
}

func TestBulkAdvertisesEventStream(t *testing.T) {
	s := loadSpec(t)
	for name, opts := range map[string][]ofrep.Option{
		"endpoint":     nil,
		"absolute url": {ofrep.WithStreamOrigin("https://flags.example.com/")},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, opts...)
			r := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
			r.conform(t, s, ofrep.FlagsPath)
			streams, _ := r.decode(t)["eventStreams"].([]any)
			if len(streams) != 1 {
				t.Fatalf("eventStreams = %v, want one", streams)
			}
			st := streams[0].(map[string]any)
			uri := streamURI(t, st)
			if st["type"] != "sse" || !strings.HasPrefix(uri, ofrep.EventsPath+"?channel=") {
				t.Fatalf("stream = %v", st)
			}
			if url, ok := st["url"].(string); ok && !strings.HasPrefix(url, "https://flags.example.com/ofrep/") {
				t.Fatalf("url = %q", url)
			}
		})
	}
}

func TestBadRequestsAnswer400(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t, ofrep.WithMaxBodyBytes(4096), ofrep.WithMaxDepth(8))
	deep := `{"context":{"a":` + strings.Repeat(`[`, 10) + strings.Repeat(`]`, 10) + `}}`
	cases := []struct {
		name, body string
		code       flags.ErrorCode
	}{
		{"empty body", ``, flags.ErrorParse},
		{"malformed JSON", `{"context":{"targetingKey":"u1"`, flags.ErrorParse},
		{"trailing data", `{"context":{}} {}`, flags.ErrorParse},
		{"not an object", `[{"context":{}}]`, flags.ErrorParse},
		{"a string", `"context"`, flags.ErrorParse},
		{"missing context", `{"ctx":{}}`, flags.ErrorInvalidContext},
		{"null context", `{"context":null}`, flags.ErrorInvalidContext},
		{"string context", `{"context":"user-1"}`, flags.ErrorInvalidContext},
		{"array context", `{"context":[1,2]}`, flags.ErrorInvalidContext},
		{"numeric targeting key", `{"context":{"targetingKey":42}}`, flags.ErrorInvalidContext},
		{"object targeting key", `{"context":{"targetingKey":{"id":1}}}`, flags.ErrorInvalidContext},
		{"too deep", deep, flags.ErrorInvalidContext},
		{"too deep inside strings is fine but brackets are not", `{"context":{"s":"[[[[[[[[[["}, "x":` + strings.Repeat(`[`, 9) + strings.Repeat(`]`, 9) + `}`, flags.ErrorInvalidContext},
		{"too big", `{"context":{"blob":"` + strings.Repeat("x", 5000) + `"}}`, flags.ErrorParse},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			single := f.post(t, flagPath("new-checkout"), prodKey, c.body).wantStatus(t, http.StatusBadRequest)
			single.conform(t, s, flagPath("new-checkout"))
			if got := single.decode(t); got["errorCode"] != string(c.code) || got["key"] != "new-checkout" || got["errorDetails"] == "" {
				t.Fatalf("single answer = %v, want %s", got, c.code)
			}
			bulk := f.post(t, ofrep.FlagsPath, prodKey, c.body).wantStatus(t, http.StatusBadRequest)
			bulk.conform(t, s, ofrep.FlagsPath)
			if got := bulk.decode(t); got["errorCode"] != string(c.code) {
				t.Fatalf("bulk answer = %v, want %s", got, c.code)
			}
		})
	}
	// Nothing was harmed: the same server still answers.
	f.post(t, flagPath("new-checkout"), prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
}

func TestStringsWithBracketsAreNotNesting(t *testing.T) {
	f := newFixture(t, ofrep.WithMaxDepth(3))
	body := `{"context":{"note":"[[[[{{{{ \"]]]] \\"}}`
	f.post(t, flagPath("new-checkout"), prodKey, body).wantStatus(t, http.StatusOK)
}

func TestWrongMethodAndPath(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+flagPath("new-checkout"), nil)
	if r := do(t, f.srv.Client(), req); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET on an evaluation: status %d, want 405", r.status)
	}
	f.post(t, "/ofrep/v1/evaluate", prodKey, `{"context":{}}`).wantStatus(t, http.StatusNotFound)
}

func TestFailedEvaluationAnswers400(t *testing.T) {
	s := loadSpec(t)
	f := newFixture(t)
	// Targeting names its variant after the context; "ghost" is none.
	f.feed.Publish("production", parseSet(t, `{"flags":{
		"pick": {"state":"ENABLED","variants":{"a":"A","b":"B"},"defaultVariant":"a",
			"targeting":{"var":"wanted"}},
		"plain": {"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}}`), "2")

	single := f.post(t, flagPath("pick"), prodKey, `{"context":{"wanted":"ghost"}}`).wantStatus(t, http.StatusBadRequest)
	single.conform(t, s, flagPath("pick"))
	if got := single.decode(t); got["errorCode"] != "GENERAL" || got["key"] != "pick" || got["errorDetails"] == "" {
		t.Fatalf("answer = %v", got)
	}
	f.post(t, flagPath("pick"), prodKey, `{"context":{"wanted":"b"}}`).wantStatus(t, http.StatusOK)

	// In bulk the failure is one item; the others still have values.
	bulk := f.post(t, ofrep.FlagsPath, prodKey, `{"context":{"wanted":"ghost"}}`).wantStatus(t, http.StatusOK)
	bulk.conform(t, s, ofrep.FlagsPath)
	items := bulk.decode(t)["flags"].([]any)
	if pick := items[0].(map[string]any); pick["errorCode"] != "GENERAL" {
		t.Fatalf("pick = %v", pick)
	}
	if plain := items[1].(map[string]any); plain["value"] != true {
		t.Fatalf("plain = %v", plain)
	}
}
