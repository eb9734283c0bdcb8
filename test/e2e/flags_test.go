package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"sluice.dev/sluice/pkg/apiv1"
)

// productionFlags is a FlagSet with a flag of every type and every kind of
// answer, as a user writes it.
const productionFlags = `apiVersion: sluice.dev/v1
kind: FlagSet
metadata:
  name: production
spec:
  $evaluators:
    staff: {ends_with: [{var: email}, "@example.com"]}
  flags:
    new-checkout:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "off"
      targeting: {if: [{$ref: staff}, "on", null]}
    banner-color:
      state: ENABLED
      variants: {red: "#c00", blue: "#00c"}
      defaultVariant: red
      metadata: {owner: web}
    max-items:
      state: ENABLED
      variants: {small: 10, large: 50}
      defaultVariant: large
    discount:
      state: ENABLED
      variants: {none: 0, some: 0.15}
      defaultVariant: some
    theme:
      state: ENABLED
      variants:
        dark: {bg: black, fg: white}
        light: {bg: white, fg: black}
      defaultVariant: dark
    split:
      state: ENABLED
      variants: {a: a, b: b, c: c}
      defaultVariant: a
      targeting: {fractional: [[a, 34], [b, 33], [c, 33]]}
    retired:
      state: DISABLED
      variants: {"on": true, "off": false}
      defaultVariant: "on"
`

// flagServer starts a server with productionFlags applied and returns it
// with an SDK key for production.
func flagServer(t *testing.T) (*server, string) {
	t.Helper()
	s := startServer(t, "")
	if out := s.must(productionFlags, "apply", "-f", "-"); out != "flagset/production created\n" {
		t.Fatalf("apply said %q", out)
	}
	key := strings.TrimSpace(s.must("", "tokens", "create", "--name", "web", "--role", "sdk", "--env", "production"))
	return s, key
}

// sdkClient is an OpenFeature client whose OFREP provider talks to s.
func sdkClient(t *testing.T, s *server, opts ...ofrepprovider.Option) *openfeature.Client {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(t.Context(), ofrepprovider.NewProvider(s.url, opts...)); err != nil {
		t.Fatalf("set provider: %v", err)
	}
	return api.NewClient()
}

func user(key string, attrs map[string]any) openfeature.EvaluationContext {
	return openfeature.NewEvaluationContext(key, attrs)
}

