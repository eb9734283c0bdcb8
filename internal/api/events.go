package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// Timings of event streams.
const (
	// keepAliveEvery is how often an idle stream gets a comment line.
	keepAliveEvery = 15 * time.Second
	// pollEvery bounds how late a stream learns of events written by
	// another server sharing the store.
	pollEvery = time.Second
)

func wireEvent(e store.Event) apiv1.Event {
	return apiv1.Event{ID: e.ID, Time: e.Time, App: e.App, Revision: e.Revision, Type: e.Type,
		Reason: e.Reason, Message: e.Message, Data: e.Data}
}

// eventFilter reads ?app=, ?after= (or Last-Event-ID) and ?limit=.
func eventFilter(r *http.Request) (store.EventFilter, error) {
	q := r.URL.Query()
	f := store.EventFilter{App: q.Get("app")}
	var problems []spec.FieldError
	after := q.Get("after")
	if after == "" {
		after = r.Header.Get("Last-Event-ID")
	}
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, spec.FieldError{Path: "after", Message: fmt.Sprintf("%q is not an event ID", after)})
		}
		f.AfterID = n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			problems = append(problems, spec.FieldError{Path: "limit", Message: fmt.Sprintf("%q is not a number from 1 to 1000", l)})
		}
		f.Limit = n
	}
	if len(problems) > 0 {
		return f, &spec.ValidationError{Problems: problems}
	}
	return f, nil
}

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if r.URL.Query().Get("watch") == "true" {
		a.watchEvents(w, r, f)
		return
	}
	evs, err := a.opts.Resources.Events(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.EventList{Items: make([]apiv1.Event, 0, len(evs))}
	for _, e := range evs {
		out.Items = append(out.Items, wireEvent(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// watchEvents streams events as server-sent events: first the backlog the
// filter selects, then every new one as it is recorded. Each event's SSE id
// is its event ID, so a client resumes with Last-Event-ID.
func (a *API) watchEvents(w http.ResponseWriter, r *http.Request, f store.EventFilter) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // streams outlive the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	if f.AfterID == 0 && f.Limit == 0 {
		f.Limit = 20 // a short backlog by default
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
	for {
		changed := a.opts.Resources.Changed()
		evs, err := a.opts.Resources.Events(r.Context(), f)
		if err != nil {
			if r.Context().Err() == nil {
				a.log.ErrorContext(r.Context(), "watch events", append(requestAttrs(r), "error", err)...)
				fmt.Fprintf(w, "event: error\ndata: %q\n\n", "the event log is unavailable; reconnect")
				_ = rc.Flush()
			}
			return
		}
		for _, e := range evs {
			b, _ := json.Marshal(wireEvent(e))
			if _, err := fmt.Fprintf(w, "id: %d\nevent: event\ndata: %s\n\n", e.ID, b); err != nil {
				return
			}
			f.AfterID = e.ID
		}
		f.Limit = 0
		if len(evs) > 0 {
			if err := rc.Flush(); err != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-poll.C:
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
