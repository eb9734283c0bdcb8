package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the proxy: one listener per app, each serving the app's current
// route table. Create it with New, feed it tables with Apply, and serve with
// Run. All methods are safe for concurrent use.
type Server struct {
	opts      Options
	now       func() time.Time
	metrics   *metrics        // nil when off
	tracing   *tracing        // nil when off
	transport *http.Transport // for protocol upgrades
	upstream  *upstream       // for everything else
	proxy     *httputil.ReverseProxy
	loops     atomic.Pointer[loopGroup] // nil when net/http serves every connection

	mu      sync.Mutex
	apps    map[string]*app
	running bool
	closed  bool
	serving sync.WaitGroup // one per serving listener and retiring one
}

// listener is a bound address of an app and the HTTP server on it. On a
// main listener the proxy accepts connections itself: plain ones go to the
// event loops, TLS ones (and those the loops hand over) to hs through
// queue.
type listener struct {
	addr  string // the listen address as the table gave it
	ln    net.Listener
	hs    *http.Server
	tls   *tlsListener // ln, which speaks TLS while it has a configuration; nil on a redirect listener
	app   *app         // nil on a redirect listener
	queue *connQueue   // nil on a redirect listener
	fast  fastState
}

// New returns a Server with no apps. It fails only when the metrics cannot
// be registered with opts.Registerer.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	s := &Server{opts: opts, now: opts.Now, apps: map[string]*app{}, tracing: newTracing(opts)}
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer)
		if err != nil {
			return nil, fmt.Errorf("new proxy: %w", err)
		}
		s.metrics = m
	}
	s.transport = newTransport(opts)
	s.upstream = newUpstream(opts)
	s.proxy = newReverseProxy(s)
	return s, nil
}

// Apply makes t the app's route table. The first table of an app, or one
// with a new listen address, binds the address first, and so does a table
// that asks for a new redirect listener (TLS with RedirectHTTP); if a bind
// fails the error matches ErrListen and the app keeps its previous table
// and listeners. Otherwise the swap is atomic: every request is routed by
// the old table or by the new one, never a mix. Instances missing from t
// start draining; a listener the table no longer names stops accepting and
// its open requests get the drain timeout. Apply may be called before Run;
// listeners then start serving when Run does.
func (s *Server) Apply(t *Table) error {
	if t == nil {
		return fmt.Errorf("apply: %w: nil table", ErrInvalidTable)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("apply %q: %w", t.App(), ErrClosed)
	}
	a := s.apps[t.App()]
	if a == nil {
		a = newApp(s, t.App())
	}
	main, redirect, err := s.bindFor(a, t)
	if err != nil {
		return err
	}
	main.tls.config.Store(t.spec.TLS)
	oldMain, oldRedirect := a.ln, a.redirect
	a.mu.Lock()
	a.ln, a.redirect = main, redirect
	a.mu.Unlock()
	a.apply(t, s.now())
	s.apps[t.App()] = a
	for _, pair := range [][2]*listener{{oldMain, main}, {oldRedirect, redirect}} {
		old, cur := pair[0], pair[1]
		if old == cur {
			continue
		}
		if cur != nil && s.running {
			s.serve(cur)
		}
		if old != nil {
			s.retire(old, t.DrainTimeout())
		}
	}
	return nil
}

// bindFor returns the listeners app a needs for t: its current ones where
// their addresses stay, new ones bound where they change. On an error
// nothing newly bound stays open.
func (s *Server) bindFor(a *app, t *Table) (main, redirect *listener, err error) {
	main, redirect = a.ln, a.redirect
	if main == nil || main.addr != t.Listen() {
		if main, err = s.bind(a, t.Listen()); err != nil {
			return nil, nil, err
		}
	}
	switch want := t.redirectHTTP(); {
	case want == "":
		redirect = nil
	case redirect == nil || redirect.addr != want:
		if redirect, err = s.bindRedirect(a, want); err != nil {
			if main != a.ln {
				_ = main.ln.Close()
			}
			return nil, nil, err
		}
	}
	return main, redirect, nil
}