func TestOpenFeatureSDKAgainstTheServer(t *testing.T) {
	s, key := flagServer(t)
	c := sdkClient(t, s, ofrepprovider.WithBearerToken(key))
	ctx, u := t.Context(), user("user-1", map[string]any{"email": "kim@elsewhere.org"})

	b, err := c.BooleanValueDetails(ctx, "new-checkout", true, u)
	if err != nil || b.Value != false || b.Variant != "off" {
		t.Errorf("boolean: %+v, %v", b, err)
	}
	staff := user("user-2", map[string]any{"email": "ada@example.com"})
	if b, err := c.BooleanValueDetails(ctx, "new-checkout", false, staff); err != nil || !b.Value || b.Reason != openfeature.TargetingMatchReason {
		t.Errorf("targeting: %+v, %v", b, err)
	}
	str, err := c.StringValueDetails(ctx, "banner-color", "#fff", u)
	if err != nil || str.Value != "#c00" || str.Reason != openfeature.StaticReason {
		t.Errorf("string: %+v, %v", str, err)
	}
	if owner, _ := str.FlagMetadata.GetString("owner"); owner != "web" {
		t.Errorf("metadata: %v", str.FlagMetadata)
	}
	if i, err := c.IntValueDetails(ctx, "max-items", 1, u); err != nil || i.Value != 50 {
		t.Errorf("int: %+v, %v", i, err)
	}
	if f, err := c.FloatValueDetails(ctx, "discount", 0, u); err != nil || f.Value != 0.15 {
		t.Errorf("float: %+v, %v", f, err)
	}
	o, err := c.ObjectValueDetails(ctx, "theme", nil, u)
	if want := map[string]any{"bg": "black", "fg": "white"}; err != nil || !reflect.DeepEqual(o.Value, want) {
		t.Errorf("object: %+v, %v", o, err)
	}
	if d, err := c.BooleanValueDetails(ctx, "retired", false, u); err != nil || d.Value != false || d.Reason != openfeature.DisabledReason {
		t.Errorf("disabled: %+v, %v", d, err)
	}
	if d, err := c.StringValueDetails(ctx, "nope", "fallback", u); err == nil || d.Value != "fallback" || d.ErrorCode != openfeature.FlagNotFoundCode {
		t.Errorf("not found: %+v, %v", d, err)
	}
	if d, err := c.BooleanValueDetails(ctx, "banner-color", true, u); err == nil || d.Value != true || d.ErrorCode != openfeature.TypeMismatchCode {
		t.Errorf("type mismatch: %+v, %v", d, err)
	}

	// fractional: the SDK gets what the server's own evaluation says, and
	// the split is roughly as written.
	counts := map[string]int{}
	for i := range 60 {
		k := fmt.Sprintf("user-%d", i)
		got, err := c.StringValueDetails(ctx, "split", "?", user(k, nil))
		if err != nil {
			t.Fatalf("split for %s: %v", k, err)
		}
		counts[got.Value]++
		if i < 5 {
			var ev apiv1.FlagEvaluation
			out := s.must("", "flags", "eval", "split", "--context", `{"targetingKey":"`+k+`"}`, "-o", "json")
			if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Variant != got.Variant {
				t.Errorf("%s: SDK %s, sluice flags eval %s", k, got.Variant, out)
			}
		}
	}
	if len(counts) != 3 {
		t.Errorf("60 users fell into %v", counts)
	}

	// The same answers with X-API-Key.
	byAPIKey := sdkClient(t, s, ofrepprovider.WithApiKeyAuth(key))
	if v := byAPIKey.String(ctx, "banner-color", "#fff", u); v != "#c00" {
		t.Errorf("X-API-Key: %q", v)
	}
	// An admin token names the environment; a viewer gets nothing.
	admin := sdkClient(t, s, ofrepprovider.WithBearerToken(s.token), ofrepprovider.WithHeader("X-Sluice-Env", "production"))
	if v := admin.String(ctx, "banner-color", "#fff", u); v != "#c00" {
		t.Errorf("admin with X-Sluice-Env: %q", v)
	}
	viewerKey := strings.TrimSpace(s.must("", "tokens", "create", "--name", "auditor", "--role", "viewer"))
	viewer := sdkClient(t, s, ofrepprovider.WithBearerToken(viewerKey), ofrepprovider.WithHeader("X-Sluice-Env", "production"))
	if d, err := viewer.StringValueDetails(ctx, "banner-color", "#fff", u); err == nil || d.Value != "#fff" {
		t.Errorf("viewer: %+v, %v", d, err)
	}
}

// openStream starts the OFREP event stream the bulk answer advertises, and
// returns a channel of the refetchEvaluation events' ids.
func openStream(t *testing.T, s *server, key string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/ofrep/v1/evaluate/flags", strings.NewReader(`{"context":{"targetingKey":"u1"}}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var bulk struct {
		EventStreams []struct {
			Endpoint struct {
				RequestURI string `json:"requestUri"`
			} `json:"endpoint"`
		} `json:"eventStreams"`
	}
	err = json.NewDecoder(resp.Body).Decode(&bulk)
	resp.Body.Close()
	if err != nil || len(bulk.EventStreams) != 1 {
		t.Fatalf("bulk answer: %v %+v", err, bulk)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The stream's URL is signed: EventSource in a browser sends no token.
	sreq, _ := http.NewRequestWithContext(ctx, "GET", s.url+bulk.EventStreams[0].Endpoint.RequestURI, nil)
	sresp, err := http.DefaultClient.Do(sreq)
	if err != nil || sresp.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", err, sresp)
	}
	ids := make(chan string, 16)
	go func() {
		defer sresp.Body.Close()
		sc := bufio.NewScanner(sresp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids <- id
			}
		}
	}()
	return ids
}

func TestAFlagChangeReachesClients(t *testing.T) {
	s, key := flagServer(t)
	c := sdkClient(t, s, ofrepprovider.WithBearerToken(key))
	staff := user("user-2", map[string]any{"email": "ada@example.com"})
	if !c.Boolean(t.Context(), "new-checkout", false, staff) {
		t.Fatal("new-checkout is off for staff before the change")
	}
	events := openStream(t, s, key)

	if out := s.must("", "flags", "disable", "new-checkout"); out != "new-checkout disabled in production\n" {
		t.Fatalf("disable said %q", out)
	}
	select {
	case <-events:
	case <-time.After(10 * time.Second):
		t.Fatal("no refetchEvaluation event after the change")
	}
	d, err := c.BooleanValueDetails(t.Context(), "new-checkout", false, staff)
	if err != nil || d.Value != false || d.Reason != openfeature.DisabledReason {
		t.Fatalf("after the kill switch: %+v, %v", d, err)
	}
}

