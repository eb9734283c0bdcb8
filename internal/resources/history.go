package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"sluice.dev/sluice/internal/store"
)

// recordHistory appends the history entry of one change, in the change's
// transaction, so the entry exists exactly when the change does.
func recordHistory(ctx context.Context, tx store.Tx, action string, o store.Object, actor string) error {
	var spec json.RawMessage
	if action != store.HistoryDeleted {
		spec = o.Spec
	}
	_, err := tx.AppendHistory(ctx, store.HistoryEntry{
		Kind: o.Kind, Name: o.Name, ResourceVersion: o.ResourceVersion,
		Action: action, Spec: spec, Actor: actor,
	})
	return err
}

// History returns the newest limit entries of a resource's history, oldest
// first (limit 0: the store's default). It answers ErrNotFound only when
// the resource neither exists nor ever existed.
func (s *Service) History(ctx context.Context, kind, name string, limit int) ([]store.HistoryEntry, error) {
	var out []store.HistoryEntry
	err := s.store.Read(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListHistory(ctx, store.HistoryFilter{Kind: kind, Name: name, Limit: limit})
		if err != nil || len(out) > 0 {
			return err
		}
		if _, err := tx.Get(ctx, kind, name); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of %s %q: %w", kind, name, err)
	}
	return out, nil
}

// HistoryVersion returns one entry of a resource's history, or an error
// wrapping ErrNotFound.
func (s *Service) HistoryVersion(ctx context.Context, kind, name string, version int64) (store.HistoryEntry, error) {
	var out store.HistoryEntry
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.GetHistory(ctx, kind, name, version)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("version %d of %s %q: %w", version, kind, name, err)
	}
	return out, err
}
