package resources

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

func TestSecretChanges(t *testing.T) {
	base := spec.Workload{Version: "v1", Runtime: spec.Runtime{Process: &spec.ProcessRuntime{Command: []string{"./web"}}}}
	at := func(v map[string]int64) spec.Workload { return base.WithSecretVersions(v) }
	other := at(map[string]int64{"a": 2})
	other.Version = "v2"
	cases := []struct {
		name         string
		latest, want spec.Workload
		changes      []SecretChange
	}{
		{"same versions", at(map[string]int64{"a": 1}), at(map[string]int64{"a": 1}), nil},
		{"no secrets", base, base, nil},
		{"a new version", at(map[string]int64{"a": 1, "b": 5}), at(map[string]int64{"a": 2, "b": 5}), []SecretChange{{"a", 1, 2}}},
		{"removed and written", at(map[string]int64{"a": 1, "b": 0}), at(map[string]int64{"a": 0, "b": 1}), []SecretChange{{"a", 1, 0}, {"b", 0, 1}}},
		{"the spec changed too: an apply's business", at(map[string]int64{"a": 1}), other, nil},
	}
	for _, c := range cases {
		if got := secretChanges(c.latest, c.want); !reflect.DeepEqual(got, c.changes) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.changes)
		}
	}
	for c, want := range map[SecretChange]string{
		{"shop/db", 3, 4}: "secret shop/db version 3 → 4",
		{"shop/db", 3, 0}: "secret shop/db removed (was version 3)",
		{"shop/db", 0, 1}: "secret shop/db version 1 (had none)",
	} {
		if c.String() != want {
			t.Errorf("%+v: %q, want %q", c, c.String(), want)
		}
	}
}

// secretEnv is a resources service and a secrets service over one store.
type secretEnv struct {
	t   *testing.T
	st  store.Store
	res *Service
	sec *secrets.Service
}

func newSecretEnv(t *testing.T) *secretEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &secretEnv{t: t, st: st, res: New(st), sec: secrets.New(st, secrets.NewKey(), nil, time.Now)}
}

// secretApp is an app whose env refers to key password of path.
func secretApp(name, listen, path string, follow bool) string {
	doc := appYAML(name, listen, ", env: [{name: DB_PASSWORD, valueFrom: {secret: {path: "+path+", key: password}}}]")
	if follow {
		doc = strings.Replace(doc, "  runtime:", "  rolloutOnSecretChange: true\n  runtime:", 1)
	}
	return doc
}

func (e *secretEnv) put(path, value string) {
	e.t.Helper()
	if _, err := e.sec.Put(context.Background(), path, map[string]string{"password": value}, "alice"); err != nil {
		e.t.Fatal(err)
	}
}

// roll runs RollOutSecretChanges and returns "app:revision" of each
// revision made.
func (e *secretEnv) roll() []string {
	e.t.Helper()
	made, err := e.res.RollOutSecretChanges(context.Background(), "req-1")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range made {
		out = append(out, m.App+":"+strconv.Itoa(m.Revision))
	}
	return out
}

// latest returns the app's latest revision's workload and its status.
func (e *secretEnv) latest(app string) (spec.Workload, apiv1.AppStatus) {
	e.t.Helper()
	revs, err := e.res.Revisions(context.Background(), app)
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := decodeWorkload(revs[len(revs)-1])
	if err != nil {
		e.t.Fatal(err)
	}
	o, _ := e.res.Get(context.Background(), spec.KindApp, app)
	var st apiv1.AppStatus
	_ = json.Unmarshal(o.Status, &st)
	return w, st
}

