package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// webTable returns a table of app "web" whose stable revision has the
// given backends as instances 1-0, 1-1, …
func webTable(t testing.TB, drain time.Duration, bs ...*backend) *Table {
	return mustTable(t, TableSpec{App: "web", Stable: rev("1", bs...), DrainTimeout: drain})
}

func TestDrainLetsInFlightRequestsFinish(t *testing.T) {
	release := make(chan struct{})
	a := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, webTable(t, 10*time.Second, a))
	c := newClient(t)

	result := make(chan string, 1)
	go func() {
		code, _, body := do(t, c, p.url("web"), nil)
		result <- http.StatusText(code) + " " + body
	}()
	eventually(t, 5*time.Second, "request in flight at 1-0", func() bool { return p.InFlight("web", "1-0") == 1 })

	// Replace instance 1-0 by a new one and drain the old one.
	next := mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1", Instances: []Instance{{ID: "new", Addr: b.addr()}}}, DrainTimeout: 10 * time.Second})
	if err := p.Apply(next); err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(context.Background(), "web", "1-0") }()

	// New requests go to the new instance while the old one drains.
	if code, _, body := do(t, c, p.url("web"), nil); code != http.StatusOK || body != "1" {
		t.Fatalf("new request: %d %q", code, body)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := <-result; got != "OK finished" {
		t.Fatalf("in-flight request ended with %q", got)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if n := p.InFlight("web", "1-0"); n != 0 {
		t.Fatalf("in flight after drain: %d", n)
	}
}

func TestDrainRefusesRoutedInstance(t *testing.T) {
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, webTable(t, time.Second, b))
	if err := p.Drain(context.Background(), "web", "1-0"); !errors.Is(err, ErrStillRouted) {
		t.Fatalf("Drain of a routed instance: %v", err)
	}
	if err := p.Drain(context.Background(), "web", "never-seen"); err != nil {
		t.Fatalf("Drain of an unknown instance: %v", err)
	}
	if err := p.Drain(context.Background(), "nope", "x"); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("Drain of an unknown app: %v", err)
	}
}

func TestDrainClosesEventStreamAtDeadline(t *testing.T) {
	const drain = 300 * time.Millisecond
	next := make(chan string)
	t.Cleanup(func() { close(next) })
	a := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		for {
			select {
			case ev, ok := <-next:
				if !ok {
					return
				}
				_, _ = io.WriteString(w, "data: "+ev+"\n\n")
				_ = rc.Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
	p := startProxy(t, Options{}, webTable(t, drain, a))
	resp, err := newClient(t).Get(p.url("web"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)

	removed := time.Now()
	if err := p.Apply(mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1"}, DrainTimeout: drain})); err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(context.Background(), "web", "1-0") }()

	// Before the deadline the stream still flows.
	next <- "during drain"
	if line, err := br.ReadString('\n'); err != nil || line != "data: during drain\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	_, _ = br.ReadString('\n')

	// At the deadline the stream ends cleanly: a terminated chunked body.
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("stream ended with %v, want a clean end", err)
	}
	if len(rest) != 0 {
		t.Fatalf("unexpected bytes %q", rest)
	}
	if elapsed := time.Since(removed); elapsed < drain {
		t.Fatalf("stream closed after %v, before the %v deadline", elapsed, drain)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

func TestDrainClosesWebSocketAtDeadline(t *testing.T) {
	const drain = 200 * time.Millisecond
	a := newBackend(t, "1", echoUpgrade)
	p := startProxy(t, Options{}, webTable(t, drain, a))
	conn, br := dialUpgrade(t, p.url("web"))
	defer conn.Close()

	if err := p.Apply(mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1"}, DrainTimeout: drain})); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "still open\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "still open\n" {
		t.Fatalf("echo during drain: %q, %v", line, err)
	}
	if err := p.Drain(context.Background(), "web", "1-0"); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := br.ReadByte()
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("tunnel still open after the drain deadline: %v", err)
	}
}

func TestDrainTimeoutWithSlowRequest(t *testing.T) {
	release := make(chan struct{})
	a := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) { <-release })
	p := startProxy(t, Options{}, webTable(t, 100*time.Millisecond, a))
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := newClient(t).Get(p.url("web"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, 5*time.Second, "request in flight", func() bool { return p.InFlight("web", "1-0") == 1 })
	if err := p.Apply(mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1"}, DrainTimeout: 100 * time.Millisecond})); err != nil {
		t.Fatal(err)
	}
	err := p.Drain(context.Background(), "web", "1-0")
	close(release)
	<-done
	if !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("Drain with a slow ordinary request: %v, want ErrDrainTimeout", err)
	}
}

func TestInstanceReturningToTableStopsDraining(t *testing.T) {
	release := make(chan struct{})
	a := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	})
	p := startProxy(t, Options{}, webTable(t, time.Minute, a))
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := newClient(t).Get(p.url("web") + "/slow")
		if err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, 5*time.Second, "request in flight", func() bool { return p.InFlight("web", "1-0") == 1 })
	if err := p.Apply(mustTable(t, TableSpec{App: "web", Stable: Revision{Name: "1"}, DrainTimeout: time.Minute})); err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(context.Background(), "web", "1-0") }()

	// Undo: the instance comes back while draining. The drain ends and the
	// instance serves again, its in-flight request still counted.
	if err := p.Apply(webTable(t, time.Minute, a)); err != nil {
		t.Fatal(err)
	}
	if err := <-drained; !errors.Is(err, ErrStillRouted) {
		t.Fatalf("Drain of an instance that came back: %v", err)
	}
	if code, _, _ := do(t, newClient(t), p.url("web"), nil); code != http.StatusOK {
		t.Fatalf("status %d after the instance came back", code)
	}
	if n := p.InFlight("web", "1-0"); n != 1 {
		t.Fatalf("in flight = %d, want the slow request", n)
	}
	close(release)
	<-done
}
