package api

import (
	"context"
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
		{"GET /api/v1/apps/{name}/measurements", auth.PermRead, h(a.measurements)},
		{"GET /api/v1/apps/{name}/traffic", auth.PermRead, h(a.traffic)},
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
		st, err := appStatusOf(cur)
		if err != nil {
			return nil, nil, err
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

// MeasurementLister lists stored analysis measurements.
type MeasurementLister interface {
	ListMeasurements(ctx context.Context, f store.MeasurementFilter) ([]store.Measurement, error)
}

// maxMeasurements caps one answer of the measurements route.
const maxMeasurements = 1000

// measurements lists an app's analysis measurements, oldest first:
// ?run= keeps one analysis run, ?candidate= one candidate revision,
// ?limit= (default and at most 1000) keeps the newest, ?after= pages on
// after an ID.
func (a *API) measurements(w http.ResponseWriter, r *http.Request) {
	name, q := r.PathValue("name"), r.URL.Query()
	if a.opts.Measurements == nil {
		a.writeError(w, r, fmt.Errorf("measurements of app %q: %w", name, store.ErrNotFound))
		return
	}
	if _, err := a.opts.Resources.Get(r.Context(), spec.KindApp, name); err != nil {
		a.writeError(w, r, err)
		return
	}
	f := store.MeasurementFilter{App: name, Run: q.Get("run")}
	var err error
	if f.Candidate, err = queryInt(q.Get("candidate"), 0, 1<<31-1); err != nil {
		a.writeError(w, r, invalidField("candidate", err.Error()))
		return
	}
	if f.Limit, err = queryInt(q.Get("limit"), 1, maxMeasurements); err != nil {
		a.writeError(w, r, invalidField("limit", err.Error()))
		return
	}
	after, err := queryInt(q.Get("after"), 0, 1<<62)
	if err != nil {
		a.writeError(w, r, invalidField("after", err.Error()))
		return
	}
	f.AfterID = int64(after)
	ms, err := a.opts.Measurements.ListMeasurements(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.MeasurementList{Items: make([]apiv1.StoredMeasurement, 0, len(ms))}
	for _, m := range ms {
		out.Items = append(out.Items, apiv1.StoredMeasurement{ID: m.ID, Run: m.Run, Candidate: m.Candidate, Stable: m.Stable,
			Template: m.Template, Metric: m.Metric, Measurement: apiv1.Measurement{At: m.Time, Value: m.Value, SampleSize: m.SampleSize,
				Condition: m.Condition, Verdict: m.Verdict, Message: m.Message, Error: m.Error}})
	}
	writeJSON(w, http.StatusOK, out)
}
