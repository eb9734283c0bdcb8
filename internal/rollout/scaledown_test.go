package rollout

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/pkg/apiv1"
)

// answer is one request through the proxy: its status and the instance
// that served it.
type answer struct {
	status   int
	instance string
	err      error
}

// ask sends one request to the app at addr, on a connection of its own.
// It is a POST, which no transport replays after a broken connection, so
// a request the app cut fails.
func ask(addr string) answer {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post("http://"+addr+"/", "text/plain", nil)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{status: resp.StatusCode, err: err}
	}
	var r struct {
		Instance string `json:"instance"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return answer{status: resp.StatusCode, err: fmt.Errorf("body %q: %w", b, err)}
	}
	return answer{status: resp.StatusCode, instance: r.Instance}
}

// askAll sends n requests at once and returns their answers.
func askAll(addr string, n int) <-chan []answer {
	out := make(chan []answer, 1)
	go func() {
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { answers[i] = ask(addr) })
		}
		wg.Wait()
		out <- answers
	}()
	return out
}

// routed lists the instances the proxy's table for app routes to.
func (e *env) routed(app string) []string {
	t, err := e.proxy.Table(app)
	if err != nil {
		return nil
	}
	var ids []string
	for _, in := range t.Spec().Stable.Instances {
		ids = append(ids, in.ID)
	}
	return ids
}

// TestControllerScaleDownDrainsBeforeStopping scales an app from 3
// replicas to 1 while slow requests are in flight on every instance. The
// app gives its requests only 50ms after SIGTERM, so a victim signalled
// before its requests finish would cut them.
func TestControllerScaleDownDrainsBeforeStopping(t *testing.T) {
	e := startEnv(t, "")
	listen := freeAddr(t)
	const latency = 2 * time.Second
	doc := func(replicas int) string {
		return strings.Replace(helloApp("web", listen, "", "VERSION", "v1", "LATENCY", latency.String(), "SHUTDOWN_TIMEOUT", "50ms"),
			"stopGracePeriod: 2s", fmt.Sprintf("stopGracePeriod: 10s\n      replicas: %d", replicas), 1)
	}
	e.apply(doc(3))
	e.waitStatus("web", "three healthy instances", 20*time.Second, func(st apiv1.AppStatus) bool {
		return isStable(1)(st) && len(st.Revisions) == 1 && st.Revisions[0].Ready == 3
	})
	eventually(t, 10*time.Second, "the proxy routes to three instances", func() bool { return len(e.routed("web")) == 3 })
	all := e.routed("web")

	// Two slow requests in flight on each instance.
	slow := askAll(listen, 6)
	eventually(t, 10*time.Second, "a request in flight on every instance", func() bool {
		for _, id := range all {
			if e.proxy.InFlight("web", id) == 0 {
				return false
			}
		}
		return true
	})

	e.apply(doc(1))
	var victims []string
	eventually(t, 10*time.Second, "two instances are stopping", func() bool {
		victims = victims[:0]
		for _, in := range e.proc.RevisionInstances("web", 1) {
			if in.State == runtime.StateStopping {
				victims = append(victims, in.ID)
			}
		}
		return len(victims) == 2
	})
	eventually(t, 5*time.Second, "the victims leave the route table", func() bool {
		return !slices.ContainsFunc(e.routed("web"), func(id string) bool { return slices.Contains(victims, id) })
	})
	// The victims drain: their requests are still in flight, so they run.
	for _, id := range victims {
		if e.proxy.InFlight("web", id) == 0 {
			t.Fatalf("victim %s has no request in flight any more; make the latency longer", id)
		}
	}
	if n := len(e.proc.RevisionInstances("web", 1)); n != 3 {
		t.Fatalf("%d instances while the victims drain, want 3", n)
	}
	later := askAll(listen, 4)

	for i, a := range <-slow {
		if a.err != nil || a.status != http.StatusOK {
			t.Errorf("slow request %d: status %d, error %v", i, a.status, a.err)
		}
	}
	for i, a := range <-later {
		switch {
		case a.err != nil || a.status != http.StatusOK:
			t.Errorf("request %d sent while the victims drained: status %d, error %v", i, a.status, a.err)
		case slices.Contains(victims, a.instance):
			t.Errorf("request %d sent after the victims left the table reached victim %s", i, a.instance)
		}
	}
	eventually(t, 20*time.Second, "the victims are stopped", func() bool { return len(e.proc.RevisionInstances("web", 1)) == 1 })
	st := e.waitStatus("web", "one healthy instance", 10*time.Second, func(st apiv1.AppStatus) bool {
		return isStable(1)(st) && len(st.Revisions) == 1 && st.Revisions[0].Ready == 1 && len(st.Revisions[0].Instances) == 1
	})
	if slices.Contains(victims, st.Revisions[0].Instances[0].ID) {
		t.Fatalf("a victim stayed: %+v", st.Revisions[0])
	}
}
