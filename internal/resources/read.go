package resources

import (
	"context"
	"fmt"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// Get returns one resource.
func (s *Service) Get(ctx context.Context, kind, name string) (store.Object, error) {
	var o store.Object
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		o, err = tx.Get(ctx, kind, name)
		return err
	})
	return o, err
}

// List returns every resource of a kind.
func (s *Service) List(ctx context.Context, kind string) ([]store.Object, error) {
	var out []store.Object
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.List(ctx, kind)
		return err
	})
	return out, err
}

// Delete removes a resource (and an app's revisions) and records it.
func (s *Service) Delete(ctx context.Context, kind, name, actor string) error {
	err := s.store.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.Get(ctx, kind, name)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, kind, name); err != nil {
			return err
		}
		if err := recordHistory(ctx, tx, store.HistoryDeleted, cur, actor); err != nil {
			return err
		}
		app := ""
		if kind == spec.KindApp {
			app = name
		}
		_, err = tx.AppendEvent(ctx, store.Event{App: app, Reason: "Deleted", Message: fmt.Sprintf("%s/%s deleted by %s", kind, name, actor)})
		return err
	})
	if err == nil {
		s.bell.ring()
	}
	return err
}

// Revisions returns an app's revisions, oldest first; ErrNotFound when the
// app does not exist.
func (s *Service) Revisions(ctx context.Context, app string) ([]store.Revision, error) {
	var out []store.Revision
	err := s.store.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(ctx, spec.KindApp, app); err != nil {
			return err
		}
		var err error
		out, err = tx.ListRevisions(ctx, app)
		return err
	})
	return out, err
}

// Events returns events matching f, oldest first.
func (s *Service) Events(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	var out []store.Event
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ListEvents(ctx, f)
		return err
	})
	return out, err
}

// Record appends one event and wakes watchers.
func (s *Service) Record(ctx context.Context, e store.Event) error {
	err := s.store.Write(ctx, func(tx store.Tx) error {
		_, err := tx.AppendEvent(ctx, e)
		return err
	})
	if err == nil {
		s.bell.ring()
	}
	return err
}
