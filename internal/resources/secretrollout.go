package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// SecretActor is the actor of the revisions sluice makes by itself when
// a secret that an app refers to changes.
const SecretActor = "sluice"

// SecretChange is one secret path an app refers to whose version differs
// from the one the app's latest revision recorded.
type SecretChange struct {
	// Path is the secret's path.
	Path string `json:"path"`
	// From is the version the latest revision recorded, To the live one
	// now; 0 means no live version (never written, or removed).
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// String describes the change without any value: `secret shop/db
// version 3 → 4`.
func (c SecretChange) String() string {
	switch {
	case c.To == 0:
		return fmt.Sprintf("secret %s removed (was version %d)", c.Path, c.From)
	case c.From == 0:
		return fmt.Sprintf("secret %s version %d (had none)", c.Path, c.To)
	default:
		return fmt.Sprintf("secret %s version %d → %d", c.Path, c.From, c.To)
	}
}

// SecretRollout is a revision made because secrets an app refers to
// changed.
type SecretRollout struct {
	// App is the app's name; Revision the revision made.
	App      string
	Revision int
	// Changes are the paths that moved, by path.
	Changes []SecretChange
}

// RollOutSecretChanges makes a new revision of every app with
// spec.rolloutOnSecretChange whose latest revision recorded other versions
// of the secrets its env refers to than the store holds now (after a put,
// a rollback or a removal). The revision is the app's workload at the
// current versions, and the app's strategy rolls it out as it would an
// apply's. It is idempotent: an app already at the current versions, and
// an app that does not opt in, get nothing, so it may run after every
// secret change and at every start.
//
// Each revision is made by SecretActor, with a SecretChanged event that
// names each path and its versions (never a value) and an audit entry;
// requestID, when set, ties the audit entries to the call that changed
// the secret. Everything lands in one transaction, and watchers are woken
// when something was made.
func (s *Service) RollOutSecretChanges(ctx context.Context, requestID string) ([]SecretRollout, error) {
	var out []SecretRollout
	err := s.store.Write(ctx, func(tx store.Tx) error {
		out = nil
		apps, err := tx.List(ctx, spec.KindApp)
		if err != nil {
			return err
		}
		for _, o := range apps {
			r, err := rollOutSecrets(ctx, tx, o, requestID)
			if err != nil {
				return fmt.Errorf("app %q: %w", o.Name, err)
			}
			if r != nil {
				out = append(out, *r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("roll out secret changes: %w", err)
	}
	if len(out) > 0 {
		s.bell.ring()
	}
	return out, nil
}

// rollOutSecrets makes the next revision of one app when its secrets
// moved; nil when they did not, or it does not follow them.
func rollOutSecrets(ctx context.Context, tx store.Tx, o store.Object, requestID string) (*SecretRollout, error) {
	var a spec.App
	if err := json.Unmarshal(o.Spec, &a); err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	if !a.RolloutOnSecretChange {
		return nil, nil
	}
	revs, err := tx.ListRevisions(ctx, o.Name)
	if err != nil || len(revs) == 0 {
		return nil, err
	}
	latest, err := decodeWorkload(revs[len(revs)-1])
	if err != nil {
		return nil, err
	}
	want, err := workloadOf(ctx, tx, &a)
	if err != nil {
		return nil, err
	}
	changes := secretChanges(latest, want)
	if len(changes) == 0 {
		return nil, nil
	}
	number := len(revs) + 1
	why := describeChanges(changes)
	if _, err := createRevision(ctx, tx, o.Name, want, number, "secret change by "+SecretActor+": "+why, SecretActor, why); err != nil {
		return nil, err
	}
	next := o
	if next.Status, err = withLatestRevision(o.Status, number); err != nil {
		return nil, err
	}
	if _, err := tx.Update(ctx, next); err != nil {
		return nil, err
	}
	data, err := json.Marshal(map[string]any{"revision": number, "secrets": changes})
	if err != nil {
		return nil, err
	}
	if _, err := tx.AppendEvent(ctx, store.Event{App: o.Name, Revision: number, Type: store.EventNormal, Reason: "SecretChanged",
		Message: fmt.Sprintf("%s: revision %d rolls it out", why, number), Data: data}); err != nil {
		return nil, err
	}
	_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: SecretActor, Resource: "apps/" + o.Name, RequestID: requestID,
		Action: fmt.Sprintf("rollout on secret change: revision %d (%s)", number, why)})
	return &SecretRollout{App: o.Name, Revision: number, Changes: changes}, err
}

// workloadOf is the workload an app's spec asks for now: its spec's and,
// with rolloutOnSecretChange, the live version of every secret path its
// env refers to.
func workloadOf(ctx context.Context, tx store.Tx, a *spec.App) (spec.Workload, error) {
	w := a.Workload()
	if !a.RolloutOnSecretChange {
		return w, nil
	}
	versions := map[string]int64{}
	for _, path := range a.SecretPaths() {
		p, err := tx.GetSecretPath(ctx, path)
		switch {
		case errors.Is(err, store.ErrNotFound):
			versions[path] = 0
		case err != nil:
			return w, fmt.Errorf("secret %q: %w", path, err)
		case p.DeletedAt != nil:
			versions[path] = 0
		default:
			versions[path] = p.Latest
		}
	}
	return w.WithSecretVersions(versions), nil
}

// secretChanges lists how the secret versions of want differ from those
// latest recorded, by path. It is empty when they do not, and also when
// anything else in the workloads differs: making that revision is an
// apply's business, not a secret change's.
func secretChanges(latest, want spec.Workload) []SecretChange {
	if !latest.WithSecretVersions(want.SecretVersions).Equal(want) {
		return nil
	}
	paths := slices.Sorted(maps.Keys(want.SecretVersions))
	for p := range latest.SecretVersions {
		if _, ok := want.SecretVersions[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var out []SecretChange
	for _, p := range paths {
		from, had := latest.SecretVersions[p]
		to, has := want.SecretVersions[p]
		if from != to || had != has {
			out = append(out, SecretChange{Path: p, From: from, To: to})
		}
	}
	return out
}

// describeChanges joins the changes' descriptions.
func describeChanges(changes []SecretChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}
