package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

func appDoc(name, listen, version string) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata:
  name: %s
spec:
  listen: %s
  version: %s
  runtime:
    process:
      command: ["./hello"]
  healthCheck:
    path: /health
`, name, listen, version)
}

func TestQuickstart(t *testing.T) {
	s := startServer(t, "")
	file := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(file, []byte(appDoc("hello", "127.0.0.1:18080", "v1")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := s.must("", "apply", "-f", file); out != "app/hello created (revision 1)\n" {
		t.Fatalf("first apply said %q", out)
	}
	if out := s.must("", "apply", "-f", file); out != "app/hello unchanged\n" {
		t.Fatalf("second apply said %q", out)
	}
	table := s.must("", "get", "apps")
	if !strings.Contains(table, "NAME") || !strings.Contains(table, "hello") || !strings.Contains(table, "127.0.0.1:18080") {
		t.Fatalf("get apps:\n%s", table)
	}
	var obj apiv1.Object
	if err := json.Unmarshal([]byte(s.must("", "get", "app", "hello", "-o", "json")), &obj); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(obj.Spec), `"replicas": 1`) {
		t.Fatalf("defaults not filled in: %s", obj.Spec)
	}
	yaml := s.must("", "get", "app", "hello", "-o", "yaml")
	if !strings.Contains(yaml, "unhealthyThreshold: 3") {
		t.Fatalf("yaml:\n%s", yaml)
	}
	// `get -o yaml` output applies again unchanged.
	if out := s.must(yaml, "apply", "-f", "-"); out != "app/hello unchanged\n" {
		t.Fatalf("re-applying get output said %q", out)
	}

	// Watch events while a new version lands.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := exec.CommandContext(ctx, binary, "events", "--watch", "--app", "hello", "-o", "json")
	watch.Env = append(os.Environ(), "SLUICE_DATA_DIR="+s.dataDir)
	stdout, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan apiv1.Event, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e apiv1.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				lines <- e
			}
		}
		close(lines)
	}()
	waitEvent(t, lines, "Created") // the backlog
	if out := s.must(appDoc("hello", "127.0.0.1:18080", "v2"), "apply", "-f", "-"); out != "app/hello configured (revision 2)\n" {
		t.Fatalf("new version said %q", out)
	}
	e := waitEvent(t, lines, "RevisionCreated")
	if e.Revision != 2 || !strings.Contains(e.Message, "version v2") {
		t.Fatalf("streamed %+v", e)
	}
	cancel()
	_ = watch.Wait()

	hist := s.must("", "history", "hello")
	if !strings.Contains(hist, "1          -") && !strings.Contains(hist, "v2") {
		t.Fatalf("history:\n%s", hist)
	}
	var revs apiv1.RevisionList
	json.Unmarshal([]byte(s.must("", "history", "hello", "-o", "json")), &revs)
	if len(revs.Items) != 2 || revs.Items[1].Version != "v2" {
		t.Fatalf("history -o json: %+v", revs)
	}
	if out := s.must("", "version"); !strings.Contains(out, "Server: dev") {
		t.Fatalf("version:\n%s", out)
	}
	s.must("", "delete", "app", "hello")
	if r := s.sluice("", "get", "app", "hello"); r.code != 1 || !strings.Contains(r.stderr, "Not Found") {
		t.Fatalf("get after delete: %+v", r)
	}
}

func waitEvent(t *testing.T, events <-chan apiv1.Event, reason string) apiv1.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the watch ended before %s", reason)
			}
			if e.Reason == reason {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event within 10s", reason)
		}
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	s := startServer(t, "")
	bad := strings.NewReplacer("18080", "99999", "path: /health", "path: /health\n    interval: 5x").Replace(appDoc("Hello", "127.0.0.1:18080", "v1"))
	r := s.sluice(bad, "apply", "-f", "-")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`metadata.name: "Hello" is not a DNS label`, `spec.healthCheck.interval: invalid duration "5x"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	r = s.sluice("", "get", "apps")
	if r.code != 0 || strings.Contains(r.stdout, "hello") {
		t.Fatalf("something was stored: %+v", r)
	}
	// Two apps on one address, in one request: neither lands.
	two := appDoc("a", "127.0.0.1:18081", "v1") + "---\n" + appDoc("b", "127.0.0.1:18081", "v1")
	if r := s.sluice(two, "apply", "-f", "-"); r.code != 1 || !strings.Contains(r.stderr, `App/b: spec.listen: 127.0.0.1:18081 is already used by app "a"`) {
		t.Fatalf("shared listen address: %+v", r)
	}
	if r := s.sluice("", "apply"); r.code != 2 {
		t.Fatalf("apply without -f: exit %d, want 2", r.code)
	}
	if r := s.sluice("", "get", "apps", "-o", "xml"); r.code != 2 {
		t.Fatalf("bad output format: exit %d, want 2", r.code)
	}
	if r := s.sluice("", "frobnicate"); r.code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", r.code)
	}
	if r := s.sluice("", "get", "apps", "--token", "sluice_nope"); r.code != 1 || !strings.Contains(r.stderr, "Unauthorized") {
		t.Fatalf("wrong token: %+v", r)
	}
}

