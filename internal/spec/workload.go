package spec

import (
	"bytes"
	"encoding/json"
	"maps"
)

// Workload is the part of an App that a revision freezes: what runs, with
// which environment, under which version label. Scaling (replicas), health
// checks and strategy are not part of it, so changing them makes no new
// revision.
type Workload struct {
	// Version is the spec's version label.
	Version string `json:"version,omitempty"`
	// Runtime is the app's runtime with replicas cleared.
	Runtime Runtime `json:"runtime"`
	// SecretVersions, for an app with rolloutOnSecretChange, is the
	// version of each secret path its env refers to when the revision was
	// made (0: the path had no live version); instances of the revision
	// read these versions. Numbers only, never values. Empty otherwise.
	// [App.Workload] leaves it empty; it is filled in from the secrets in
	// the store when the revision is made.
	SecretVersions map[string]int64 `json:"secretVersions,omitempty"`
}

// Workload returns the app's workload.
func (a *App) Workload() Workload {
	w := Workload{Version: a.Version}
	if p := a.Runtime.Process; p != nil {
		cp := *p
		cp.Replicas = nil
		cp.Env = append([]EnvVar(nil), p.Env...)
		w.Runtime.Process = &cp
	}
	if s := a.Runtime.Static; s != nil {
		cp := *s
		cp.Addresses = append([]string(nil), s.Addresses...)
		w.Runtime.Static = &cp
	}
	return w
}

// WithSecretVersions returns w recording versions (path → version) as its
// secret versions; an empty map records none.
func (w Workload) WithSecretVersions(versions map[string]int64) Workload {
	w.SecretVersions = nil
	if len(versions) > 0 {
		w.SecretVersions = maps.Clone(versions)
	}
	return w
}

// Equal reports whether two workloads would run the same thing.
func (w Workload) Equal(o Workload) bool {
	a, errA := json.Marshal(w)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
