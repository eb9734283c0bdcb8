package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// service answers the demo's HTTP requests.
type service struct {
	cfg config
	// random returns a number in [0, 1); it decides injected errors and
	// latency jitter.
	random func() float64
	// stopping is closed when the server shuts down: health turns 503 and
	// event streams end, so that in-flight requests can finish.
	stopping <-chan struct{}
	// requests counts the requests to /, for the answers.
	requests atomic.Int64
}

// reply is the JSON body of /.
type reply struct {
	Version  string `json:"version"`
	Instance string `json:"instance"`
	Revision int    `json:"revision"`
	Request  int64  `json:"request"`
	Error    string `json:"error,omitempty"`
}

// newHandler routes the service's endpoints:
//
//	GET /        JSON {"version", "instance", "revision", "request"}, after
//	             LATENCY (+ up to LATENCY_JITTER); a 500 for ERROR_RATE of them
//	GET /health  200, or 503 with FAIL_HEALTH or while shutting down
//	GET /events  server-sent "tick" events every EVENTS_INTERVAL, or
//	             ?interval=250ms
func newHandler(cfg config, random func() float64, stopping <-chan struct{}) http.Handler {
	s := &service{cfg: cfg, random: random, stopping: stopping}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("/", s.root)
	return mux
}

func (s *service) root(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if !s.delay(r.Context()) {
		return // the client went away
	}
	body := reply{Version: s.cfg.version, Instance: s.cfg.instance, Revision: s.cfg.revision, Request: n}
	status := http.StatusOK
	if s.cfg.errorRate > 0 && s.random() < s.cfg.errorRate {
		status = http.StatusInternalServerError
		body.Error = "injected failure (ERROR_RATE)"
	}
	writeJSON(w, status, body)
}

// delay waits the configured latency plus jitter. It returns false when
// ctx ended first.
func (s *service) delay(ctx context.Context) bool {
	d := s.cfg.latency
	if s.cfg.jitter > 0 {
		d += time.Duration(s.random() * float64(s.cfg.jitter))
	}
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *service) health(w http.ResponseWriter, r *http.Request) {
	status, text := http.StatusOK, "ok"
	switch {
	case s.cfg.failHealth:
		status, text = http.StatusServiceUnavailable, "failing (FAIL_HEALTH)"
	case closed(s.stopping):
		status, text = http.StatusServiceUnavailable, "shutting down"
	}
	writeJSON(w, status, map[string]string{"status": text, "version": s.cfg.version})
}

// tick is the data of one server-sent event.
type tick struct {
	Version  string    `json:"version"`
	Instance string    `json:"instance"`
	Seq      int       `json:"seq"`
	Time     time.Time `json:"time"`
}

func (s *service) events(w http.ResponseWriter, r *http.Request) {
	every := s.cfg.tick
	if v := r.URL.Query().Get("interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Millisecond {
			http.Error(w, "interval: want a duration of at least 10ms", http.StatusBadRequest)
			return
		}
		every = d
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for seq := 1; ; seq++ {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopping:
			return
		case now := <-ticker.C:
			data, _ := json.Marshal(tick{Version: s.cfg.version, Instance: s.cfg.instance, Seq: seq, Time: now.UTC()})
			if _, err := fmt.Fprintf(w, "event: tick\nid: %s\ndata: %s\n\n", strconv.Itoa(seq), data); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
