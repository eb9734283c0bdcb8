package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/rollout"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// rolloutRoutes are the routes that ship apps: rollout actions, deploys
// and instance logs.
func (a *API) rolloutRoutes() []Route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []Route{
		{"POST /api/v1/apps/{name}/rollout/{action}", auth.PermWrite, h(a.rolloutAction)},
		{"POST /api/v1/apps/{name}/deploy", auth.PermWrite, h(a.deploy)},
		{"GET /api/v1/apps/{name}/logs", auth.PermRead, h(a.logs)},
	}
}

// rolloutAction applies promote, abort, undo, pause or resume to an app's
// rollout. The change is made to the app's status, with its event, in one
// transaction; the rollout controller carries it out. It answers the app
// as it is then: 404 for an unknown app or action, 409 when the action
// does not apply (nothing to promote, nothing to undo).
func (a *API) rolloutAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	now := a.opts.Now().UTC()
	o, err := a.opts.Resources.UpdateStatus(r.Context(), spec.KindApp, name, func(cur store.Object) (json.RawMessage, []store.Event, error) {
		var st apiv1.AppStatus
		if len(cur.Status) > 0 {
			if err := json.Unmarshal(cur.Status, &st); err != nil {
				return nil, nil, fmt.Errorf("decode the status of app %q: %w", name, err)
			}
		}
		next, ev, err := rollout.Command(st, action, actor(r), now)
		if err != nil || ev.Reason == "" {
			return nil, nil, err
		}
		raw, err := json.Marshal(next)
		if err != nil {
			return nil, nil, fmt.Errorf("encode the status of app %q: %w", name, err)
		}
		typ := store.EventNormal
		if ev.Warning {
			typ = store.EventWarning
		}
		return raw, []store.Event{{App: name, Revision: ev.Revision, Type: typ, Reason: ev.Reason, Message: ev.Message}}, nil
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWire(o))
}
