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
	out := a.readiness(r.Context())
	status := http.StatusOK
	if out.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// readiness runs every readiness check, within readyTimeout together.
func (a *API) readiness(ctx context.Context) apiv1.Readiness {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	out := apiv1.Readiness{Status: "ok", Checks: []apiv1.Check{}}
	for _, c := range a.opts.Ready {
		res := apiv1.Check{Name: c.Name, OK: true}
		if err := c.Check(ctx); err != nil {
			res.OK, res.Error = false, err.Error()
			out.Status = "unavailable"
		}
		out.Checks = append(out.Checks, res)
	}
	return out
}

// status reports the build, the uptime and the readiness checks.
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.ServerStatus{
		Version: a.opts.Version, StartedAt: a.opts.StartedAt,
		UptimeSeconds: time.Since(a.opts.StartedAt).Seconds(), Readiness: a.readiness(r.Context()),
	})
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
	writeJSON(w, http.StatusOK, apiv1.Identity{Name: id.Name, Role: string(id.Role), Env: id.Env})
}
