package server

import (
	"context"
	"io"
	"log/slog"
	"os"

	"sluice.dev/sluice/internal/proxy"
)

// accessLog is the proxy's access log: one line per proxied request with
// where it went and how it ended. It logs the path without the query
// string, and no headers or cookies, so that tokens and secrets carried in
// them never reach the log.
type accessLog struct {
	// hook is the proxy's Options.AccessLog; nil when the log is off.
	hook func(proxy.AccessRecord)
	// close writes out the lines still buffered; call it after the proxy
	// stopped.
	close func()
}

// newAccessLog returns the access log, off unless on is true and log
// shows info lines. With JSON logs to a file (standard error, say) the
// lines are encoded by the proxy's AccessLog and written to out, the log's
// file, in batches: each write to an *os.File holds the file's lock until
// it is done, so they never interleave with the logger's lines. Otherwise
// (text logs on a terminal, or a writer that may not be shared) they go
// through log.
func newAccessLog(on bool, log *slog.Logger, out io.Writer) accessLog {
	if !on || !log.Enabled(context.Background(), slog.LevelInfo) {
		return accessLog{close: func() {}}
	}
	_, json := log.Handler().(*slog.JSONHandler)
	if f, ok := out.(*os.File); ok && json {
		al := proxy.NewAccessLog(f, proxy.DefaultAccessFlush)
		return accessLog{hook: al.Log, close: func() { _ = al.Close() }}
	}
	access := log.With("component", "access")
	return accessLog{close: func() {}, hook: func(r proxy.AccessRecord) {
		attrs := []slog.Attr{slog.Time("time", r.Time), slog.String("app", r.App), slog.String("revision", r.Revision),
			slog.String("instance", r.Instance), slog.String("method", r.Method), slog.String("path", r.Path),
			slog.Int("status", r.Status), slog.Float64("duration_ms", float64(r.Duration.Microseconds())/1000),
			slog.Int64("bytes", r.Bytes), slog.String("request_id", r.RequestID)}
		if r.TraceID != "" {
			attrs = append(attrs, slog.String("trace_id", r.TraceID))
		}
		access.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
	}}
}
