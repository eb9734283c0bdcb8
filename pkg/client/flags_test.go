package client_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/api"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// newServer runs the real API over SQLite and returns an admin client.
func newServer(t *testing.T) *client.Client {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	toks := auth.NewTokens(st, time.Now)
	secret, _, err := toks.Create(ctx, auth.NewToken{Name: "admin", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Resources: resources.New(st), Auth: toks, Tokens: toks}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const twoFlags = `{"flags":{"a":{"state":"ENABLED","variants":{"x":1,"y":2},"defaultVariant":"x"},"b":{"state":"ENABLED","variants":{"x":1,"y":2},"defaultVariant":"x"}}}`

// setDefault returns a change that makes y the default of flag key.
func setDefault(key string) func(json.RawMessage) (json.RawMessage, error) {
	return func(spec json.RawMessage) (json.RawMessage, error) {
		var doc map[string]map[string]map[string]any
		if err := json.Unmarshal(spec, &doc); err != nil {
			return nil, err
		}
		doc["flags"][key]["defaultVariant"] = "y"
		return json.Marshal(doc)
	}
}

// TestUpdateFlagSetRetriesAfterAConflict changes flag b in the middle of an
// update of flag a: the update's first write conflicts, it reads again, and
// both changes are kept.
func TestUpdateFlagSetRetriesAfterAConflict(t *testing.T) {
	c := newServer(t)
	ctx := context.Background()
	if _, err := c.PutFlagSet(ctx, "production", json.RawMessage(twoFlags), 0, nil); err != nil {
		t.Fatal(err)
	}
	calls := 0
	res, err := c.UpdateFlagSet(ctx, "production", func(spec json.RawMessage) (json.RawMessage, error) {
		calls++
		if calls == 1 {
			if _, err := c.UpdateFlagSet(ctx, "production", setDefault("b")); err != nil {
				t.Fatalf("the interfering update: %v", err)
			}
		}
		return setDefault("a")(spec)
	})
	if err != nil || res.Action != apiv1.ActionConfigured || res.ResourceVersion != 3 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	if calls != 2 {
		t.Fatalf("change ran %d times, want 2 (once more after the conflict)", calls)
	}
	obj, err := c.Get(ctx, client.FlagSets, "production")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(obj.Spec), `"defaultVariant":"y"`) != 2 {
		t.Fatalf("a change was lost: %s", obj.Spec)
	}
	h, err := c.History(ctx, client.FlagSets, "production", 0)
	if err != nil || len(h) != 3 || h[2].Actor != "admin" {
		t.Fatalf("history: %+v, %v", h, err)
	}
}

func TestUpdateFlagSetLeavesAnUnchangedSetAlone(t *testing.T) {
	c := newServer(t)
	ctx := context.Background()
	if _, err := c.PutFlagSet(ctx, "production", json.RawMessage(twoFlags), 0, nil); err != nil {
		t.Fatal(err)
	}
	res, err := c.UpdateFlagSet(ctx, "production", func(json.RawMessage) (json.RawMessage, error) { return nil, nil })
	if err != nil || res.Action != apiv1.ActionUnchanged || res.ResourceVersion != 1 {
		t.Fatalf("no-op update: %+v, %v", res, err)
	}
	if _, err := c.UpdateFlagSet(ctx, "staging", setDefault("a")); !client.IsNotFound(err) {
		t.Fatalf("update of a missing FlagSet: %v", err)
	}
	_, err = c.UpdateFlagSet(ctx, "production", func(json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"defaultVariant":"z"}}}`), nil
	})
	var p *apiv1.Problem
	if !asProblem(err, &p) || p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field != "spec.flags.a.defaultVariant" {
		t.Fatalf("an invalid change: %v", err)
	}
}

func asProblem(err error, p **apiv1.Problem) bool {
	pp, ok := err.(*apiv1.Problem)
	*p = pp
	return ok
}

func TestEvaluateFlagWithoutAFeedIsNotFound(t *testing.T) {
	c := newServer(t)
	if _, err := c.EvaluateFlag(context.Background(), "production", "a", nil); !client.IsNotFound(err) {
		t.Fatalf("evaluate on a server without flags: %v", err)
	}
}
