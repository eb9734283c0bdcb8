package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
)

// historyTests are the conformance cases of the resource history.
var historyTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"HistoryVersionsAndOrder", testHistoryVersions},
	{"HistoryOutlivesDelete", testHistoryOutlivesDelete},
	{"HistoryLimitKeepsNewest", testHistoryLimit},
	{"HistoryRollsBackWithItsWrite", testHistoryRollback},
	{"HistoryConcurrentWriters", testHistoryConcurrent},
}

// entry is a history entry of a FlagSet with a spec.
func entry(name, action, spec, actor string, rv int64) store.HistoryEntry {
	h := store.HistoryEntry{Kind: "FlagSet", Name: name, Action: action, Actor: actor, ResourceVersion: rv}
	if spec != "" {
		h.Spec = json.RawMessage(spec)
	}
	return h
}

func testHistoryVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	write(t, s, func(tx store.Tx) error {
		for i, h := range []store.HistoryEntry{
			entry("production", store.HistoryCreated, `{"flags":{}}`, "alice", 1),
			entry("production", store.HistoryUpdated, `{"flags":{"a":1}}`, "bob", 2),
			entry("staging", store.HistoryCreated, `{"flags":{}}`, "carol", 1),
		} {
			if i == 1 {
				h.Time = at
			}
			got, err := tx.AppendHistory(ctx, h)
			if err != nil {
				return err
			}
			want := map[int]int64{0: 1, 1: 2, 2: 1}[i]
			if got.Version != want || got.Time.IsZero() {
				return fmt.Errorf("entry %d: version %d time %v, want version %d and a time", i, got.Version, got.Time, want)
			}
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		list, err := tx.ListHistory(ctx, store.HistoryFilter{Kind: "FlagSet", Name: "production"})
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].Version != 1 || list[1].Version != 2 {
			return fmt.Errorf("history = %+v, want versions 1 and 2, oldest first", list)
		}
		second := list[1]
		if second.Actor != "bob" || second.Action != store.HistoryUpdated || second.ResourceVersion != 2 ||
			string(second.Spec) != `{"flags":{"a":1}}` || !second.Time.Equal(at) {
			return fmt.Errorf("entry 2 = %+v", second)
		}
		got, err := tx.GetHistory(ctx, "FlagSet", "production", 1)
		if err != nil || got.Actor != "alice" || string(got.Spec) != `{"flags":{}}` {
			return fmt.Errorf("GetHistory(1) = %+v, %v", got, err)
		}
		if _, err := tx.GetHistory(ctx, "FlagSet", "production", 3); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing version: %v, want ErrNotFound", err)
		}
		if _, err := tx.GetHistory(ctx, "App", "production", 1); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("same name, other kind: %v, want ErrNotFound", err)
		}
		none, err := tx.ListHistory(ctx, store.HistoryFilter{Kind: "FlagSet", Name: "nobody"})
		if err == nil && len(none) != 0 {
			err = fmt.Errorf("history of nothing = %+v", none)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testHistoryOutlivesDelete checks that entries stay when the object goes,
// and that a re-created object continues the numbering.
func testHistoryOutlivesDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		if _, err := tx.Create(ctx, store.Object{Kind: "FlagSet", Name: "p", Spec: json.RawMessage(`{}`)}); err != nil {
			return err
		}
		if _, err := tx.AppendHistory(ctx, entry("p", store.HistoryCreated, `{}`, "a", 1)); err != nil {
			return err
		}
		if err := tx.Delete(ctx, "FlagSet", "p"); err != nil {
			return err
		}
		_, err := tx.AppendHistory(ctx, entry("p", store.HistoryDeleted, "", "a", 1))
		return err
	})
	write(t, s, func(tx store.Tx) error {
		h, err := tx.AppendHistory(ctx, entry("p", store.HistoryCreated, `{"x":1}`, "b", 1))
		if err == nil && h.Version != 3 {
			err = fmt.Errorf("entry after re-create has version %d, want 3", h.Version)
		}
		return err
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		list, err := tx.ListHistory(ctx, store.HistoryFilter{Kind: "FlagSet", Name: "p"})
		if err == nil && (len(list) != 3 || list[1].Action != store.HistoryDeleted || list[1].Spec != nil) {
			err = fmt.Errorf("history = %+v", list)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testHistoryLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for i := range 7 {
			if _, err := tx.AppendHistory(ctx, entry("p", store.HistoryUpdated, fmt.Sprintf(`{"i":%d}`, i), "a", int64(i+1))); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		list, err := tx.ListHistory(ctx, store.HistoryFilter{Kind: "FlagSet", Name: "p", Limit: 3})
		if err == nil && (len(list) != 3 || list[0].Version != 5 || list[2].Version != 7) {
			err = fmt.Errorf("limit 3 = %+v, want versions 5, 6, 7", list)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testHistoryRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendHistory(ctx, entry("p", store.HistoryCreated, `{}`, "a", 1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v", err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		list, err := tx.ListHistory(ctx, store.HistoryFilter{Kind: "FlagSet", Name: "p"})
		if err == nil && len(list) != 0 {
			err = fmt.Errorf("an entry survived a rollback: %+v", list)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testHistoryConcurrent appends from many goroutines: every append that
// succeeds gets its own version and the versions have no gaps.
func testHistoryConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]bool{}
	for w := range 8 {
		wg.Go(func() {
			for i := range 5 {
				var h store.HistoryEntry
				err := s.Write(ctx, func(tx store.Tx) (err error) {
					h, err = tx.AppendHistory(ctx, entry("p", store.HistoryUpdated, fmt.Sprintf(`{"w":%d,"i":%d}`, w, i), "a", 1))
					return err
				})
				if errors.Is(err, store.ErrExists) {
					continue // a racing writer took the version; allowed
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				if seen[h.Version] {
					t.Errorf("version %d given twice", h.Version)
				}
				seen[h.Version] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for v := int64(1); v <= int64(len(seen)); v++ {
		if !seen[v] {
			t.Fatalf("versions %v have a gap at %d", seen, v)
		}
	}
}
