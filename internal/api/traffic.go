package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// Windows of GET /api/v1/apps/{name}/traffic.
const (
	// DefaultTrafficWindow is the window when ?window= is not given.
	DefaultTrafficWindow = time.Minute
	// MaxTrafficWindow is the longest window: the proxy remembers five
	// minutes of each revision.
	MaxTrafficWindow = 5 * time.Minute
)

// TrafficReader reads what the proxy measured of one revision of an app
// over the window ending now; ok is false when the proxy does not route to
// that revision.
type TrafficReader interface {
	RevisionTraffic(app string, revision int, window time.Duration) (t apiv1.RevisionTraffic, ok bool)
}

// traffic answers GET /api/v1/apps/{name}/traffic?window=1m: each revision
// of the app's status as the proxy measured it.
func (a *API) traffic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if a.opts.Traffic == nil {
		a.writeError(w, r, fmt.Errorf("traffic of app %q: %w", name, store.ErrNotFound))
		return
	}
	window := DefaultTrafficWindow
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > MaxTrafficWindow {
			a.writeError(w, r, invalidField("window", fmt.Sprintf("%q is not a duration from 1s to %s", v, MaxTrafficWindow)))
			return
		}
		window = d
	}
	o, err := a.opts.Resources.Get(r.Context(), spec.KindApp, name)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := appStatusOf(o)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.AppTraffic{App: name, WindowSeconds: window.Seconds(), Revisions: []apiv1.RevisionTraffic{}}
	for _, rs := range st.Revisions {
		t, ok := a.opts.Traffic.RevisionTraffic(name, rs.Revision, window)
		if !ok {
			continue
		}
		t.Revision, t.Role = rs.Revision, rs.Role
		out.Revisions = append(out.Revisions, t)
	}
	writeJSON(w, http.StatusOK, out)
}

// appStatusOf decodes an app's stored status; an app the controller has
// not seen yet has the zero status.
func appStatusOf(o store.Object) (apiv1.AppStatus, error) {
	var st apiv1.AppStatus
	if len(o.Status) > 0 {
		if err := json.Unmarshal(o.Status, &st); err != nil {
			return st, fmt.Errorf("decode the status of app %q: %w", o.Name, err)
		}
	}
	return st, nil
}
