package server

import (
	"log/slog"
	"net/http"

	"sluice.dev/sluice/internal/api"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/web"
)

// lateHandler serves with a handler set after it was handed out: the
// dashboard calls the API, and the API serves the dashboard's routes.
type lateHandler struct{ h http.Handler }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.h.ServeHTTP(w, r) }

// dashboardRoutes builds the web dashboard over the API that late will
// hold, as API routes. The dashboard authenticates its own requests (with
// its session cookie, through the API), so the routes need no permission.
func dashboardRoutes(late *lateHandler, log *slog.Logger, version string) ([]api.Route, error) {
	d, err := web.New(web.Options{API: late, Logger: log.With("component", "web"), Version: version})
	if err != nil {
		return nil, err
	}
	var out []api.Route
	for _, r := range d.Routes() {
		out = append(out, api.Route{Pattern: r.Pattern, Permission: auth.PermNone, Handler: r.Handler})
	}
	return out, nil
}
