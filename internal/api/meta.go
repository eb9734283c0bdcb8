package api

import (
	"context"
	"net/http"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// readyTimeout bounds all readiness checks together.
const readyTimeout = 2 * time.Second

func (a *API) livez(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz runs every check; any failure answers 503 with the reasons.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	out := apiv1.Readiness{Status: "ok", Checks: []apiv1.Check{}}
	status := http.StatusOK
	for _, c := range a.opts.Ready {
		res := apiv1.Check{Name: c.Name, OK: true}
		if err := c.Check(ctx); err != nil {
			res.OK, res.Error = false, err.Error()
			out.Status, status = "unavailable", http.StatusServiceUnavailable
		}
		out.Checks = append(out.Checks, res)
	}
	writeJSON(w, status, out)
}

func (a *API) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.opts.Version)
}

// whoami tells a caller which token it presented; 401 without one.
func (a *API) whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := IdentityFrom(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		writeProblem(w, r, http.StatusUnauthorized, "missing, unknown or expired token", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": id.Name, "role": string(id.Role), "env": id.Env})
}
