package resources

import (
	"context"
	"errors"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/store"
)

func TestEveryChangeIsRecordedInTheHistory(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.History(ctx, "App", "web", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("history of an app that never was: %v, want ErrNotFound", err)
	}
	for _, step := range []struct{ yaml, actor string }{
		{appYAML("web", "127.0.0.1:8080", ""), "alice"},
		{appYAML("web", "127.0.0.1:8080", ""), "alice"}, // unchanged: no entry
		{appYAML("web", "127.0.0.1:8080", ", replicas: 3"), "bob"},
	} {
		if _, err := s.Apply(ctx, docs(t, step.yaml), step.actor); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "App", "web", "carol"); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, "App", "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		action, actor string
		rv            int64
	}{{store.HistoryCreated, "alice", 1}, {store.HistoryUpdated, "bob", 2}, {store.HistoryDeleted, "carol", 2}}
	if len(h) != len(want) {
		t.Fatalf("history = %+v, want %d entries", h, len(want))
	}
	for i, w := range want {
		e := h[i]
		if e.Version != int64(i+1) || e.Action != w.action || e.Actor != w.actor || e.ResourceVersion != w.rv || e.Time.IsZero() {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	if h[2].Spec != nil || !jsonEqual(h[1].Spec, mustGetSpec(t, h[1])) {
		t.Errorf("specs: deleted %s, updated %s", h[2].Spec, h[1].Spec)
	}
	one, err := s.HistoryVersion(ctx, "App", "web", 2)
	if err != nil || one.Actor != "bob" {
		t.Fatalf("version 2 = %+v, %v", one, err)
	}
	if _, err := s.HistoryVersion(ctx, "App", "web", 9); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version 9: %v, want ErrNotFound", err)
	}
}

// mustGetSpec checks that an entry's spec holds the replicas it was
// applied with and returns it.
func mustGetSpec(t *testing.T, e store.HistoryEntry) []byte {
	t.Helper()
	if !strings.Contains(string(e.Spec), `"replicas":3`) {
		t.Fatalf("entry %d spec %s lacks replicas 3", e.Version, e.Spec)
	}
	return e.Spec
}

func TestAFailedApplyRecordsNoHistory(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Apply(ctx, docs(t, appYAML("web", "127.0.0.1:8080", "")), "alice"); err != nil {
		t.Fatal(err)
	}
	// The second document conflicts on the address: nothing lands.
	both := appYAML("api", "127.0.0.1:9090", "") + "---\n" + appYAML("db", "127.0.0.1:8080", "")
	if _, err := s.Apply(ctx, docs(t, both), "bob"); err == nil {
		t.Fatal("an apply with an address conflict succeeded")
	}
	if _, err := s.History(ctx, "App", "api", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("history of a rolled-back create: %v, want ErrNotFound", err)
	}
}

func TestJSONEqualIgnoresMemberOrderOnly(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[true,null]}`, `{"a":1,"b":[true,null]}`, true},
		{`{"a":1,"b":[true,null]}`, `{"b":[true,null],"a":1}`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
		{`not json`, `{"a":1}`, false},
	}
	for _, c := range cases {
		if got := jsonEqual([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("jsonEqual(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
