package resources

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

func newService(t *testing.T) *Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st)
}

func docs(t *testing.T, yaml string) []spec.Document {
	t.Helper()
	d, err := spec.Decode([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func appYAML(name, listen, extra string) string {
	return "apiVersion: sluice.dev/v1\nkind: App\nmetadata: {name: " + name + "}\nspec:\n  listen: " + listen +
		"\n  runtime: {process: {command: [./web]" + extra + "}}\n"
}

func TestApplyLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	steps := []struct {
		name     string
		yaml     string
		action   string
		revision int
	}{
		{"create", appYAML("web", "127.0.0.1:8080", ""), apiv1.ActionCreated, 1},
		{"same again", appYAML("web", "127.0.0.1:8080", ""), apiv1.ActionUnchanged, 0},
		{"scale only", appYAML("web", "127.0.0.1:8080", ", replicas: 3"), apiv1.ActionConfigured, 0},
		{"new env", appYAML("web", "127.0.0.1:8080", ", replicas: 3, env: [{name: A, value: b}]"), apiv1.ActionConfigured, 2},
		{"same again", appYAML("web", "127.0.0.1:8080", ", replicas: 3, env: [{name: A, value: b}]"), apiv1.ActionUnchanged, 0},
	}
	for _, st := range steps {
		res, err := s.Apply(ctx, docs(t, st.yaml), "tester")
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := res.Resources[0]
		if got.Action != st.action || got.Revision != st.revision {
			t.Fatalf("%s: got %s revision %d, want %s revision %d", st.name, got.Action, got.Revision, st.action, st.revision)
		}
	}
	revs, err := s.Revisions(ctx, "web")
	if err != nil || len(revs) != 2 || !strings.Contains(revs[1].Cause, "tester") {
		t.Fatalf("revisions = %+v, %v", revs, err)
	}
	ev, _ := s.Events(ctx, store.EventFilter{App: "web"})
	var reasons []string
	for _, e := range ev {
		reasons = append(reasons, e.Reason)
	}
	if want := "RevisionCreated Created Updated RevisionCreated Updated"; strings.Join(reasons, " ") != want {
		t.Fatalf("events = %v, want %s", reasons, want)
	}
}

func TestApplyStaleVersionConflicts(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Apply(ctx, docs(t, appYAML("web", ":8080", "")), "a"); err != nil {
		t.Fatal(err)
	}
	stale := strings.Replace(appYAML("web", ":8080", ", replicas: 2"), "{name: web}", "{name: web, resourceVersion: 7}", 1)
	_, err := s.Apply(ctx, docs(t, stale), "a")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale apply: %v, want ErrConflict", err)
	}
	o, _ := s.Get(ctx, spec.KindApp, "web")
	if o.ResourceVersion != 1 {
		t.Fatalf("a rejected apply changed the app: version %d", o.ResourceVersion)
	}
}

func TestApplyRejectsTakenAddressesAtomically(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Apply(ctx, docs(t, appYAML("one", "127.0.0.1:8080", "")), "a"); err != nil {
		t.Fatal(err)
	}
	batch := appYAML("two", "127.0.0.1:9090", "") + "---\n" + appYAML("three", ":8080", "")
	_, err := s.Apply(ctx, docs(t, batch), "a")
	ve, ok := spec.AsValidationError(err)
	if !ok || len(ve.Problems) != 1 || ve.Problems[0].Path != "spec.listen" || ve.Problems[0].Resource != "App/three" {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Get(ctx, spec.KindApp, "two"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rejected batch stored part of itself: %v", err)
	}
	// Moving an app to a free address and taking its old one in one batch works.
	swap := appYAML("one", "127.0.0.1:8081", "") + "---\n" + appYAML("two", "127.0.0.1:8080", "")
	if _, err := s.Apply(ctx, docs(t, swap), "a"); err != nil {
		t.Fatalf("swap: %v", err)
	}
}

func TestDeleteAndChanged(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	changed := s.Changed()
	if _, err := s.Apply(ctx, docs(t, appYAML("web", ":8080", "")), "a"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("apply did not ring the bell")
	}
	if err := s.Delete(ctx, spec.KindApp, "web", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, spec.KindApp, "web", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.Revisions(ctx, "web"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revisions of a deleted app: %v", err)
	}
}