// TestAnInvalidFlagSetChangesNothing applies a broken FlagSet: it is
// refused with field paths, and clients keep getting the old values.
func TestAnInvalidFlagSetChangesNothing(t *testing.T) {
	s, key := flagServer(t)
	c := sdkClient(t, s, ofrepprovider.WithBearerToken(key))
	bad := strings.Replace(productionFlags, "defaultVariant: red", "defaultVariant: green", 1)
	bad = strings.Replace(bad, "targeting: {if: [{$ref: staff}", "targeting: {if: [{$ref: nobody}", 1)
	bad = strings.Replace(bad, "variants: {none: 0, some: 0.15}", "variants: {none: 0, some: \"15%\"}", 1)
	r := s.sluice(bad, "apply", "-f", "-")
	if r.code != 1 {
		t.Fatalf("invalid apply: %+v", r)
	}
	for _, field := range []string{"spec.flags.banner-color.defaultVariant", "spec.flags.new-checkout.targeting", "spec.flags.discount.variants"} {
		if !strings.Contains(r.stderr, field) {
			t.Errorf("the refusal does not name %s:\n%s", field, r.stderr)
		}
	}
	if v := c.String(t.Context(), "banner-color", "#fff", user("u", nil)); v != "#c00" {
		t.Fatalf("after a refused apply: %q, want the old value", v)
	}
	var h []any
	json.Unmarshal([]byte(s.must("", "flags", "history", "-o", "json")), &h)
	if len(h) != 1 {
		t.Fatalf("a refused apply made a version: %v", h)
	}
}

func TestFlagsCommands(t *testing.T) {
	s, key := flagServer(t)
	c := sdkClient(t, s, ofrepprovider.WithBearerToken(key))
	ctx := t.Context()

	list := s.must("", "flags", "list")
	for _, want := range []string{"KEY", "new-checkout", "ENABLED", "boolean", "rule", "split", "retired", "DISABLED"} {
		if !strings.Contains(list, want) {
			t.Errorf("flags list lacks %q:\n%s", want, list)
		}
	}
	var view struct {
		Key, State, DefaultVariant string
		Variants                   map[string]any
	}
	if err := json.Unmarshal([]byte(s.must("", "flags", "get", "banner-color", "-o", "json")), &view); err != nil ||
		view.DefaultVariant != "red" || view.Variants["blue"] != "#00c" {
		t.Fatalf("flags get: %+v, %v", view, err)
	}
	if out := s.must("", "flags", "get", "banner-color"); !strings.Contains(out, `blue="#00c"`) {
		t.Errorf("flags get table:\n%s", out)
	}

	s.must("", "flags", "set-default", "banner-color", "blue")
	eventually(t, 5*time.Second, "the new default is served", func() bool {
		return c.String(ctx, "banner-color", "#fff", user("u", nil)) == "#00c"
	})
	if out := s.must("", "flags", "set-default", "banner-color", "blue"); !strings.Contains(out, "unchanged") {
		t.Errorf("the same default again said %q", out)
	}
	s.must("", "flags", "rollout", "new-checkout", "--variant", "on", "--percent", "25", "--replace")
	if out := s.must("", "flags", "list"); !strings.Contains(out, "rollout on 25%") {
		t.Errorf("list after rollout:\n%s", out)
	}
	s.must("", "flags", "enable", "retired")

	out := s.must("", "flags", "eval", "max-items", "--context", `{"targetingKey":"u1"}`)
	if !strings.Contains(out, "max-items") || !strings.Contains(out, "50") || !strings.Contains(out, "large") || !strings.Contains(out, "STATIC") {
		t.Errorf("flags eval:\n%s", out)
	}

	// history: every change with who made it; per flag, field by field.
	var versions []struct {
		Version int64
		Actor   string
		Flags   []string
	}
	json.Unmarshal([]byte(s.must("", "flags", "history", "-o", "json")), &versions)
	if len(versions) != 4 || versions[1].Actor != "admin" || !reflect.DeepEqual(versions[1].Flags, []string{"banner-color"}) {
		t.Fatalf("history: %+v", versions)
	}
	hist := s.must("", "flags", "history", "banner-color")
	if !strings.Contains(hist, "version 1") || !strings.Contains(hist, `defaultVariant: "red" → "blue"`) || !strings.Contains(hist, "by admin") {
		t.Errorf("flags history banner-color:\n%s", hist)
	}
	if d := s.must("", "flags", "diff"); !strings.Contains(d, `flags.retired.state: "DISABLED" → "ENABLED"`) {
		t.Errorf("flags diff:\n%s", d)
	}
	if d := s.must("", "flags", "diff", "1", "3"); !strings.Contains(d, "flags.banner-color.defaultVariant") || !strings.Contains(d, "flags.new-checkout.targeting") {
		t.Errorf("flags diff 1 3:\n%s", d)
	}

	// revert: back to version 1, through the normal apply path.
	if out := s.must("", "flags", "revert", "1"); out != "production reverted to version 1\n" {
		t.Fatalf("revert said %q", out)
	}
	eventually(t, 5*time.Second, "the reverted default is served", func() bool {
		return c.String(ctx, "banner-color", "#fff", user("u", nil)) == "#c00"
	})
	json.Unmarshal([]byte(s.must("", "flags", "history", "-o", "json")), &versions)
	if last := versions[len(versions)-1]; last.Version != 5 || len(last.Flags) != 3 {
		t.Fatalf("the revert is not a new version: %+v", last)
	}
	if d := s.must("", "flags", "diff", "1", "5"); !strings.Contains(d, "no differences") {
		t.Errorf("version 5 differs from version 1:\n%s", d)
	}
}

