package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

var (
	helloOnce sync.Once
	helloPath string
	helloErr  error
)

// helloBinary builds examples/hello once per test binary, beside the
// sluice binary (TestMain removes both).
func helloBinary(t *testing.T) string {
	t.Helper()
	helloOnce.Do(func() {
		helloPath = filepath.Join(filepath.Dir(binary), "hello")
		out, err := exec.Command("go", "build", "-o", helloPath, "../../examples/hello").CombinedOutput()
		if err != nil {
			helloErr = fmt.Errorf("build hello: %v\n%s", err, out)
		}
	})
	if helloErr != nil {
		t.Fatal(helloErr)
	}
	return helloPath
}

// sample is one request of the load generator.
type sample struct {
	start, end time.Time
	status     int
	version    string
	err        error
	fresh      bool // sent on a new connection
}

// load sends steady traffic to one address from several workers, some
// reusing keep-alive connections and some opening a new connection per
// request, until stopped or its time is up.
type load struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []sample
}

// loadSpec shapes the traffic: per worker, one request every interval.
type loadSpec struct {
	keepAlive, fresh int
	interval         time.Duration
	maxDuration      time.Duration
	// method is the requests' method; "" means GET. A POST is never
	// replayed by an HTTP client (the proxy's own transport included)
	// after a connection to the app broke, so it shows a cut request.
	method string
}

// steadyLoad is about 300 requests a second: 8 keep-alive workers and 4
// that open a connection per request, each every 40ms, for at most 3m.
var steadyLoad = loadSpec{keepAlive: 8, fresh: 4, interval: 40 * time.Millisecond, maxDuration: 3 * time.Minute}

// startLoad starts traffic to http://addr/.
func startLoad(t *testing.T, addr string, spec loadSpec) *load {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spec.maxDuration)
	l := &load{cancel: cancel}
	keepAlive := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: spec.keepAlive}, Timeout: 10 * time.Second}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for i := range spec.keepAlive + spec.fresh {
		c, isFresh := keepAlive, i >= spec.keepAlive
		if isFresh {
			c = fresh
		}
		l.wg.Go(func() {
			tick := time.NewTicker(spec.interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				s := send(ctx, c, spec.method, "http://"+addr+"/")
				if ctx.Err() != nil && s.err != nil {
					return // stopped mid-request: not the proxy's doing
				}
				s.fresh = isFresh
				l.mu.Lock()
				l.samples = append(l.samples, s)
				l.mu.Unlock()
			}
		})
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// get sends one GET request and reads the version from the answer.
func get(ctx context.Context, c *http.Client, url string) sample {
	return send(ctx, c, http.MethodGet, url)
}

// send sends one request with method ("" means GET) and reads the
// version from the answer.
func send(ctx context.Context, c *http.Client, method, url string) sample {
	s := sample{start: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		s.err, s.end = err, time.Now()
		return s
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.end, s.status, s.err = time.Now(), resp.StatusCode, err
	var r struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &r) == nil {
		s.version = r.Version
	}
	return s
}

// stop ends the traffic and returns every sample, by start time.
func (l *load) stop() []sample {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.samples)
	slices.SortFunc(out, func(a, b sample) int { return a.start.Compare(b.start) })
	return out
}

// checkClean fails the test for any error or non-2xx answer.
func checkClean(t *testing.T, samples []sample) {
	t.Helper()
	bad, fresh := 0, 0
	for _, s := range samples {
		if s.fresh {
			fresh++
		}
		if s.err != nil || s.status < 200 || s.status > 299 {
			if bad < 5 {
				t.Errorf("request at %s: status %d, error %v", s.start.Format("15:04:05.000"), s.status, s.err)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d requests failed", bad, len(samples))
	}
	if fresh == 0 || fresh == len(samples) {
		t.Errorf("the load did not mix new and kept-alive connections (%d of %d new)", fresh, len(samples))
	}
}

// switchPoint is a moment the test moved traffic: from then on a new
// version may answer.
type switchPoint struct {
	at      time.Time // when the command was sent
	version string    // the version that serves after it
}

// checkOrder proves that traffic followed the switches: before the first
// switch only the first version answers; a version answers only after the
// switch to it was asked for; and once an answer of phase k has come back,
// no request sent later is answered by an earlier phase (no flip-flop, no
// mix of old and new tables).
func checkOrder(t *testing.T, samples []sample, first string, switches []switchPoint) {
	t.Helper()
	phases := append([]switchPoint{{version: first}}, switches...)
	phaseOf := func(s sample) int {
		best := -1
		for k, p := range phases {
			if p.version == s.version && !s.start.Before(p.at) {
				best = k // the latest phase of this version the request may belong to
			}
		}
		return best
	}
	ended := make([]sample, len(samples))
	copy(ended, samples)
	slices.SortFunc(ended, func(a, b sample) int { return a.end.Compare(b.end) })
	reached, j := 0, 0 // the highest phase answered by a request that had ended
	for _, s := range samples {
		if s.err != nil {
			continue
		}
		for j < len(ended) && ended[j].end.Before(s.start) {
			if ended[j].err == nil {
				reached = max(reached, phaseOf(ended[j]))
			}
			j++
		}
		k := phaseOf(s)
		switch {
		case k < 0:
			t.Fatalf("a request sent at %s was answered by %q before the switch to it was asked for", s.start.Format("15:04:05.000"), s.version)
		case k < reached:
			t.Fatalf("a request sent at %s was answered by %q (phase %d) after phase %d had answered", s.start.Format("15:04:05.000"), s.version, k, reached)
		}
	}
}

// appStatus reads an app's status through the API.
func (s *server) appStatus(app string) apiv1.AppStatus {
	s.t.Helper()
	st, err := s.client().AppStatus(context.Background(), app)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// waitStatus polls an app's status until cond holds.
func (s *server) waitStatus(app, what string, within time.Duration, cond func(apiv1.AppStatus) bool) apiv1.AppStatus {
	s.t.Helper()
	var st apiv1.AppStatus
	deadline := time.Now().Add(within)
	for {
		if st = s.appStatus(app); cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting until %s; status: %+v\n%s", within, what, st, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stableAt(rev int) func(apiv1.AppStatus) bool {
	return func(st apiv1.AppStatus) bool {
		return st.StableRevision == rev && st.CandidateRevision == 0 && st.Phase == apiv1.PhaseHealthy
	}
}

func waitingForPromotion(rev int) func(apiv1.AppStatus) bool {
	return func(st apiv1.AppStatus) bool {
		return st.CandidateRevision == rev && st.Phase == apiv1.PhasePaused
	}
}

// versionAt asks the service at addr for its version; "" when it does not
// answer 200.
func versionAt(addr string) string {
	s := get(context.Background(), &http.Client{Timeout: 2 * time.Second}, "http://"+addr+"/")
	if s.err != nil || s.status != http.StatusOK {
		return ""
	}
	return s.version
}
