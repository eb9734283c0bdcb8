package ofrep

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags"
)

func TestNestingWithin(t *testing.T) {
	cases := []struct {
		in    string
		max   int
		depth int
		ok    bool
	}{
		{`{}`, 1, 1, true},
		{`{"a":{}}`, 1, 2, false},
		{`{"a":[[]]}`, 3, 3, true},
		{`{"a":[[[]]]}`, 3, 4, false},
		{`{"a":"[[[[{{{{"}`, 1, 1, true},
		{`{"a":"\"[[[["}`, 1, 1, true},
		{`{"a":"\\"}`, 1, 1, true},
		{`{"a":"\\\"[[["}`, 1, 1, true},
		{`{"a":"x\\"}` + `[[`, 2, 2, true},
		{strings.Repeat("[", 100000), 32, 33, false},
		{`]]]]{{{{`, 1, 0, true}, // malformed: left to the decoder
	}
	for _, c := range cases {
		depth, ok := nestingWithin([]byte(c.in), c.max)
		if depth != c.depth || ok != c.ok {
			t.Errorf("nestingWithin(%.40q, %d) = %d, %v; want %d, %v", c.in, c.max, depth, ok, c.depth, c.ok)
		}
	}
}

func TestDecodeRequest(t *testing.T) {
	ok := []struct {
		in   string
		want map[string]any
	}{
		{`{"context":{}}`, map[string]any{}},
		{`{"context":{"targetingKey":"u1","n":1.5,"tags":["a"],"o":{"x":null}}}`,
			map[string]any{"targetingKey": "u1", "n": 1.5, "tags": []any{"a"}, "o": map[string]any{"x": nil}}},
		{`{"context":{"targetingKey":null}}`, map[string]any{"targetingKey": nil}},
		{` {"extra":1, "context":{"a":true}} `, map[string]any{"a": true}},
	}
	for _, c := range ok {
		got, err := decodeRequest([]byte(c.in), DefaultMaxDepth)
		if err != nil {
			t.Errorf("decodeRequest(%s): %s %s", c.in, err.code, err.details)
			continue
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(c.want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("decodeRequest(%s) = %s, want %s", c.in, gotJSON, wantJSON)
		}
	}

	bad := []struct {
		in   string
		code flags.ErrorCode
	}{
		{``, flags.ErrorParse},
		{`   `, flags.ErrorParse},
		{`nul`, flags.ErrorParse},
		{`null`, flags.ErrorInvalidContext},
		{`{}`, flags.ErrorInvalidContext},
		{`{"context":1}`, flags.ErrorInvalidContext},
		{`{"context":true}`, flags.ErrorInvalidContext},
		{`{"context":{"targetingKey":1}}`, flags.ErrorInvalidContext},
		{`{"context":{"targetingKey":["u"]}}`, flags.ErrorInvalidContext},
		{`{"context":{}}x`, flags.ErrorParse},
		{`{"context":{"a":1,}}`, flags.ErrorParse},
		{`{"context":{"a":"\x01"}}`, flags.ErrorParse},
		{`[]`, flags.ErrorParse},
		{`12`, flags.ErrorParse},
	}
	for _, c := range bad {
		_, err := decodeRequest([]byte(c.in), DefaultMaxDepth)
		if err == nil {
			t.Errorf("decodeRequest(%q) accepted", c.in)
			continue
		}
		if err.code != c.code || err.details == "" {
			t.Errorf("decodeRequest(%q) = %s %q, want %s with details", c.in, err.code, err.details, c.code)
		}
	}
}

func TestETagMatches(t *testing.T) {
	const tag = `"abc"`
	cases := map[string]bool{
		``:                 false,
		`"abc"`:            true,
		`W/"abc"`:          true,
		`"x", "abc"`:       true,
		`"x",W/"abc" ,"y"`: true,
		`abc`:              false,
		`"abcd"`:           false,
		`*`:                false,
		`"x", "y"`:         false,
		`  "abc"  `:        true,
	}
	for header, want := range cases {
		if got := etagMatches(header, tag); got != want {
			t.Errorf("etagMatches(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestBulkETagDependsOnEveryInput(t *testing.T) {
	base := bulkETag("production", "7", []byte(`{"targetingKey":"u"}`))
	if !strings.HasPrefix(base, `"`) || !strings.HasSuffix(base, `"`) {
		t.Fatalf("tag %s is not quoted", base)
	}
	for name, other := range map[string]string{
		"environment": bulkETag("staging", "7", []byte(`{"targetingKey":"u"}`)),
		"version":     bulkETag("production", "8", []byte(`{"targetingKey":"u"}`)),
		"context":     bulkETag("production", "7", []byte(`{"targetingKey":"v"}`)),
		"boundary":    bulkETag("production7", "", []byte(`{"targetingKey":"u"}`)),
	} {
		if other == base {
			t.Errorf("changing the %s kept the tag", name)
		}
	}
	if again := bulkETag("production", "7", []byte(`{"targetingKey":"u"}`)); again != base {
		t.Error("the tag is not stable")
	}
}

func TestToWire(t *testing.T) {
	md := map[string]any{"team": "x", "n": 1.0, "nested": map[string]any{"a": 1}, "list": []any{1}}
	cases := []struct {
		name string
		in   flags.Evaluation
		want string
	}{
		{"static", flags.Evaluation{Key: "f", Value: false, Variant: "off", Reason: flags.ReasonStatic},
			`{"key":"f","value":false,"reason":"STATIC","variant":"off"}`},
		{"default is unknown", flags.Evaluation{Key: "f", Value: 0.0, Variant: "zero", Reason: flags.ReasonDefault},
			`{"key":"f","value":0,"reason":"UNKNOWN","variant":"zero"}`},
		{"split", flags.Evaluation{Key: "f", Value: "", Variant: "e", Reason: "SPLIT"},
			`{"key":"f","value":"","reason":"SPLIT","variant":"e"}`},
		{"no value", flags.Evaluation{Key: "f", Reason: flags.ReasonDisabled},
			`{"key":"f","reason":"DISABLED"}`},
		{"metadata filtered", flags.Evaluation{Key: "f", Value: true, Reason: flags.ReasonStatic, Metadata: md},
			`{"key":"f","value":true,"reason":"STATIC","metadata":{"n":1,"team":"x"}}`},
		{"error", flags.Evaluation{Key: "f", Reason: flags.ReasonError, ErrorCode: flags.ErrorParse, ErrorMessage: "bad rule"},
			`{"key":"f","errorCode":"PARSE_ERROR","errorDetails":"bad rule"}`},
		{"type mismatch is general", flags.Evaluation{Key: "f", Reason: flags.ReasonError, ErrorCode: flags.ErrorTypeMismatch},
			`{"key":"f","errorCode":"GENERAL"}`},
		{"error without code", flags.Evaluation{Key: "f", Reason: flags.ReasonError},
			`{"key":"f","errorCode":"GENERAL"}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(toWire(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, c.want)
		}
	}
	if len(md) != 4 {
		t.Fatal("filtering metadata modified the evaluator's map")
	}
}

func TestRetrySeconds(t *testing.T) {
	cases := map[time.Duration]int{
		0:                       1,
		-time.Second:            1,
		time.Millisecond:        1,
		time.Second:             1,
		1001 * time.Millisecond: 2,
		time.Hour:               3600,
	}
	for d, want := range cases {
		if got := retrySeconds(d); got != want {
			t.Errorf("retrySeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestChannelTokens(t *testing.T) {
	key := []byte("0123456789abcdef")
	h := &Handler{cfg: config{streamKey: key}}
	for _, env := range []string{"production", "", "with.dots and spaces/ü"} {
		got, err := h.channelEnv(h.channelToken(env))
		if err != nil || got != env {
			t.Errorf("round trip of %q = %q, %v", env, got, err)
		}
	}
	other := &Handler{cfg: config{streamKey: []byte("fedcba9876543210")}}
	for _, token := range []string{other.channelToken("production"), "", ".", "cHJvZHVjdGlvbg", "!!.!!", h.channelToken("production") + "x"} {
		if env, err := h.channelEnv(token); err == nil {
			t.Errorf("token %q accepted as %q", token, env)
		}
	}
}
