package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
)

// Opener returns a fresh, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CreateGetList", testCreateGetList},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"DeleteRemovesRevisions", testDelete},
		{"RollbackOnError", testRollback},
		{"Revisions", testRevisions},
		{"Events", testEvents},
		{"Tokens", testTokens},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	tests = append(tests, historyTests...)
	tests = append(tests, secretTests...)
	tests = append(tests, auditTests...)
	tests = append(tests, measurementTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func write(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func obj(name, spec string) store.Object {
	return store.Object{Kind: "App", Name: name, Spec: json.RawMessage(spec), Labels: map[string]string{"team": "web"}}
}

func testCreateGetList(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for _, n := range []string{"b", "a"} {
			o, err := tx.Create(ctx, obj(n, `{"listen":":1"}`))
			if err != nil {
				return err
			}
			if o.ResourceVersion != 1 || o.Generation != 1 || o.CreatedAt.IsZero() {
				return fmt.Errorf("created %+v", o)
			}
		}
		_, err := tx.Create(ctx, obj("a", `{}`))
		if !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("second create of a: %v, want ErrExists", err)
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, "App", "a")
		if err != nil {
			return err
		}
		if string(o.Spec) != `{"listen":":1"}` || o.Labels["team"] != "web" {
			return fmt.Errorf("got %+v", o)
		}
		if _, err := tx.Get(ctx, "App", "zzz"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get missing: %v", err)
		}
		if _, err := tx.Get(ctx, "FlagSet", "a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("kinds must not mix: %v", err)
		}
		list, err := tx.List(ctx, "App")
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
			return fmt.Errorf("list = %+v", list)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testOptimisticConcurrency(t *testing.T, s store.Store) {
	ctx := context.Background()
	var first store.Object
	write(t, s, func(tx store.Tx) (err error) {
		first, err = tx.Create(ctx, obj("a", `{"v":1}`))
		return err
	})
	// Status-only change: version grows, generation does not.
	st := first
	st.Status = json.RawMessage(`{"phase":"Healthy"}`)
	var second store.Object
	write(t, s, func(tx store.Tx) (err error) {
		second, err = tx.Update(ctx, st)
		return err
	})
	if second.ResourceVersion != 2 || second.Generation != 1 {
		t.Fatalf("after status update: rv %d gen %d, want 2 1", second.ResourceVersion, second.Generation)
	}
	// A writer holding the first version loses.
	stale := first
	stale.Spec = json.RawMessage(`{"v":2}`)
	err := s.Write(ctx, func(tx store.Tx) error {
		_, err := tx.Update(ctx, stale)
		return err
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	fresh := second
	fresh.Spec = json.RawMessage(`{"v":2}`)
	write(t, s, func(tx store.Tx) error {
		o, err := tx.Update(ctx, fresh)
		if err == nil && (o.ResourceVersion != 3 || o.Generation != 2) {
			err = fmt.Errorf("after spec update: rv %d gen %d, want 3 2", o.ResourceVersion, o.Generation)
		}
		return err
	})
	err = s.Read(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, "App", "a")
		if err == nil && (string(o.Spec) != `{"v":2}` || string(o.Status) != `{"phase":"Healthy"}`) {
			err = fmt.Errorf("stored %s %s", o.Spec, o.Status)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx store.Tx) error {
		_, err := tx.Update(ctx, obj("missing", `{}`))
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing object: %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		if _, err := tx.Create(ctx, obj("a", `{}`)); err != nil {
			return err
		}
		_, err := tx.CreateRevision(ctx, store.Revision{App: "a", Number: 1, Workload: json.RawMessage(`{}`)})
		return err
	})
	write(t, s, func(tx store.Tx) error { return tx.Delete(ctx, "App", "a") })
	err := s.Write(ctx, func(tx store.Tx) error { return tx.Delete(ctx, "App", "a") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	write(t, s, func(tx store.Tx) error {
		revs, err := tx.ListRevisions(ctx, "a")
		if err == nil && len(revs) != 0 {
			return fmt.Errorf("revisions outlived their app: %+v", revs)
		}
		// A re-created app starts its revisions at 1 again.
		_, err = tx.CreateRevision(ctx, store.Revision{App: "a", Number: 1, Workload: json.RawMessage(`{}`)})
		return err
	})
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.Create(ctx, obj("a", `{}`)); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, store.Event{Reason: "X", Message: "m"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the function's error", err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(ctx, "App", "a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("object survived a rollback: %v", err)
		}
		ev, err := tx.ListEvents(ctx, store.EventFilter{})
		if err == nil && len(ev) != 0 {
			err = fmt.Errorf("event survived a rollback: %+v", ev)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for n := 1; n <= 3; n++ {
			r, err := tx.CreateRevision(ctx, store.Revision{App: "a", Number: n, Version: fmt.Sprintf("v%d", n), Workload: json.RawMessage(`{"n":1}`), Cause: "apply"})
			if err != nil {
				return err
			}
			if r.CreatedAt.IsZero() {
				return fmt.Errorf("revision %d has no time", n)
			}
		}
		if _, err := tx.CreateRevision(ctx, store.Revision{App: "a", Number: 3, Workload: json.RawMessage(`{}`)}); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("duplicate number: %v, want ErrExists", err)
		}
		if _, err := tx.CreateRevision(ctx, store.Revision{App: "a", Number: 9, Workload: json.RawMessage(`{}`)}); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("gap in numbers: %v, want ErrExists", err)
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		revs, err := tx.ListRevisions(ctx, "a")
		if err != nil {
			return err
		}
		if len(revs) != 3 || revs[0].Number != 1 || revs[2].Version != "v3" || string(revs[1].Workload) != `{"n":1}` {
			return fmt.Errorf("revisions = %+v", revs)
		}
		r, err := tx.GetRevision(ctx, "a", 2)
		if err == nil && r.Version != "v2" {
			err = fmt.Errorf("revision 2 = %+v", r)
		}
		if err != nil {
			return err
		}
		if _, err := tx.GetRevision(ctx, "a", 7); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing revision: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for i := range 10 {
			app := "a"
			if i%2 == 1 {
				app = "b"
			}
			e, err := tx.AppendEvent(ctx, store.Event{App: app, Revision: i, Reason: "R", Message: fmt.Sprint(i), Data: json.RawMessage(`{"i":1}`)})
			if err != nil {
				return err
			}
			if e.ID == 0 || e.Time.IsZero() || e.Type != store.EventNormal {
				return fmt.Errorf("appended %+v", e)
			}
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		all, err := tx.ListEvents(ctx, store.EventFilter{})
		if err != nil {
			return err
		}
		if len(all) != 10 || all[0].Message != "0" || all[9].Message != "9" || string(all[0].Data) != `{"i":1}` {
			return fmt.Errorf("all events = %+v", all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID <= all[i-1].ID {
				return fmt.Errorf("event IDs do not grow: %d then %d", all[i-1].ID, all[i].ID)
			}
		}
		a, err := tx.ListEvents(ctx, store.EventFilter{App: "a", AfterID: all[2].ID})
		if err == nil && (len(a) != 3 || a[0].Message != "4") {
			err = fmt.Errorf("events of a after #3 = %+v", a)
		}
		if err != nil {
			return err
		}
		last, err := tx.ListEvents(ctx, store.EventFilter{Limit: 3})
		if err == nil && (len(last) != 3 || last[0].Message != "7" || last[2].Message != "9") {
			err = fmt.Errorf("newest three = %+v", last)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateToken(ctx, store.Token{ID: "t1", Name: "admin", Role: "admin", Hash: "h1", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, store.Token{ID: "t2", Name: "ci", Role: "deployer", Env: "prod", Hash: "h2", CreatedAt: time.Now(), ExpiresAt: &exp}); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, store.Token{ID: "t3", Name: "ci", Role: "viewer", Hash: "h3", CreatedAt: time.Now()}); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("duplicate name: %v, want ErrExists", err)
		}
		return tx.TouchToken(ctx, "t2", exp)
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		tok, err := tx.TokenByHash(ctx, "h2")
		if err != nil {
			return err
		}
		if tok.Name != "ci" || tok.Env != "prod" || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) || tok.LastUsedAt == nil {
			return fmt.Errorf("token = %+v", tok)
		}
		if _, err := tx.TokenByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("unknown hash: %v", err)
		}
		list, err := tx.ListTokens(ctx)
		if err == nil && (len(list) != 2 || list[0].Name != "admin") {
			err = fmt.Errorf("tokens = %+v", list)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t2") })
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t2") }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
}

// testConcurrentWriters has many goroutines update one object from the
// version each read: every write either lands or conflicts, and the final
// version counts exactly the writes that landed.
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		_, err := tx.Create(ctx, obj("a", `{"n":0}`))
		return err
	})
	var landed, conflicts atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				var seen store.Object
				if err := s.Read(ctx, func(tx store.Tx) (err error) {
					seen, err = tx.Get(ctx, "App", "a")
					return err
				}); err != nil {
					t.Errorf("read: %v", err)
					return
				}
				seen.Spec = json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				err := s.Write(ctx, func(tx store.Tx) error {
					if _, err := tx.Update(ctx, seen); err != nil {
						return err
					}
					_, err := tx.AppendEvent(ctx, store.Event{App: "a", Reason: "Updated", Message: "x"})
					return err
				})
				switch {
				case err == nil:
					landed.Add(1)
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("write: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	err := s.Read(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, "App", "a")
		if err != nil {
			return err
		}
		if o.ResourceVersion != 1+landed.Load() {
			return fmt.Errorf("version %d after %d landed writes", o.ResourceVersion, landed.Load())
		}
		ev, err := tx.ListEvents(ctx, store.EventFilter{App: "a", Limit: 1000})
		if err == nil && int64(len(ev)) != landed.Load() {
			err = fmt.Errorf("%d events for %d landed writes", len(ev), landed.Load())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if landed.Load() == 0 || landed.Load()+conflicts.Load() != 160 {
		t.Fatalf("landed %d, conflicts %d of 160", landed.Load(), conflicts.Load())
	}
}
