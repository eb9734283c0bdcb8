package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

func TestListenFailureIsReported(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{})
	err = p.Apply(mustTable(t, TableSpec{App: "web", Listen: busy.Addr().String(), Stable: rev("1", b)}))
	if !errors.Is(err, ErrListen) {
		t.Fatalf("Apply on a busy address: %v, want ErrListen", err)
	}
	if _, err := p.Addr("web"); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("a failed first Apply left an app behind: %v", err)
	}
}

func TestChangedListenAddressRebinds(t *testing.T) {
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	oldURL := p.url("web")
	c := newClient(t)
	if code, _, _ := do(t, c, oldURL, nil); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	spec := webTable(t, time.Second, b).Spec()
	spec.Listen = "127.0.0.1:0" // the same text means the same listener
	if err := p.Apply(mustTable(t, spec)); err != nil {
		t.Fatal(err)
	}
	if p.url("web") != oldURL {
		t.Fatal("an unchanged listen address rebound")
	}
	spec.Listen = "localhost:0"
	if err := p.Apply(mustTable(t, spec)); err != nil {
		t.Fatal(err)
	}
	newURL := p.url("web")
	if newURL == oldURL {
		t.Fatal("a new listen address did not rebind")
	}
	if code, _, _ := do(t, c, newURL, nil); code != http.StatusOK {
		t.Fatalf("new address: status %d", code)
	}
	c.CloseIdleConnections()
	eventually(t, 5*time.Second, "old address closed", func() bool {
		conn, err := net.DialTimeout("tcp", oldURL[len("http://"):], time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
}

func TestRemoveStopsServing(t *testing.T) {
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	addr := p.url("web")[len("http://"):]
	if err := p.Remove(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Fatal("listener still accepts after Remove")
	}
	if err := p.Remove(context.Background(), "web"); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := p.Stats("web", "1", time.Minute); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("Stats after Remove: %v", err)
	}
}

func TestApplyBeforeRunServesOnRun(t *testing.T) {
	b := newBackend(t, "1", nil)
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(webTable(t, time.Second, b)); err != nil {
		t.Fatal(err)
	}
	addr, _ := s.Addr("web")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if code, _, _ := do(t, newClient(t), "http://"+addr.String(), nil); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(webTable(t, time.Second, b)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Run: %v", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Run: %v", err)
	}
}

func TestReapplyingKeepsOneListener(t *testing.T) {
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	do(t, newClient(t), p.url("web"), nil)
	before := runtime.NumGoroutine()
	for range 50 {
		if err := p.Apply(webTable(t, time.Second, b)); err != nil {
			t.Fatal(err)
		}
	}
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over 50 applies of the same address", before, after)
	}
}