// bind listens on addr for app a.
func (s *Server) bind(a *app, addr string) (*listener, error) {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w %s: %w", a.name, ErrListen, addr, err)
	}
	ln := &tlsListener{Listener: raw}
	hs := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		IdleTimeout:       s.opts.ClientIdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	return &listener{addr: addr, ln: ln, hs: hs, tls: ln, app: a, queue: newConnQueue(raw.Addr())}, nil
}

// serve starts serving l; s.mu must be held and s.running set.
func (s *Server) serve(l *listener) {
	served := l.ln
	if s.loops.Load() != nil && l.queue != nil {
		served = l.queue
		s.serving.Go(func() { s.accept(l) })
	}
	s.serving.Go(func() {
		err := l.hs.Serve(served)
		if !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("proxy: listener stopped", "addr", l.ln.Addr().String(), "error", err)
		}
	})
}

// accept takes l's connections until it is closed: plain ones go to an
// event loop, TLS ones to net/http's server.
func (s *Server) accept(l *listener) {
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.opts.Logger.Warn("proxy: accept", "addr", l.addr, "error", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if _, plain := c.(*net.TCPConn); plain && s.loops.Load().adopt(c, l) == nil {
			continue
		}
		l.queue.push(c)
	}
}

// shutdown stops l accepting and waits, until ctx ends, for its open
// connections to finish their requests; idle ones are closed at once.
func (s *Server) shutdown(ctx context.Context, l *listener) error {
	l.fast.closing.Store(true)
	if g := s.loops.Load(); g != nil && l.queue != nil {
		_ = l.ln.Close() // ends accept; hs serves the queue
		g.each(func(lp *loop) { lp.closeIdle(l) })
	}
	err := l.hs.Shutdown(ctx) // closes what hs serves, first of all
	_ = l.ln.Close()          // in case it was never served
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for err == nil && l.fast.conns.Load() > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	return err
}

// closeNow closes l and every connection it has at once.
func (s *Server) closeNow(l *listener) {
	_ = l.hs.Close()
	_ = l.ln.Close()
	if g := s.loops.Load(); g != nil && l.queue != nil {
		g.each(func(lp *loop) { lp.closeAll(l) })
	}
}

// retire stops a listener that was replaced: it stops accepting at once and
// gives its open requests up to timeout to finish. s.mu must be held.
func (s *Server) retire(l *listener, timeout time.Duration) {
	if !s.running {
		_ = l.ln.Close()
		return
	}
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := s.shutdown(ctx, l); err != nil {
			s.closeNow(l)
		}
	}()
}

// Remove stops serving app: its listener stops accepting, its open
// requests get up to the table's drain timeout (or until ctx ends) to
// finish, and its measurements are forgotten. Removing an unknown app
// returns an error matching ErrUnknownApp.
func (s *Server) Remove(ctx context.Context, app string) error {
	s.mu.Lock()
	a := s.apps[app]
	delete(s.apps, app)
	s.mu.Unlock()
	if a == nil {
		return fmt.Errorf("remove %q: %w", app, ErrUnknownApp)
	}
	if err := s.stopApp(ctx, a); err != nil {
		return fmt.Errorf("remove %q: %w", app, err)
	}
	if s.metrics != nil {
		a.mu.Lock()
		for name := range a.revisions {
			s.metrics.forget(a.name, name)
		}
		a.mu.Unlock()
	}
	return nil
}

// stopApp shuts an app's listener down gracefully within its drain
// timeout, then closes the streams still open.
func (s *Server) stopApp(ctx context.Context, a *app) error {
	timeout := a.routes.Load().table.DrainTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a.mu.Lock()
	l, redirect := a.ln, a.redirect
	a.mu.Unlock()
	if redirect != nil {
		if err := s.shutdown(ctx, redirect); err != nil {
			s.closeNow(redirect)
		}
	}
	insts := a.drainAll(s.now(), timeout)
	err := s.shutdown(ctx, l)
	for _, in := range insts {
		in.stop()
	}
	if err != nil {
		s.closeNow(l)
		if errors.Is(err, context.DeadlineExceeded) {
			return nil // the drain deadline passed: streams were cut
		}
		return fmt.Errorf("shut down listener: %w", err)
	}
	return nil
}

