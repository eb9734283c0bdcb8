package spec

import (
	"slices"
	"strings"
	"testing"
)

// withEnv is an App whose process env is env (a YAML flow list).
func withEnv(env string, extra ...string) string {
	return strings.Replace(app(extra...), "command: [./web]", "command: [./web], env: "+env, 1)
}

func TestRolloutOnSecretChange(t *testing.T) {
	refs := `[{name: A, valueFrom: {secret: {path: shop/db, key: password}}}, {name: B, value: x},` +
		` {name: C, valueFrom: {secret: {path: shop/api, key: token}}}, {name: D, valueFrom: {secret: {path: shop/db, key: user}}}]`
	docs, err := Decode([]byte(withEnv(refs, "rolloutOnSecretChange: true")))
	if err != nil {
		t.Fatal(err)
	}
	a := docs[0].App
	if !a.RolloutOnSecretChange || !strings.Contains(string(docs[0].Spec), `"rolloutOnSecretChange":true`) {
		t.Fatalf("rolloutOnSecretChange not kept: %s", docs[0].Spec)
	}
	if got := a.SecretPaths(); !slices.Equal(got, []string{"shop/api", "shop/db"}) {
		t.Fatalf("SecretPaths = %v", got)
	}
	off, err := Decode([]byte(withEnv(refs)))
	if err != nil {
		t.Fatal(err)
	}
	if off[0].App.RolloutOnSecretChange || strings.Contains(string(off[0].Spec), "rolloutOnSecretChange") {
		t.Fatalf("the default is not false: %s", off[0].Spec)
	}
	if !a.Workload().Equal(off[0].App.Workload()) {
		t.Fatal("the flag itself is part of the workload")
	}
	if (&App{Runtime: Runtime{Static: &StaticRuntime{}}}).SecretPaths() != nil {
		t.Fatal("a static app refers to secrets")
	}

	for _, c := range []struct{ doc, field string }{
		{app("rolloutOnSecretChange: yes please"), "spec.rolloutOnSecretChange"},
		{"apiVersion: sluice.dev/v1\nkind: App\nmetadata: {name: web}\nspec:\n  listen: 127.0.0.1:8080\n" +
			"  rolloutOnSecretChange: true\n  runtime: {static: {addresses: [\"127.0.0.1:9000\"]}}\n", "spec.rolloutOnSecretChange"},
	} {
		_, err := Decode([]byte(c.doc))
		ve, ok := AsValidationError(err)
		if !ok || len(ve.Problems) == 0 || ve.Problems[0].Path != c.field {
			t.Errorf("%q: %v, want a problem at %s", c.doc, err, c.field)
		}
	}
}

func TestWorkloadSecretVersions(t *testing.T) {
	docs, err := Decode([]byte(app()))
	if err != nil {
		t.Fatal(err)
	}
	w := docs[0].App.Workload()
	v3 := w.WithSecretVersions(map[string]int64{"shop/db": 3})
	v4 := w.WithSecretVersions(map[string]int64{"shop/db": 4})
	switch {
	case w.Equal(v3), v3.Equal(v4):
		t.Fatal("secret versions do not change the workload")
	case !v3.Equal(w.WithSecretVersions(map[string]int64{"shop/db": 3})):
		t.Fatal("the same versions make another workload")
	case !w.Equal(v3.WithSecretVersions(nil)), !w.Equal(w.WithSecretVersions(map[string]int64{})):
		t.Fatal("no versions is not the plain workload")
	}
	versions := map[string]int64{"a": 1}
	x := w.WithSecretVersions(versions)
	versions["a"] = 2
	if x.SecretVersions["a"] != 1 {
		t.Fatal("the workload shares the caller's map")
	}
}
