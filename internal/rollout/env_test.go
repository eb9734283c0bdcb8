package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/runtime/process"
	"sluice.dev/sluice/internal/runtime/static"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/pkg/apiv1"
)

// helloBinary is examples/hello, built once for the controller tests.
var helloBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-rollout-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helloBinary = filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-o", helloBinary, "../../examples/hello")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hello:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is a controller wired to real parts: a SQLite store, the process and
// static drivers, the health checker and the proxy.
type env struct {
	t       *testing.T
	dbPath  string
	res     *resources.Service
	db      store.Store
	proc    *process.Driver
	checker *health.Checker
	proxy   *proxy.Server
	ctrl    *Controller
	stop    func()
}

// startEnv starts everything over the store at dbPath (a new one when ""),
// with the controller's options changed by mods.
func startEnv(t *testing.T, dbPath string, mods ...func(*env, *Options)) *env {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "sluice.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dbPath: dbPath, db: db, res: resources.New(db)}
	var ctrl *Controller
	e.proc, err = process.New(process.Config{LogDir: filepath.Join(filepath.Dir(dbPath), "logs"),
		OnEvent:    func(ev runtime.Event) { ctrl.RuntimeEvent(ev) },
		BeforeStop: func(ctx context.Context, in runtime.Instance) { ctrl.BeforeStop(ctx, in) }})
	if err != nil {
		t.Fatal(err)
	}
	st := static.New(static.Config{})
	e.checker = health.NewChecker(health.Config{OnTransition: func(tr health.Transition) { ctrl.HealthTransition(tr) }})
	if e.proxy, err = proxy.New(proxy.Options{}); err != nil {
		t.Fatal(err)
	}
	opts := Options{Store: e.res, Process: e.proc, Static: st, Router: e.proxy, Health: e.checker, Resync: time.Second}
	for _, m := range mods {
		m(e, &opts)
	}
	ctrl, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.ctrl = ctrl
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.proc.Run(gctx) })
	g.Go(func() error { return e.checker.Run(gctx) })
	g.Go(func() error { return e.proxy.Run(gctx) })
	g.Go(func() error { return ctrl.Run(gctx) })
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("run: %v", err)
		}
		db.Close()
	}
	t.Cleanup(e.stop)
	return e
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// helloApp is an App document running the hello binary. extra is YAML
// appended under spec (indented by two spaces); env are VERSION and
// more.
func helloApp(name, listen, extra string, envVars ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: sluice.dev/v1\nkind: App\nmetadata: {name: %s}\nspec:\n  listen: %s\n", name, listen)
	fmt.Fprintf(&b, "  runtime:\n    process:\n      command: [%q]\n      stopGracePeriod: 2s\n      env:\n", helloBinary)
	for i := 0; i+1 < len(envVars); i += 2 {
		fmt.Fprintf(&b, "        - {name: %s, value: %q}\n", envVars[i], envVars[i+1])
	}
	b.WriteString("  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}\n")
	b.WriteString(extra)
	return b.String()
}

// apply applies documents as "tester".
func (e *env) apply(doc string) apiv1.ApplyResult {
	e.t.Helper()
	docs, err := spec.Decode([]byte(doc))
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.res.Apply(context.Background(), docs, "tester")
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// status returns an app's status.
func (e *env) status(app string) apiv1.AppStatus {
	e.t.Helper()
	o, err := e.res.Get(context.Background(), spec.KindApp, app)
	if err != nil {
		e.t.Fatal(err)
	}
	var st apiv1.AppStatus
	if err := json.Unmarshal(o.Status, &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitStatus polls an app's status until cond holds.
func (e *env) waitStatus(app, what string, within time.Duration, cond func(apiv1.AppStatus) bool) apiv1.AppStatus {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := e.status(app)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting until %s; status: %+v", within, what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command runs a rollout action the way the API does.
func (e *env) command(app, action string) error {
	_, err := e.res.UpdateStatus(context.Background(), spec.KindApp, app, func(cur store.Object) (json.RawMessage, []store.Event, error) {
		var st apiv1.AppStatus
		if err := json.Unmarshal(cur.Status, &st); err != nil {
			return nil, nil, err
		}
		next, ev, err := Command(st, action, "tester", time.Now().UTC())
		if err != nil {
			return nil, nil, err
		}
		raw, err := json.Marshal(next)
		return raw, []store.Event{storeEvent(app, ev)}, err
	})
	return err
}

// version asks the service at addr for its version; "" when it does not
// answer 200.
func version(addr string) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var r struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &r) != nil {
		return ""
	}
	return r.Version
}

// eventually polls cond until it holds.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events lists the reasons of an app's events.
func (e *env) events(app string) []store.Event {
	e.t.Helper()
	evs, err := e.res.Events(context.Background(), store.EventFilter{App: app})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
