package proxy

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestPassiveEjectionAndReturn(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var events []Ejection
	failing := true
	bad := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := failing
		mu.Unlock()
		if f {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	good := newBackend(t, "1", nil)
	opts := Options{
		Now:            clock.Now,
		EjectThreshold: 3,
		EjectCooldown:  10 * time.Second,
		OnEject: func(e Ejection) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	}
	p := startProxy(t, opts, mustTable(t, TableSpec{App: "web", Stable: rev("1", bad, good)}))
	c := newClient(t)

	// Round robin alternates; the third 503 from "bad" ejects it.
	for range 6 {
		do(t, c, p.url("web"), nil)
	}
	mu.Lock()
	if len(events) != 1 {
		t.Fatalf("ejections: %+v, want one", events)
	}
	e := events[0]
	mu.Unlock()
	if e.App != "web" || e.Revision != "1" || e.Instance != "1-0" || e.Addr != bad.addr() ||
		e.Failures != 3 || e.Reason != "status 503" || !e.Until.Equal(clock.Now().Add(10*time.Second)) {
		t.Fatalf("ejection event %+v", e)
	}

	// While ejected, every request goes to the good instance.
	before := bad.hits.Load()
	for range 10 {
		if code, _, _ := do(t, c, p.url("web"), nil); code != http.StatusOK {
			t.Fatalf("status %d while the bad instance is ejected", code)
		}
	}
	if bad.hits.Load() != before {
		t.Fatal("an ejected instance got traffic")
	}

	// After the cooldown, the (now healed) instance gets traffic again.
	mu.Lock()
	failing = false
	mu.Unlock()
	clock.Advance(10 * time.Second)
	for range 4 {
		do(t, c, p.url("web"), nil)
	}
	if got := bad.hits.Load() - before; got != 2 {
		t.Fatalf("instance got %d of 4 requests after its cooldown, want 2", got)
	}
}

func TestConnectErrorsEjectInstance(t *testing.T) {
	clock := newFakeClock()
	ejected := make(chan Ejection, 4)
	good := newBackend(t, "1", nil)
	stable := Revision{Name: "1", Instances: []Instance{{ID: "dead", Addr: deadAddr(t)}, {ID: "good", Addr: good.addr()}}}
	opts := Options{Now: clock.Now, EjectThreshold: 2, OnEject: func(e Ejection) { ejected <- e }}
	p := startProxy(t, opts, mustTable(t, TableSpec{App: "web", Stable: stable}))
	c := newClient(t)
	for range 8 {
		if code, _, _ := do(t, c, p.url("web"), nil); code != http.StatusOK {
			t.Fatalf("status %d: dial errors must be retried", code)
		}
	}
	select {
	case e := <-ejected:
		if e.Instance != "dead" || e.Failures != 2 {
			t.Fatalf("ejection %+v", e)
		}
	default:
		t.Fatal("the dead instance was not ejected")
	}
	if len(ejected) != 0 {
		t.Fatalf("ejected again within the cooldown")
	}
}

func TestKilledBackendIsRoutedAround(t *testing.T) {
	a, b := newBackend(t, "1", nil), newBackend(t, "1", nil)
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "web", Stable: rev("1", a, b)}))
	c := newClient(t)
	for range 4 { // warm the keep-alive pools towards both instances
		do(t, c, p.url("web"), nil)
	}
	a.CloseClientConnections()
	a.Close()
	for i := range 20 {
		if code, _, _ := do(t, c, p.url("web"), nil); code != http.StatusOK {
			t.Fatalf("request %d after a backend was killed: status %d", i, code)
		}
	}
}
