package resources

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// Service reads and changes resources.
type Service struct {
	store store.Store
	bell  *bell
}

// New returns a service over s.
func New(s store.Store) *Service {
	return &Service{store: s, bell: newBell()}
}

// Changed returns a channel that is closed at the next change of any
// resource or the event log. Take a new one after it fires.
func (s *Service) Changed() <-chan struct{} { return s.bell.wait() }

// Apply creates or updates every document in one transaction: all land, or
// none does. actor names who asked, for revisions and events.
func (s *Service) Apply(ctx context.Context, docs []spec.Document, actor string) (apiv1.ApplyResult, error) {
	var result apiv1.ApplyResult
	err := s.store.Write(ctx, func(tx store.Tx) error {
		result = apiv1.ApplyResult{}
		if err := checkAddresses(ctx, tx, docs); err != nil {
			return err
		}
		for _, d := range docs {
			applied, err := applyOne(ctx, tx, d, actor)
			if err != nil {
				return err
			}
			result.Resources = append(result.Resources, applied)
		}
		return nil
	})
	if err != nil {
		return apiv1.ApplyResult{}, err
	}
	s.bell.ring()
	return result, nil
}

func applyOne(ctx context.Context, tx store.Tx, d spec.Document, actor string) (apiv1.Applied, error) {
	out := apiv1.Applied{Kind: d.Kind, Name: d.Metadata.Name}
	cur, err := tx.Get(ctx, d.Kind, d.Metadata.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if d.Metadata.ResourceVersion != 0 {
			return out, fmt.Errorf("%s at version %d: %w", d.ID(), d.Metadata.ResourceVersion, store.ErrNotFound)
		}
		return create(ctx, tx, d, actor)
	case err != nil:
		return out, err
	}
	if rv := d.Metadata.ResourceVersion; rv != 0 && rv != cur.ResourceVersion {
		return out, fmt.Errorf("%s: applied at version %d, stored version is %d: %w", d.ID(), rv, cur.ResourceVersion, store.ErrConflict)
	}
	revision := 0
	if d.App != nil {
		if revision, err = nextRevision(ctx, tx, d, actor); err != nil {
			return out, err
		}
	}
	out.ResourceVersion = cur.ResourceVersion
	if revision == 0 && jsonEqual(cur.Spec, d.Spec) && maps.Equal(cur.Labels, d.Metadata.Labels) {
		out.Action = apiv1.ActionUnchanged
		return out, nil
	}
	next := cur
	next.Spec, next.Labels = d.Spec, d.Metadata.Labels
	if revision != 0 {
		if next.Status, err = withLatestRevision(cur.Status, revision); err != nil {
			return out, err
		}
	}
	saved, err := tx.Update(ctx, next)
	if err != nil {
		return out, err
	}
	if err := recordHistory(ctx, tx, store.HistoryUpdated, saved, actor); err != nil {
		return out, err
	}
	out.Action, out.ResourceVersion, out.Revision = apiv1.ActionConfigured, saved.ResourceVersion, revision
	msg := fmt.Sprintf("%s updated by %s", d.ID(), actor)
	if revision != 0 {
		msg = fmt.Sprintf("%s updated by %s: revision %d", d.ID(), actor, revision)
	}
	_, err = tx.AppendEvent(ctx, store.Event{App: appOf(d), Revision: revision, Reason: "Updated", Message: msg})
	return out, err
}

func create(ctx context.Context, tx store.Tx, d spec.Document, actor string) (apiv1.Applied, error) {
	out := apiv1.Applied{Kind: d.Kind, Name: d.Metadata.Name, Action: apiv1.ActionCreated}
	o := store.Object{Kind: d.Kind, Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: d.Spec}
	msg := fmt.Sprintf("%s created by %s", d.ID(), actor)
	if d.App != nil {
		w, err := workloadOf(ctx, tx, d.App)
		if err != nil {
			return out, err
		}
		rev, err := createRevision(ctx, tx, d.Metadata.Name, w, 1, "apply by "+actor, actor, "")
		if err != nil {
			return out, err
		}
		out.Revision = rev.Number
		if o.Status, err = withLatestRevision(nil, rev.Number); err != nil {
			return out, err
		}
		msg += ": revision 1"
	}
	saved, err := tx.Create(ctx, o)
	if err != nil {
		return out, err
	}
	if err := recordHistory(ctx, tx, store.HistoryCreated, saved, actor); err != nil {
		return out, err
	}
	out.ResourceVersion = saved.ResourceVersion
	_, err = tx.AppendEvent(ctx, store.Event{App: appOf(d), Revision: out.Revision, Reason: "Created", Message: msg})
	return out, err
}

