package server

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
)

func TestPlanFlagSync(t *testing.T) {
	at := time.Unix(1700000000, 0)
	obj := func(name string, rv int64) store.Object {
		return store.Object{Kind: spec.KindFlagSet, Name: name, ResourceVersion: rv, CreatedAt: at}
	}
	recreated := obj("staging", 1)
	recreated.CreatedAt = at.Add(time.Second)
	cases := []struct {
		name        string
		published   map[string]string
		objs        []store.Object
		changed     []string
		removed     []string
		description string
	}{
		{"first load", map[string]string{}, []store.Object{obj("production", 1), obj("staging", 4)},
			[]string{"production", "staging"}, nil, ""},
		{"nothing new", map[string]string{"production": flagSetVersion(obj("production", 2))},
			[]store.Object{obj("production", 2)}, nil, nil, ""},
		{"one updated", map[string]string{"production": flagSetVersion(obj("production", 2)), "staging": flagSetVersion(obj("staging", 1))},
			[]store.Object{obj("production", 3), obj("staging", 1)}, []string{"production"}, nil, ""},
		{"deleted", map[string]string{"production": "1-x", "dev": "1-x", "staging": "1-x"},
			[]store.Object{obj("production", 1)}, []string{"production"}, []string{"dev", "staging"}, ""},
		{"deleted and re-created at the same version", map[string]string{"staging": flagSetVersion(obj("staging", 1))},
			[]store.Object{recreated}, []string{"staging"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			changed, removed := planFlagSync(c.published, c.objs)
			var names []string
			for _, o := range changed {
				names = append(names, o.Name)
			}
			if !reflect.DeepEqual(names, c.changed) || !reflect.DeepEqual(removed, c.removed) {
				t.Fatalf("changed %v removed %v, want %v and %v", names, removed, c.changed, c.removed)
			}
		})
	}
}

// flagStore is a SQLite store with a resources service over it.
func flagStore(t *testing.T) (string, store.Store, *resources.Service) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return path, st, resources.New(st)
}

func applyFlags(t *testing.T, res *resources.Service, env, flagsJSON string) {
	t.Helper()
	docs, err := spec.Decode([]byte(`{"apiVersion":"sluice.dev/v1","kind":"FlagSet","metadata":{"name":"` + env + `"},"spec":` + flagsJSON + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Apply(context.Background(), docs, "tester"); err != nil {
		t.Fatal(err)
	}
}

func colorFlags(color string) string {
	return `{"flags":{"color":{"state":"ENABLED","variants":{"red":"#f00","blue":"#00f","green":"#0f0"},"defaultVariant":"` + color + `"}}}`
}

// currentColor evaluates the color flag of env from the server's feed; ""
// when env has no flags.
func currentColor(f *flagServer, env string) string {
	snap, ok := f.feed.Current(env)
	if !ok {
		return ""
	}
	v, _ := snap.Set.Evaluate("color", nil, time.Now()).Value.(string)
	return v
}

// runFlagServer starts f.Run and stops it at the end of the test.
func runFlagServer(t *testing.T, f *flagServer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFlagServerFollowsTheStore(t *testing.T) {
	_, _, res := flagStore(t)
	applyFlags(t, res, "production", colorFlags("red"))
	f, err := newFlagServer(context.Background(), res, t.TempDir(), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if got := currentColor(f, "production"); got != "#f00" {
		t.Fatalf("at start: %q, want the stored flags loaded before serving", got)
	}
	f.poll = time.Hour // only the change signal can wake it
	runFlagServer(t, f)

	changes := f.feed.Subscribe(t.Context(), "production")
	applyFlags(t, res, "production", colorFlags("blue"))
	<-changes
	if got := currentColor(f, "production"); got != "#00f" {
		t.Fatalf("after an update: %q", got)
	}
	applyFlags(t, res, "staging", colorFlags("green"))
	waitFor(t, "staging is published", func() bool { return currentColor(f, "staging") == "#0f0" })
	if err := res.Delete(context.Background(), spec.KindFlagSet, "production", "tester"); err != nil {
		t.Fatal(err)
	}
	if c := <-changes; !c.Removed {
		t.Fatalf("after delete: %+v", c)
	}
	if got := currentColor(f, "production"); got != "" {
		t.Fatalf("a deleted FlagSet is still served: %q", got)
	}
}

// TestServersSharingAStoreConverge changes flags through a second server
// (another service over the same database): the first learns of it by
// polling.
func TestServersSharingAStoreConverge(t *testing.T) {
	path, _, res := flagStore(t)
	applyFlags(t, res, "production", colorFlags("red"))
	f, err := newFlagServer(context.Background(), res, t.TempDir(), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	f.poll = 20 * time.Millisecond
	runFlagServer(t, f)

	other, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	applyFlags(t, resources.New(other), "production", colorFlags("green"))
	waitFor(t, "the change made elsewhere arrives", func() bool { return currentColor(f, "production") == "#0f0" })
}

// lockedBuffer collects log output written from the Run goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestABrokenStoredSetKeepsThePreviousFlags writes a spec that does not
// compile straight into the store, past validation: the environment keeps
// serving its previous flags and the problem is logged.
func TestABrokenStoredSetKeepsThePreviousFlags(t *testing.T) {
	_, st, res := flagStore(t)
	applyFlags(t, res, "production", colorFlags("red"))
	var logs lockedBuffer
	f, err := newFlagServer(context.Background(), res, t.TempDir(), slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	f.poll = 10 * time.Millisecond
	runFlagServer(t, f)

	ctx := context.Background()
	err = st.Write(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, spec.KindFlagSet, "production")
		if err != nil {
			return err
		}
		o.Spec = json.RawMessage(`{"flags": 42}`)
		_, err = tx.Update(ctx, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the problem is logged", func() bool { return strings.Contains(logs.String(), "does not compile") })
	if got := currentColor(f, "production"); got != "#f00" {
		t.Fatalf("after a broken write: %q, want the previous flags", got)
	}
}

func TestStreamKeyIsKeptAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), StreamKeyFile)
	first, err := loadStreamKey(path)
	if err != nil || len(first) != 32 {
		t.Fatalf("first key: %x, %v", first, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", st, err)
	}
	again, err := loadStreamKey(path)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("second load: %x, %v; want %x", again, err, first)
	}
	if err := os.WriteFile(path, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadStreamKey(path); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("a damaged key file: %v", err)
	}
}