func TestRollOutSecretChanges(t *testing.T) {
	ctx := context.Background()
	e := newSecretEnv(t)
	e.put("shop/db", "first-value-1")
	batch := secretApp("web", "127.0.0.1:8080", "shop/db", true) + "---\n" +
		secretApp("api", "127.0.0.1:8081", "shop/db", true) + "---\n" +
		secretApp("plain", "127.0.0.1:8082", "shop/db", false) + "---\n" +
		secretApp("later", "127.0.0.1:8083", "shop/later", true)
	if _, err := e.res.Apply(ctx, docs(t, batch), "alice"); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.latest("web"); !reflect.DeepEqual(w.SecretVersions, map[string]int64{"shop/db": 1}) {
		t.Fatalf("revision 1 of web records %v", w.SecretVersions)
	}
	if w, _ := e.latest("plain"); w.SecretVersions != nil {
		t.Fatalf("an app that does not opt in records %v", w.SecretVersions)
	}
	if got := e.roll(); got != nil {
		t.Fatalf("nothing changed, yet %v", got)
	}

	// A new version: every app that follows the path gets a revision.
	changed := e.res.Changed()
	e.put("shop/db", "second-value-2")
	if got := e.roll(); !reflect.DeepEqual(got, []string{"api:2", "web:2"}) {
		t.Fatalf("after a put: %v, want api:2 web:2", got)
	}
	select {
	case <-changed:
	default:
		t.Fatal("watchers were not woken")
	}
	w, st := e.latest("web")
	if w.SecretVersions["shop/db"] != 2 || st.LatestRevision != 2 {
		t.Fatalf("web: versions %v, latest revision %d", w.SecretVersions, st.LatestRevision)
	}
	if _, st := e.latest("plain"); st.LatestRevision != 1 {
		t.Fatalf("plain moved to revision %d", st.LatestRevision)
	}
	if got := e.roll(); got != nil {
		t.Fatalf("a second pass made %v", got)
	}
	// Applying the unchanged spec makes nothing; a path no one refers to
	// changes nothing either.
	res, err := e.res.Apply(ctx, docs(t, secretApp("web", "127.0.0.1:8080", "shop/db", true)), "alice")
	if err != nil || res.Resources[0].Action != apiv1.ActionUnchanged {
		t.Fatalf("re-apply: %+v, %v", res, err)
	}
	e.put("misc/unused", "third-value-3")
	if got := e.roll(); got != nil {
		t.Fatalf("an unreferenced path made %v", got)
	}

	// A rollback is a new version; a removal is one too.
	if _, err := e.sec.Rollback(ctx, "shop/db", 1, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := e.roll(); !reflect.DeepEqual(got, []string{"api:3", "web:3"}) {
		t.Fatalf("after a rollback: %v", got)
	}
	if err := e.sec.Delete(ctx, "shop/db"); err != nil {
		t.Fatal(err)
	}
	made, err := e.res.RollOutSecretChanges(ctx, "req-2")
	if err != nil || len(made) != 2 || !reflect.DeepEqual(made[1].Changes, []SecretChange{{"shop/db", 3, 0}}) {
		t.Fatalf("after a removal: %+v, %v", made, err)
	}
	// A path that had no version gets its first.
	e.put("shop/later", "fourth-value-4")
	if got := e.roll(); !reflect.DeepEqual(got, []string{"later:2"}) {
		t.Fatalf("a first version: %v", got)
	}

	// What was recorded names paths and versions, never a value.
	evs, _ := e.res.Events(ctx, store.EventFilter{App: "web"})
	var msgs []string
	for _, ev := range evs {
		if ev.Reason == "SecretChanged" {
			msgs = append(msgs, ev.Message)
		}
	}
	want := []string{"secret shop/db version 1 → 2: revision 2 rolls it out", "secret shop/db version 2 → 3: revision 3 rolls it out",
		"secret shop/db removed (was version 3): revision 4 rolls it out"}
	if !reflect.DeepEqual(msgs, want) {
		t.Fatalf("SecretChanged events: %q", msgs)
	}
	revs, _ := e.res.Revisions(ctx, "web")
	if c := revs[1].Cause; c != "secret change by sluice: secret shop/db version 1 → 2" {
		t.Fatalf("cause %q", c)
	}
	var entries []store.AuditEntry
	_ = e.st.Read(ctx, func(tx store.Tx) (err error) {
		entries, err = tx.ListAudit(ctx, store.AuditFilter{Resource: "apps/web"})
		return err
	})
	if len(entries) != 3 || entries[0].Actor != SecretActor || entries[0].RequestID != "req-1" ||
		entries[0].Action != "rollout on secret change: revision 2 (secret shop/db version 1 → 2)" {
		t.Fatalf("audit entries: %+v", entries)
	}
	var all []string
	for _, ev := range evs {
		all = append(all, ev.Message, string(ev.Data))
	}
	for _, r := range revs {
		all = append(all, string(r.Workload), r.Cause)
	}
	for _, a := range entries {
		all = append(all, a.Action)
	}
	for _, v := range []string{"first-value", "second-value", "fourth-value"} {
		if strings.Contains(strings.Join(all, "\n"), v) {
			t.Fatalf("a secret value was recorded: %s", v)
		}
	}

	// Turning the option off is a workload change, made by the apply.
	res, err = e.res.Apply(ctx, docs(t, secretApp("web", "127.0.0.1:8080", "shop/db", false)), "alice")
	if err != nil || res.Resources[0].Revision != 5 {
		t.Fatalf("turning the option off: %+v, %v", res, err)
	}
	if w, _ := e.latest("web"); w.SecretVersions != nil {
		t.Fatalf("revision 5 still records %v", w.SecretVersions)
	}
}