// Run serves every app's listener until ctx is done, then shuts them all
// down gracefully, each within its table's drain timeout, and returns. A
// Server runs once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.closed {
		s.mu.Unlock()
		return fmt.Errorf("run: %w", ErrClosed)
	}
	s.running = true
	if !s.opts.DisableEventLoops {
		loops, err := newLoopGroup(s, runtime.GOMAXPROCS(0))
		if err != nil {
			s.opts.Logger.Warn("proxy: no event loops; net/http serves every connection", "error", err)
		}
		s.loops.Store(loops)
	}
	for _, a := range s.apps {
		s.serve(a.ln)
		if a.redirect != nil {
			s.serve(a.redirect)
		}
	}
	s.mu.Unlock()

	<-ctx.Done()

	s.mu.Lock()
	s.closed = true
	apps := make([]*app, 0, len(s.apps))
	for _, a := range s.apps {
		apps = append(apps, a)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Go(func() {
			if err := s.stopApp(context.Background(), a); err != nil {
				s.opts.Logger.Error("proxy: stop app", "app", a.name, "error", err)
			}
		})
	}
	wg.Wait()
	s.serving.Wait()
	if g := s.loops.Load(); g != nil {
		g.stop()
	}
	s.transport.CloseIdleConnections()
	s.upstream.closeIdle()
	return nil
}

// Addr returns the address the listener of app name is bound to, useful
// when its table asked for port 0.
func (s *Server) Addr(name string) (net.Addr, error) {
	return s.addrOf(name, func(a *app) *listener { return a.ln })
}

// RedirectAddr returns the address of the HTTP→HTTPS redirect listener of
// app name, or nil when its table asks for none.
func (s *Server) RedirectAddr(name string) (net.Addr, error) {
	return s.addrOf(name, func(a *app) *listener { return a.redirect })
}

// addrOf returns the bound address of one of app's listeners, nil when it
// has none.
func (s *Server) addrOf(name string, which func(*app) *listener) (net.Addr, error) {
	a, err := s.app(name)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := which(a); l != nil {
		return l.ln.Addr(), nil
	}
	return nil, nil
}

// Table returns the app's current route table.
func (s *Server) Table(app string) (*Table, error) {
	a, err := s.app(app)
	if err != nil {
		return nil, err
	}
	return a.routes.Load().table, nil
}

func (s *Server) app(name string) (*app, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[name]
	if a == nil {
		return nil, fmt.Errorf("app %q: %w", name, ErrUnknownApp)
	}
	return a, nil
}

// Drain blocks until instance id of app has no request in flight, so that
// the caller may stop it. The instance must already be out of the app's
// table (else ErrStillRouted); Apply started its drain. When the table's
// drain timeout passes, the instance's streams (event streams, WebSockets)
// are closed; if requests are then still in flight, Drain returns an error
// matching ErrDrainTimeout. An instance the proxy does not know has nothing
// in flight: Drain returns nil. Drain also returns when ctx ends.
func (s *Server) Drain(ctx context.Context, app, id string) error {
	a, err := s.app(app)
	if err != nil {
		return fmt.Errorf("drain %q: %w", id, err)
	}
	in := a.instance(id)
	if in == nil {
		return nil
	}
	if err := in.wait(ctx); err != nil {
		return fmt.Errorf("drain %q of app %q: %w", id, app, err)
	}
	a.mu.Lock()
	if a.instances[id] == in && in.draining.Load() && in.load() == 0 {
		delete(a.instances, id)
	}
	a.mu.Unlock()
	return nil
}

// InFlight returns the number of requests in flight at instance id of app,
// whether it is routed or draining; 0 for an unknown instance.
func (s *Server) InFlight(app, id string) int64 {
	a, err := s.app(app)
	if err != nil {
		return 0
	}
	if in := a.instance(id); in != nil {
		return in.load()
	}
	return 0
}

// Stats returns what the proxy measured for one revision of app over the
// last window (capped at Options.StatsWindow) ending now, and its totals
// since it first served. It is the builtin analysis provider's source.
func (s *Server) Stats(app, revision string, window time.Duration) (Summary, error) {
	a, err := s.app(app)
	if err != nil {
		return Summary{}, fmt.Errorf("stats: %w", err)
	}
	rs := a.revision(revision)
	if rs == nil {
		return Summary{}, fmt.Errorf("stats of app %q: %w %q", app, ErrUnknownRevision, revision)
	}
	return rs.window.summary(s.now(), window), nil
}
