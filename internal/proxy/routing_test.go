package proxy

import (
	"math"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// canaryTable returns a table of app "shop" with stable "1" on b1 and
// candidate "2" on b2 at weight w.
func canaryTable(t testing.TB, w int, b1, b2 *backend, change func(*TableSpec)) *Table {
	c := rev("2", b2)
	spec := TableSpec{App: "shop", Stable: rev("1", b1), Candidate: &c, Weight: w}
	if change != nil {
		change(&spec)
	}
	return mustTable(t, spec)
}

func TestWeightedSplit(t *testing.T) {
	b1, b2 := newBackend(t, "1", nil), newBackend(t, "2", nil)
	const weight, n = 2500, 4000
	p := startProxy(t, Options{}, canaryTable(t, weight, b1, b2, func(s *TableSpec) {
		s.Stickiness = Stickiness{Header: "X-User-ID"}
	}))
	c := newClient(t)
	url := p.url("shop")

	// Clients without a key are split per request; clients with distinct
	// keys are split by bucket. Both must match the weight within 5 sigma.
	p0 := float64(weight) / MaxWeight
	tolerance := 5 * math.Sqrt(n*p0*(1-p0))
	for _, keyed := range []bool{false, true} {
		var candidate atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					h := map[string]string{}
					if keyed {
						h["X-User-ID"] = "user-" + strconv.Itoa(i)
					}
					code, revision, _ := do(t, c, url, h)
					if code != http.StatusOK {
						t.Errorf("status %d", code)
						return
					}
					if revision == "2" {
						candidate.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got := float64(candidate.Load()); math.Abs(got-n*p0) > tolerance {
			t.Errorf("keyed=%v: candidate got %.0f of %d, want %.0f ± %.0f", keyed, got, n, n*p0, tolerance)
		}
	}
}

func TestStickyByHeader(t *testing.T) {
	b1, b2 := newBackend(t, "1", nil), newBackend(t, "2", nil)
	tb := canaryTable(t, 3000, b1, b2, func(s *TableSpec) { s.Stickiness = Stickiness{Header: "X-User-ID"} })
	p := startProxy(t, Options{}, tb)
	c := newClient(t)
	for i := range 50 {
		user := "u" + strconv.Itoa(i)
		want := "1"
		if Bucket("shop", user) < 3000 {
			want = "2"
		}
		for range 5 {
			if _, got, _ := do(t, c, p.url("shop"), map[string]string{"X-User-ID": user}); got != want {
				t.Fatalf("user %s went to revision %s, want %s", user, got, want)
			}
		}
	}
	// Raising the weight keeps every candidate user on the candidate.
	if err := p.Apply(canaryTable(t, 6000, b1, b2, func(s *TableSpec) { s.Stickiness = Stickiness{Header: "X-User-ID"} })); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		user := "u" + strconv.Itoa(i)
		if Bucket("shop", user) < 3000 {
			if _, got, _ := do(t, c, p.url("shop"), map[string]string{"X-User-ID": user}); got != "2" {
				t.Fatalf("user %s moved back to stable when the weight rose", user)
			}
		}
	}
}

func TestStickyByProxyCookie(t *testing.T) {
	b1, b2 := newBackend(t, "1", nil), newBackend(t, "2", nil)
	p := startProxy(t, Options{}, canaryTable(t, 5000, b1, b2, nil))
	seen := map[string]int{}
	for range 20 {
		jar, _ := cookiejar.New(nil)
		c := newClient(t)
		c.Jar = jar
		_, first, _ := do(t, c, p.url("shop"), nil)
		seen[first]++
		req, _ := http.NewRequest(http.MethodGet, p.url("shop"), nil)
		cookies := jar.Cookies(req.URL)
		if len(cookies) != 1 || cookies[0].Name != "sluice_shop" {
			t.Fatalf("proxy set cookies %v, want one sluice_shop", cookies)
		}
		want := "1"
		if Bucket("shop", cookies[0].Value) < 5000 {
			want = "2"
		}
		if first != want {
			t.Fatalf("first response from %s, but the cookie's bucket says %s", first, want)
		}
		for range 5 {
			if _, got, _ := do(t, c, p.url("shop"), nil); got != first {
				t.Fatalf("client with cookie moved from %s to %s", first, got)
			}
		}
	}
	if seen["1"] == 0 || seen["2"] == 0 {
		t.Fatalf("20 clients at weight 50%% all landed on one side: %v", seen)
	}
}

func TestOverrides(t *testing.T) {
	b1, b2 := newBackend(t, "1", nil), newBackend(t, "2", nil)
	tb := canaryTable(t, 0, b1, b2, func(s *TableSpec) {
		s.Overrides = []Override{
			{Header: "X-Canary", Value: "always", Target: TargetCandidate},
			{Cookie: "canary", Value: "never", Target: TargetStable},
		}
	})
	p := startProxy(t, Options{}, tb)
	c := newClient(t)
	tests := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"no override at weight 0", nil, "1"},
		{"header forces candidate", map[string]string{"X-Canary": "always"}, "2"},
		{"other value does not", map[string]string{"X-Canary": "maybe"}, "1"},
		{"cookie forces stable", map[string]string{"Cookie": "canary=never"}, "1"},
	}
	for _, tt := range tests {
		for range 10 {
			if _, got, _ := do(t, c, p.url("shop"), tt.header); got != tt.want {
				t.Fatalf("%s: revision %s, want %s", tt.name, got, tt.want)
			}
		}
	}
	if err := p.Apply(canaryTable(t, MaxWeight, b1, b2, func(s *TableSpec) {
		s.Overrides = []Override{{Cookie: "canary", Value: "never", Target: TargetStable}}
	})); err != nil {
		t.Fatal(err)
	}
	if _, got, _ := do(t, c, p.url("shop"), map[string]string{"Cookie": "canary=never"}); got != "1" {
		t.Fatalf("stable override at weight 100%% went to %s", got)
	}
}

