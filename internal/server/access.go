package server

import (
	"log/slog"

	"sluice.dev/sluice/internal/proxy"
)

// accessLogger returns the proxy's access log hook: one line per proxied
// request with where it went and how it ended. It logs the path without
// the query string, and no headers or cookies, so that tokens and secrets
// carried in them never reach the log. Nil when off.
func accessLogger(on bool, log *slog.Logger) func(proxy.AccessRecord) {
	if !on {
		return nil
	}
	access := log.With("component", "access")
	return func(r proxy.AccessRecord) {
		attrs := []any{"time", r.Time, "app", r.App, "revision", r.Revision, "instance", r.Instance,
			"method", r.Method, "path", r.Path, "status", r.Status,
			"duration_ms", float64(r.Duration.Microseconds()) / 1000, "bytes", r.Bytes, "request_id", r.RequestID}
		if r.TraceID != "" {
			attrs = append(attrs, "trace_id", r.TraceID)
		}
		access.Info("access", attrs...)
	}
}
