package resources

import (
	"context"
	"encoding/json"
	"fmt"

	"sluice.dev/sluice/internal/store"
)

// StatusFunc decides an object's next status from the stored object. It
// returns the new status (nil: keep it) and events to append beside it, or
// an error that cancels the change.
type StatusFunc func(cur store.Object) (status json.RawMessage, events []store.Event, err error)

// UpdateStatus changes the status of one resource in a write transaction:
// fn sees the object as stored and returns its new status and the events
// that explain it, which land together or not at all. The spec, labels and
// generation stay as they are; the resource version grows. Watchers are
// woken when something was written.
func (s *Service) UpdateStatus(ctx context.Context, kind, name string, fn StatusFunc) (store.Object, error) {
	var saved store.Object
	wrote := false
	err := s.store.Write(ctx, func(tx store.Tx) error {
		wrote = false
		cur, err := tx.Get(ctx, kind, name)
		if err != nil {
			return err
		}
		saved = cur
		status, events, err := fn(cur)
		if err != nil {
			return err
		}
		if status != nil {
			next := cur
			next.Status = status
			if saved, err = tx.Update(ctx, next); err != nil {
				return err
			}
			wrote = true
		}
		for _, e := range events {
			if _, err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			wrote = true
		}
		return nil
	})
	if err != nil {
		return store.Object{}, fmt.Errorf("update status of %s %q: %w", kind, name, err)
	}
	if wrote {
		s.bell.ring()
	}
	return saved, nil
}
