package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"sluice.dev/sluice/internal/rollout"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// appData is the app page's.
type appData struct {
	Name    string
	Status  apiv1.AppStatus
	Split   split
	Steps   []stepRow
	Charts  []analysisView
	Traffic map[int]apiv1.RevisionTraffic
	// Revisions are the app's revisions, newest first; Events its latest
	// events, newest first.
	Revisions []apiv1.Revision
	Events    []apiv1.Event
	Choices   []rolloutChoice
	// Listen is where the app is served.
	Listen string
}

// stepRow is one step of the rollout.
type stepRow struct {
	Label string
	// State is done, current or todo.
	State string
}

// analysisView is one analysis run with a chart per metric.
type analysisView struct {
	Run    apiv1.AnalysisRun
	Charts []chart
}

// appEvents is how many events the app page lists.
const appEvents = 30

// appPage shows one app: its traffic split, rollout steps, analysis,
// instances, revisions and events, with the rollout actions the role may
// take. ?part=1 renders only the live part, for the page's script.
func (d *Dashboard) appPage(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := d.loadApp(r, s, r.PathValue("name"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	v := view{Title: data.Name, Nav: "apps", S: s, Data: data, Notice: noticeOf(r)}
	if r.URL.Query().Get("part") == "1" {
		d.renderLive(w, "app", v)
		return
	}
	d.render(w, http.StatusOK, "app", v)
}

// loadApp gathers what the app page shows, with calls to the API.
func (d *Dashboard) loadApp(r *http.Request, s *session, name string) (appData, error) {
	ctx := r.Context()
	o, err := s.api.Get(ctx, "apps", name)
	if err != nil {
		return appData{}, err
	}
	data := appData{Name: name, Traffic: map[int]apiv1.RevisionTraffic{}}
	if len(o.Status) > 0 {
		if err := json.Unmarshal(o.Status, &data.Status); err != nil {
			return appData{}, fmt.Errorf("app %q: decode status: %w", name, err)
		}
	}
	var sp spec.App
	if err := json.Unmarshal(o.Spec, &sp); err != nil {
		return appData{}, fmt.Errorf("app %q: decode spec: %w", name, err)
	}
	sp.SetDefaults()
	data.Listen = sp.Listen
	data.Split = splitOf(data.Status)
	data.Steps = stepRows(sp, data.Status)
	if s.CanWrite() {
		data.Choices = rolloutChoices(data.Status, d.opts.Now())
	}
	if t, err := s.api.Traffic(ctx, name, 0); err == nil {
		for _, rt := range t.Revisions {
			data.Traffic[rt.Revision] = rt
		}
	}
	if data.Revisions, err = s.api.Revisions(ctx, name); err != nil {
		return appData{}, err
	}
	slices.Reverse(data.Revisions)
	if data.Events, err = s.api.Events(ctx, client.EventQuery{App: name, Limit: appEvents}); err != nil {
		return appData{}, err
	}
	slices.Reverse(data.Events)
	for _, run := range data.Status.Analyses {
		ms, err := s.api.Measurements(ctx, name, client.MeasurementQuery{Run: run.Name})
		if err != nil && !client.IsNotFound(err) { // not found: this server keeps none
			return appData{}, err
		}
		data.Charts = append(data.Charts, analysisViewOf(run, ms))
	}
	slices.Reverse(data.Charts) // the latest run first
	return data, nil
}

// stepRows lists the rollout's steps, marking those done and the current
// one while a rollout is under way.
func stepRows(sp spec.App, st apiv1.AppStatus) []stepRow {
	labels := rollout.StepLabels(sp)
	rows := make([]stepRow, 0, len(labels))
	for i, l := range labels {
		state := "todo"
		if st.CandidateRevision != 0 {
			switch {
			case i < st.Step:
				state = "done"
			case i == st.Step:
				state = "current"
			}
		}
		rows = append(rows, stepRow{Label: l, State: state})
	}
	return rows
}

// analysisViewOf charts each metric of a run from its measurements.
func analysisViewOf(run apiv1.AnalysisRun, ms []apiv1.StoredMeasurement) analysisView {
	v := analysisView{Run: run}
	byMetric := map[string][]apiv1.StoredMeasurement{}
	for _, m := range ms {
		key := m.Template + "/" + m.Metric
		byMetric[key] = append(byMetric[key], m)
	}
	for _, m := range run.Metrics {
		key := m.Template + "/" + m.Metric
		v.Charts = append(v.Charts, chartOf(key, byMetric[key], m.Verdict))
		delete(byMetric, key)
	}
	for _, key := range slices.Sorted(maps.Keys(byMetric)) {
		v.Charts = append(v.Charts, chartOf(key, byMetric[key], apiv1.VerdictRunning))
	}
	return v
}

// confirmPage says what a rollout action will do and asks to go on.
func (d *Dashboard) confirmPage(w http.ResponseWriter, r *http.Request, s *session) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if !s.CanWrite() {
		d.refuse(w, r, s, http.StatusForbidden, fmt.Sprintf("Your role (%s) may look at rollouts, not steer them.", s.Role()))
		return
	}
	st, err := s.api.AppStatus(r.Context(), name)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	c, ok := choiceFor(st, action, d.opts.Now())
	if !ok {
		d.refuse(w, r, s, http.StatusConflict, fmt.Sprintf("%q does not apply to app %s as it is now (%s).", action, name, st.Phase))
		return
	}
	d.render(w, http.StatusOK, "confirm", view{Title: c.Label + " " + name, Nav: "apps", S: s,
		Data: struct {
			Name   string
			Choice rolloutChoice
		}{name, c}})
}

// rolloutAction carries out a confirmed rollout action through the API.
func (d *Dashboard) rolloutAction(w http.ResponseWriter, r *http.Request, s *session) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if _, err := s.api.Rollout(r.Context(), name, action); err != nil {
		d.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"apps/"+name+"?done="+action, http.StatusSeeOther)
}

// noticeOf turns ?done=ACTION into a line of feedback.
func noticeOf(r *http.Request) string {
	switch r.URL.Query().Get("done") {
	case "":
		return ""
	case apiv1.ActionPromote:
		return "Asked for a promotion."
	case apiv1.ActionPromoteFull:
		return "Asked for a full promotion."
	case apiv1.ActionAbort:
		return "Aborted the rollout."
	case apiv1.ActionUndo:
		return "Asked for an undo."
	case apiv1.ActionPause:
		return "Paused."
	case apiv1.ActionResume:
		return "Resumed."
	case apiv1.ActionRetry:
		return "Asked for a retry."
	}
	return "Done."
}
