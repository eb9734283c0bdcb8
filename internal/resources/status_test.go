package resources

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

func TestUpdateStatus(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Apply(ctx, docs(t, appYAML("web", "127.0.0.1:8080", "")), "tester"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, spec.KindApp, "web")
	woken := s.Changed()

	saved, err := s.UpdateStatus(ctx, spec.KindApp, "web", func(cur store.Object) (json.RawMessage, []store.Event, error) {
		return json.RawMessage(`{"phase":"Healthy"}`), []store.Event{{App: "web", Reason: "Promoted", Message: "m"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	default:
		t.Fatal("watchers were not woken")
	}
	if saved.ResourceVersion != before.ResourceVersion+1 || saved.Generation != before.Generation || string(saved.Status) != `{"phase":"Healthy"}` {
		t.Fatalf("saved %+v after %+v", saved, before)
	}
	evs, _ := s.Events(ctx, store.EventFilter{App: "web"})
	if last := evs[len(evs)-1]; last.Reason != "Promoted" {
		t.Fatalf("last event %+v", last)
	}

	// An error from fn changes nothing, events included.
	boom := errors.New("boom")
	_, err = s.UpdateStatus(ctx, spec.KindApp, "web", func(store.Object) (json.RawMessage, []store.Event, error) {
		return nil, nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	// A nil status keeps the object as it is.
	same, err := s.UpdateStatus(ctx, spec.KindApp, "web", func(store.Object) (json.RawMessage, []store.Event, error) {
		return nil, nil, nil
	})
	if err != nil || same.ResourceVersion != saved.ResourceVersion {
		t.Fatalf("nil status wrote: %+v %v", same, err)
	}
	if _, err := s.UpdateStatus(ctx, spec.KindApp, "nope", func(store.Object) (json.RawMessage, []store.Event, error) {
		return nil, nil, nil
	}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing app: %v", err)
	}
}
