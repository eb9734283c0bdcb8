package server

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/telemetry"
)

var accessRecord = proxy.AccessRecord{
	Time: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), App: "web", Revision: "2", Instance: "web-2-0",
	Method: "GET", Path: "/hello", Status: 200, Duration: 1500 * time.Microsecond, Bytes: 3,
	RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
}

// accessFields decodes every access line of out.
func accessFields(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if m["msg"] == "access" {
			lines = append(lines, m)
		}
	}
	return lines
}

func checkAccessLine(t *testing.T, m map[string]any) {
	t.Helper()
	for k, want := range map[string]any{
		"component": "access", "app": "web", "revision": "2", "instance": "web-2-0", "method": "GET",
		"path": "/hello", "status": 200.0, "duration_ms": 1.5, "bytes": 3.0, "request_id": "req-1",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "time": "2026-11-26T09:00:00Z",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
}

// TestAccessLogToAFileIsBatched: JSON logs to a file (standard error, in
// production) take the proxy's encoder, whose lines are written by close
// at the latest, beside the logger's own lines.
func TestAccessLogToAFileIsBatched(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log, err := telemetry.NewLogger(f, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	al := newAccessLog(true, log, f)
	if al.hook == nil {
		t.Fatal("access log off")
	}
	al.hook(accessRecord)
	log.Info("other line")
	al.close()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := accessFields(t, string(b))
	if len(lines) != 1 || !strings.Contains(string(b), `"msg":"other line"`) {
		t.Fatalf("log:\n%s", b)
	}
	checkAccessLine(t, lines[0])
}

// TestAccessLogThroughTheLogger: other writers, which the logger may not
// share safely, get the same fields through the logger.
func TestAccessLogThroughTheLogger(t *testing.T) {
	var buf bytes.Buffer
	log, _ := telemetry.NewLogger(&buf, "info", "json")
	al := newAccessLog(true, log, &buf)
	al.hook(accessRecord)
	al.close()
	lines := accessFields(t, buf.String())
	if len(lines) != 1 {
		t.Fatalf("log:\n%s", buf.String())
	}
	checkAccessLine(t, lines[0])
}

func TestAccessLogOff(t *testing.T) {
	log, _ := telemetry.NewLogger(io.Discard, "info", "json")
	if al := newAccessLog(false, log, io.Discard); al.hook != nil {
		t.Error("on without --access-log")
	}
	quiet, _ := telemetry.NewLogger(io.Discard, "warn", "json")
	if al := newAccessLog(true, quiet, io.Discard); al.hook != nil {
		t.Error("on at log level warn, which hides info lines")
	}
}
