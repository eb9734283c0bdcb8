package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records every Write call it gets, as an *os.File would receive
// them, so that tests can check that each holds whole lines.
type writes struct {
	mu    sync.Mutex
	calls [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, bytes.Clone(p))
	return len(p), nil
}

// lines checks that every write so far ended with a newline and returns
// the lines, each decoded as a JSON object.
func (w *writes) lines(t *testing.T) []map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []map[string]any
	for _, c := range w.calls {
		if len(c) == 0 || c[len(c)-1] != '\n' {
			t.Fatalf("a write ends in the middle of a line: %q", c)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(string(c), "\n"), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("line %q is not JSON: %v", line, err)
			}
			out = append(out, m)
		}
	}
	return out
}

func TestAccessRecordJSON(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 25, 16, 123456789, time.UTC)
	r := AccessRecord{
		Time: at, App: "web", Revision: "2", Instance: "web-2-0", Method: "GET",
		Path:   "/a \"quoted\" \\ path\n\t\x01\xff/é/\u2028",
		Status: 200, Duration: 1234567 * time.Nanosecond, Bytes: 98,
		RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	line := r.AppendJSON(nil)
	if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	want := map[string]any{
		"time": "2026-11-26T09:25:16.123456789Z", "level": "INFO", "msg": "access", "component": "access",
		"app": "web", "revision": "2", "instance": "web-2-0", "method": "GET",
		"path":   "/a \"quoted\" \\ path\n\t\x01\ufffd/é/\u2028",
		"status": 200.0, "duration_ms": 1.234, "bytes": 98.0, "request_id": "req-1",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Fatalf("decoded\n %v\nwant\n %v\nfrom %s", m, want, line)
	}
	if !bytes.Contains(line, []byte(`\u2028`)) || !bytes.Contains(line, []byte(`\u0001`)) {
		t.Errorf("U+2028 or a control byte is not escaped: %s", line)
	}

	r.TraceID = ""
	r.Duration = 250 * time.Microsecond
	if line := string(r.AppendJSON(nil)); strings.Contains(line, "trace_id") || !strings.Contains(line, `"duration_ms":0.250,`) {
		t.Fatalf("without a trace: %s", line)
	}
}

// TestAccessLogKeepsEveryLineWhole logs from many goroutines at once, with
// lines of different lengths filling the buffer several times over.
func TestAccessLogKeepsEveryLineWhole(t *testing.T) {
	var w writes
	l := NewAccessLog(&w, time.Hour)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				l.Log(AccessRecord{Time: time.Now(), App: "web", Method: "GET", Status: 200,
					Path: "/" + strings.Repeat("x", i%300), RequestID: fmt.Sprintf("%d-%d", g, i)})
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range w.lines(t) {
		seen[m["request_id"].(string)]++
	}
	for g := range goroutines {
		for i := range each {
			if id := fmt.Sprintf("%d-%d", g, i); seen[id] != 1 {
				t.Fatalf("request %s logged %d times", id, seen[id])
			}
		}
	}
	if len(w.calls) < 2 {
		t.Errorf("%d writes: the full buffer was never written before Close", len(w.calls))
	}
}

func TestAccessLogFlushesAfterTheInterval(t *testing.T) {
	var w writes
	l := NewAccessLog(&w, 20*time.Millisecond)
	defer l.Close()
	l.Log(AccessRecord{App: "web", RequestID: "first"})
	eventually(t, 5*time.Second, "the line is written without Close", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.calls) == 1
	})
	l.Log(AccessRecord{App: "web", RequestID: "second"})
	eventually(t, 5*time.Second, "a later line is written too", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.calls) == 2
	})
}

func TestAccessLogWritesAtOnceAfterClose(t *testing.T) {
	var w writes
	l := NewAccessLog(&w, time.Hour)
	l.Log(AccessRecord{App: "web", RequestID: "before"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Log(AccessRecord{App: "web", RequestID: "after"})
	_ = l.Close() // a second Close does nothing
	lines := w.lines(t)
	if len(lines) != 2 || lines[0]["request_id"] != "before" || lines[1]["request_id"] != "after" {
		t.Fatalf("lines %v", lines)
	}
}

// TestAccessLogLosesNoLineAtShutdown stops a proxy while requests are in
// flight: every request that got an answer is in the log once the proxy
// has stopped and the log is closed, as sluice server does it.
func TestAccessLogLosesNoLineAtShutdown(t *testing.T) {
	release := make(chan struct{})
	slow := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	})
	var w writes
	l := NewAccessLog(&w, time.Hour)
	s, err := New(Options{AccessLog: l.Log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(mustTable(t, TableSpec{App: "web", Stable: rev("1", slow), DrainTimeout: 10 * time.Second})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	addr, err := s.Addr("web")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String()
	c := newClient(t)

	var mu sync.Mutex
	var answered []string // request IDs of the answers received
	get := func(path string) {
		resp, err := c.Get(url + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			return
		}
		resp.Body.Close()
		mu.Lock()
		answered = append(answered, resp.Header.Get("X-Request-Id"))
		mu.Unlock()
	}
	for range 20 {
		get("/fast")
	}
	var wg sync.WaitGroup
	const inFlight = 8
	for range inFlight {
		wg.Go(func() { get("/slow") })
	}
	eventually(t, 5*time.Second, "slow requests in flight", func() bool { return s.InFlight("web", "1-0") == inFlight })
	cancel() // the proxy starts stopping with requests in flight
	close(release)
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	logged := map[string]int{}
	for _, m := range w.lines(t) {
		logged[m["request_id"].(string)]++
	}
	if len(answered) != 20+inFlight {
		t.Fatalf("%d answers, want %d", len(answered), 20+inFlight)
	}
	for _, id := range answered {
		if logged[id] != 1 {
			t.Errorf("request %s answered, logged %d times", id, logged[id])
		}
	}
	if len(logged) != len(answered) {
		t.Errorf("%d requests logged, %d answered", len(logged), len(answered))
	}
}
