package ofrep_test

import (
	"reflect"
	"testing"
	"time"

	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

// newSDKClient returns an OpenFeature client whose OFREP provider talks to
// the fixture's server with key, in an API instance of its own.
func newSDKClient(t *testing.T, f *fixture, key string) *openfeature.Client {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(t.Context()) })
	provider := ofrepprovider.NewProvider(f.srv.URL,
		ofrepprovider.WithBearerToken(key),
		ofrepprovider.WithClient(f.srv.Client()))
	if err := api.SetProviderAndWait(t.Context(), provider); err != nil {
		t.Fatalf("set provider: %v", err)
	}
	return api.NewClient()
}

// user is an evaluation context for one targeting key.
func user(key string) openfeature.EvaluationContext {
	return openfeature.NewEvaluationContext(key, map[string]any{"plan": "pro"})
}

func TestSDKEvaluatesEveryType(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	ctx, u := t.Context(), user("user-1")

	b, err := c.BooleanValueDetails(ctx, "new-checkout", true, u)
	if err != nil || b.Value != false || b.Reason != openfeature.StaticReason || b.Variant != "off" {
		t.Fatalf("boolean: %+v, %v", b, err)
	}
	if owner, _ := b.FlagMetadata.GetString("owner"); owner != "payments" {
		t.Fatalf("boolean metadata = %v", b.FlagMetadata)
	}
	if s, err := c.StringValueDetails(ctx, "banner-color", "#fff", u); err != nil || s.Value != "#00c" || s.Variant != "blue" {
		t.Fatalf("string: %+v, %v", s, err)
	}
	if i, err := c.IntValueDetails(ctx, "max-items", 1, u); err != nil || i.Value != 50 || i.Variant != "large" {
		t.Fatalf("int: %+v, %v", i, err)
	}
	if fl, err := c.FloatValueDetails(ctx, "discount", 0, u); err != nil || fl.Value != 0.15 || fl.Variant != "some" {
		t.Fatalf("float: %+v, %v", fl, err)
	}
	o, err := c.ObjectValueDetails(ctx, "theme", nil, u)
	if want := map[string]any{"bg": "black", "fg": "white"}; err != nil || !reflect.DeepEqual(o.Value, want) {
		t.Fatalf("object: %+v, %v", o, err)
	}
}

func TestSDKTargeting(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	in, err := c.BooleanValueDetails(t.Context(), "beta-users", false, user("user-42"))
	if err != nil || !in.Value || in.Reason != openfeature.TargetingMatchReason {
		t.Fatalf("targeted user: %+v, %v", in, err)
	}
	out, err := c.BooleanValueDetails(t.Context(), "beta-users", true, user("user-7"))
	if err != nil || out.Value || out.Variant != "off" {
		t.Fatalf("other user: %+v, %v", out, err)
	}
}

func TestSDKFractionalMatchesEvaluator(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	for _, key := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		got, err := c.StringValueDetails(t.Context(), "split", "?", user(key))
		want := f.set.Evaluate("split", map[string]any{"targetingKey": key, "plan": "pro"}, time.Now())
		if err != nil || got.Value != want.Value || got.Variant != want.Variant {
			t.Fatalf("%s: SDK %+v (%v); evaluator %s=%v", key, got, err, want.Variant, want.Value)
		}
	}
}

func TestSDKDisabledFlagGivesCodeDefault(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	d, err := c.BooleanValueDetails(t.Context(), "retired", false, user("user-1"))
	if err != nil || d.Value != false || d.Reason != openfeature.DisabledReason {
		t.Fatalf("disabled: %+v, %v", d, err)
	}
}

func TestSDKFlagWithoutValueGivesCodeDefault(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	// The answer has no value. Provider v0.1.7 reports that as a type
	// mismatch rather than a plain code default, but the caller still gets
	// its default, which is what matters.
	if got := c.Boolean(t.Context(), "no-default", true, user("user-7")); got != true {
		t.Fatalf("value = %v, want the code default", got)
	}
}

func TestSDKFlagNotFound(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	d, err := c.StringValueDetails(t.Context(), "does-not-exist", "fallback", user("user-1"))
	if err == nil || d.Value != "fallback" || d.ErrorCode != openfeature.FlagNotFoundCode {
		t.Fatalf("not found: %+v, %v", d, err)
	}
}

func TestSDKTypeMismatch(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	b, err := c.BooleanValueDetails(t.Context(), "banner-color", true, user("user-1"))
	if err == nil || b.Value != true || b.ErrorCode != openfeature.TypeMismatchCode {
		t.Fatalf("string flag read as boolean: %+v, %v", b, err)
	}
	i, err := c.IntValueDetails(t.Context(), "discount", 7, user("user-1"))
	if err == nil || i.Value != 7 || i.ErrorCode != openfeature.TypeMismatchCode {
		t.Fatalf("fractional number read as int: %+v, %v", i, err)
	}
}

func TestSDKSeesFlagChange(t *testing.T) {
	f := newFixture(t)
	c := newSDKClient(t, f, prodKey)
	if c.Boolean(t.Context(), "new-checkout", true, user("user-1")) {
		t.Fatal("new-checkout starts on")
	}
	f.feed.Publish("production", parseSet(t, `{"flags":{"new-checkout":{"state":"ENABLED",
		"variants":{"on":true,"off":false},"defaultVariant":"on"}}}`), "2")
	// Provider v0.1.7 evaluates every flag remotely and does not follow
	// event streams, so the very next evaluation must see the change.
	if !c.Boolean(t.Context(), "new-checkout", false, user("user-1")) {
		t.Fatal("the next evaluation did not see the published change")
	}
}

func TestSDKRefusedCredentials(t *testing.T) {
	f := newFixture(t)
	for _, key := range []string{"sdk-unknown", forbiddenKey} {
		c := newSDKClient(t, f, key)
		d, err := c.BooleanValueDetails(t.Context(), "new-checkout", true, user("user-1"))
		if err == nil || d.Value != true || d.ErrorCode != openfeature.GeneralCode {
			t.Fatalf("%s: %+v, %v", key, d, err)
		}
	}
}