func TestConcurrentApplies(t *testing.T) {
	s := startServer(t, "")
	c := s.client()
	ctx := context.Background()
	if _, err := c.Apply(ctx, []byte(appDoc("web", "127.0.0.1:18090", "v0"))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed, conflicts := 0, 0
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := c.Get(ctx, "apps", "web")
			if err != nil {
				t.Error(err)
				return
			}
			doc := strings.Replace(appDoc("web", "127.0.0.1:18090", fmt.Sprintf("v%d", i+1)), "name: web",
				fmt.Sprintf("name: web\n  resourceVersion: %d", o.Metadata.ResourceVersion), 1)
			_, err = c.Apply(ctx, []byte(doc))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				landed++
			case client.IsConflict(err):
				conflicts++
			default:
				t.Errorf("apply: %v", err)
			}
		}()
	}
	wg.Wait()
	revs, err := c.Revisions(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1+landed || landed+conflicts != 24 || landed == 0 {
		t.Fatalf("%d landed, %d conflicts, %d revisions", landed, conflicts, len(revs))
	}
	for i, r := range revs {
		if r.Number != i+1 {
			t.Fatalf("revision numbers are not 1..n: %+v", revs)
		}
	}
}

func TestKilledServerLosesNothing(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	token := s.token
	for i := range 5 {
		s.must(appDoc("web", "127.0.0.1:18095", fmt.Sprintf("v%d", i)), "apply", "-f", "-")
	}
	s.stop(syscall.SIGKILL)

	s2 := startServer(t, dir)
	if s2.token != token {
		t.Fatal("a restart made a new admin token")
	}
	revs, err := s2.client().Revisions(context.Background(), "web")
	if err != nil || len(revs) != 5 {
		t.Fatalf("after kill -9: %d revisions, %v", len(revs), err)
	}
	evs, _ := s2.client().Events(context.Background(), client.EventQuery{App: "web", Limit: 1000})
	applied := 0 // the rollout controller records events of its own
	for _, e := range evs {
		if e.Reason == "RevisionCreated" || e.Reason == "Created" || e.Reason == "Updated" {
			applied++
		}
	}
	if applied != 10 {
		t.Fatalf("after kill -9: %d events of applies, want 10 (5 revisions + 5 applies)", applied)
	}
	if strings.Contains(s2.logs.String(), "created the admin API token") {
		t.Fatal("the restarted server logged a new admin token")
	}
}

func TestAdminTokenFileIsPrivate(t *testing.T) {
	s := startServer(t, "")
	st, err := os.Stat(filepath.Join(s.dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode %v, want 0600", st.Mode().Perm())
	}
	if !strings.Contains(s.logs.String(), "created the admin API token") {
		t.Fatalf("the server did not say where the token is:\n%s", s.logs)
	}
	// The log is JSON, one object a line.
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
	}
	resp, err := s.client().Ready(context.Background())
	if err != nil || resp.Status != "ok" {
		t.Fatalf("ready: %+v %v", resp, err)
	}
}

func TestStatusAndMetrics(t *testing.T) {
	metricsAddr := freePort(t)
	s := startServer(t, "", "--metrics-listen", metricsAddr)
	out := s.must("", "status")
	for _, want := range []string{"Version:  dev", "Ready:    ok", "store"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	s.must(appDoc("web", "127.0.0.1:18110", "v1"), "apply", "-f", "-")
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sluice_api_requests_total{code="200",method="POST",route="POST /api/v1/apply"} 1`,
		`sluice_build_info{`, `sluice_store_operation_duration_seconds_count{operation="write"}`, "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The metrics listener serves the same registry, and nothing else.
	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `route="POST /api/v1/apply"`) {
		t.Fatalf("metrics listener: %d\n%s", resp.StatusCode, body)
	}
	if resp, err := http.Get("http://" + metricsAddr + "/api/v1/apps"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("the metrics listener serves the API: %v %v", resp, err)
	}
}