// Under concurrent load, each response comes from a revision that a table
// active at some moment during the request allows, and nothing fails.
func TestAtomicSwapUnderLoad(t *testing.T) {
	b1, b2 := newBackend(t, "1", nil), newBackend(t, "2", nil)
	// Even generations send everything to "1", odd ones to "2".
	tableFor := func(gen int64) *Table {
		if gen%2 == 0 {
			return canaryTable(t, 0, b1, b2, nil)
		}
		return canaryTable(t, MaxWeight, b1, b2, nil)
	}
	p := startProxy(t, Options{}, tableFor(0))
	url := p.url("shop")
	var started, applied atomic.Int64 // generations begun and finished applying

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var requests, failures atomic.Int64
	for range 8 {
		wg.Go(func() {
			c := newClient(t)
			for {
				select {
				case <-stop:
					return
				default:
				}
				lo := applied.Load()
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				resp, err := c.Do(req)
				hi := started.Load()
				if err != nil {
					failures.Add(1)
					t.Errorf("request failed: %v", err)
					return
				}
				resp.Body.Close()
				requests.Add(1)
				got := resp.Header.Get("X-Revision")
				ok := resp.StatusCode == http.StatusOK && (got == "1" && (lo%2 == 0 || hi > lo) || got == "2" && (lo%2 == 1 || hi > lo))
				if !ok {
					failures.Add(1)
					t.Errorf("status %d from revision %q while generations %d..%d were active", resp.StatusCode, got, lo, hi)
					return
				}
			}
		})
	}
	for gen := int64(1); gen <= 200; gen++ {
		started.Store(gen)
		if err := p.Apply(tableFor(gen)); err != nil {
			t.Fatal(err)
		}
		applied.Store(gen)
		// Let a request complete under each table, however slow the machine.
		before, deadline := requests.Load(), time.Now().Add(10*time.Second)
		for requests.Load() == before && failures.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(stop)
	wg.Wait()
	if requests.Load() < 200 || failures.Load() != 0 {
		t.Fatalf("%d requests, %d failures", requests.Load(), failures.Load())
	}
}

func TestLeastRequestsAvoidsBusyInstance(t *testing.T) {
	release := make(chan struct{})
	park := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	}
	b0, b1 := newBackend(t, "1", park), newBackend(t, "1", park)
	tb := mustTable(t, TableSpec{App: "lr", Stable: rev("1", b0, b1), Policy: LeastRequests})
	p := startProxy(t, Options{}, tb)
	c := newClient(t)
	// Three parked requests spread 2:1 over the two instances; new
	// requests must then all go to the one with fewer in flight.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release)
	for range 3 {
		wg.Go(func() {
			resp, err := c.Get(p.url("lr") + "/slow")
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	eventually(t, 5*time.Second, "slow requests in flight", func() bool {
		return p.InFlight("lr", "1-0")+p.InFlight("lr", "1-1") == 3 && b0.hits.Load()+b1.hits.Load() == 3
	})
	idle, idleID := b0, "1-0"
	if p.InFlight("lr", "1-0") > p.InFlight("lr", "1-1") {
		idle, idleID = b1, "1-1"
	}
	base := p.InFlight("lr", idleID)
	before := idle.hits.Load()
	for range 5 {
		// A client can read a whole answer before the proxy counts its
		// request done: wait for that, so each request sees the parked ones only.
		eventually(t, 5*time.Second, "the last fast request is done", func() bool { return p.InFlight("lr", idleID) == base })
		do(t, c, p.url("lr")+"/fast", nil)
	}
	if got := idle.hits.Load() - before; got != 5 {
		t.Errorf("the less busy instance got %d of 5 new requests", got)
	}
}