func TestFlagsCommandsRefuseBadInput(t *testing.T) {
	s, _ := flagServer(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"flags", "set-default", "banner-color", "green"}, 1, `variant "green" (variants: blue, red)`},
		{[]string{"flags", "disable", "nope"}, 1, `flag "nope": no such flag`},
		{[]string{"flags", "rollout", "new-checkout", "--variant", "on"}, 2, "needs --variant and --percent"},
		{[]string{"flags", "rollout", "new-checkout", "--variant", "on", "--percent", "101"}, 2, "between 0 and 100"},
		{[]string{"flags", "rollout", "new-checkout", "--variant", "on", "--percent", "5"}, 1, "--replace"},
		{[]string{"flags", "eval", "split", "--context", "not json"}, 2, "--context must be a JSON object"},
		{[]string{"flags", "eval", "nope"}, 1, "not found"},
		{[]string{"flags", "list", "--env", "staging"}, 1, `environment "staging" has no FlagSet`},
		{[]string{"flags", "revert", "x"}, 2, "not a version number"},
		{[]string{"flags", "revert", "9"}, 1, "Not Found"},
		{[]string{"flags", "diff", "1", "2", "3"}, 2, "accepts at most 2 arg"},
	}
	for _, c := range cases {
		r := s.sluice("", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("sluice %v: exit %d\n%s\nwant exit %d with %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	var versions []any
	json.Unmarshal([]byte(s.must("", "flags", "history", "-o", "json")), &versions)
	if len(versions) != 1 {
		t.Fatalf("bad input made versions: %v", versions)
	}
	// Deleting the FlagSet and reverting brings it back.
	s.must("", "delete", "flagset", "production")
	if r := s.sluice("", "flags", "revert", "2"); r.code != 1 || !strings.Contains(r.stderr, "deleted the FlagSet") {
		t.Errorf("revert to the deletion: %+v", r)
	}
	if out := s.must("", "flags", "revert", "1"); out != "production reverted to version 1\n" {
		t.Fatalf("revert after delete said %q", out)
	}
}

// TestConcurrentFlagEditsAreAllKept runs several CLI edits of one FlagSet
// at once: each reads, changes and writes back over the version it read,
// so every change lands.
func TestConcurrentFlagEditsAreAllKept(t *testing.T) {
	s := startServer(t, "")
	var doc bytes.Buffer
	doc.WriteString("apiVersion: sluice.dev/v1\nkind: FlagSet\nmetadata: {name: production}\nspec:\n  flags:\n")
	const n = 8
	for i := range n {
		fmt.Fprintf(&doc, "    f%d: {state: ENABLED, variants: {a: 1, b: 2}, defaultVariant: a}\n", i)
	}
	s.must(doc.String(), "apply", "-f", "-")
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if r := s.sluice("", "flags", "set-default", fmt.Sprintf("f%d", i), "b"); r.code != 0 {
				t.Errorf("f%d: %+v", i, r)
			}
		})
	}
	wg.Wait()
	var views []struct{ Key, DefaultVariant string }
	json.Unmarshal([]byte(s.must("", "flags", "list", "-o", "json")), &views)
	for _, v := range views {
		if v.DefaultVariant != "b" {
			t.Errorf("%s lost its change: %+v", v.Key, views)
		}
	}
	var versions []any
	json.Unmarshal([]byte(s.must("", "flags", "history", "-o", "json")), &versions)
	if len(versions) != n+1 {
		t.Errorf("%d versions, want %d", len(versions), n+1)
	}
}