// nextRevision makes a new revision when the app's workload differs from
// its latest revision's, and returns its number, or 0 when it does not.
func nextRevision(ctx context.Context, tx store.Tx, d spec.Document, actor string) (int, error) {
	revs, err := tx.ListRevisions(ctx, d.Metadata.Name)
	if err != nil {
		return 0, err
	}
	w, err := workloadOf(ctx, tx, d.App)
	if err != nil {
		return 0, err
	}
	if n := len(revs); n > 0 {
		latest, err := decodeWorkload(revs[n-1])
		if err != nil {
			return 0, err
		}
		if latest.Equal(w) {
			return 0, nil
		}
	}
	rev, err := createRevision(ctx, tx, d.Metadata.Name, w, len(revs)+1, "apply by "+actor, actor, "")
	return rev.Number, err
}

// decodeWorkload reads a stored revision's workload.
func decodeWorkload(r store.Revision) (spec.Workload, error) {
	var w spec.Workload
	if err := json.Unmarshal(r.Workload, &w); err != nil {
		return w, fmt.Errorf("revision %d of %q: %w", r.Number, r.App, err)
	}
	return w, nil
}

// createRevision stores workload w as revision number of app, made for
// cause by actor, and records a RevisionCreated event; why, when set,
// ends the event's message.
func createRevision(ctx context.Context, tx store.Tx, app string, w spec.Workload, number int, cause, actor, why string) (store.Revision, error) {
	raw, err := json.Marshal(w)
	if err != nil {
		return store.Revision{}, fmt.Errorf("encode workload of %q: %w", app, err)
	}
	rev, err := tx.CreateRevision(ctx, store.Revision{App: app, Number: number, Version: w.Version, Workload: raw, Cause: cause})
	if err != nil {
		return rev, err
	}
	msg := fmt.Sprintf("revision %d of %s created by %s%s", number, app, actor, versionSuffix(w.Version))
	if why != "" {
		msg += ": " + why
	}
	_, err = tx.AppendEvent(ctx, store.Event{App: app, Revision: number, Reason: "RevisionCreated", Message: msg})
	return rev, err
}

// withLatestRevision records a new latest revision in an app's status.
func withLatestRevision(status json.RawMessage, revision int) (json.RawMessage, error) {
	st := apiv1.AppStatus{Phase: apiv1.PhasePending}
	if len(status) > 0 {
		if err := json.Unmarshal(status, &st); err != nil {
			return nil, fmt.Errorf("decode app status: %w", err)
		}
	}
	st.LatestRevision = revision
	if st.Phase == "" || st.StableRevision == 0 {
		st.Phase = apiv1.PhasePending
	}
	st.Message = fmt.Sprintf("revision %d waits to be rolled out", revision)
	return json.Marshal(st)
}

func appOf(d spec.Document) string {
	if d.Kind == spec.KindApp {
		return d.Metadata.Name
	}
	return ""
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " (version " + v + ")"
}

// jsonEqual reports whether two specs hold the same value. Specs are
// stored as encoding/json writes them (compact, numbers in their shortest
// form), so two that hold the same value can differ only in the order of
// object members, which keeps their length: texts of different lengths
// differ without being decoded, and so do large flag sets that changed.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// bell lets any number of goroutines wait for the next change.
type bell struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBell() *bell { return &bell{ch: make(chan struct{})} }

func (b *bell) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *bell) ring() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
