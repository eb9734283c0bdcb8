package proxy

import (
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// app is the proxy's state of one app: its current routes, swapped
// atomically, and the state of its instances and revisions, which outlives
// any one table.
type app struct {
	srv    *Server
	name   string
	routes atomic.Pointer[routes]

	mu        sync.Mutex
	instances map[string]*instance      // routed and draining, by ID
	revisions map[string]*revisionState // by revision name
	ln        *listener                 // current listener
	redirect  *listener                 // HTTP→HTTPS redirect listener, or nil
}

// revisionState is what the proxy keeps about a revision across tables.
type revisionState struct {
	name       string
	window     *window
	metrics    *revisionMetrics // nil when metrics are off
	lastRouted time.Time        // guarded by app.mu
}

// routes is the immutable snapshot the request path reads: the table and,
// for each revision in it, the instances to balance over.
type routes struct {
	table     *Table
	stable    *revisionRoute
	candidate *revisionRoute // nil without a candidate
	// ipOnly is set when every instance's address is an IP address and
	// port, which the event loops connect to without a resolver; they
	// hand the requests of other tables to net/http.
	ipOnly bool
}

// revisionRoute is one revision's instances in one table.
type revisionRoute struct {
	state *revisionState
	insts []*instance
	next  atomic.Uint64 // round-robin cursor
}

func newApp(s *Server, name string) *app {
	return &app{
		srv:       s,
		name:      name,
		instances: map[string]*instance{},
		revisions: map[string]*revisionState{},
	}
}

// apply builds the routes of t, swaps them in, and starts draining the
// instances that left. Instances that stay keep their in-flight counts and
// health; an instance that comes back while draining is put back in
// service.
func (a *app) apply(t *Table, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rt := &routes{table: t, ipOnly: true}
	routed := map[string]bool{}
	for i, rev := range t.revisions() {
		rr := a.revisionRoute(rev, now, routed)
		for _, in := range rr.insts {
			if _, ok := ipPort(in.addr); !ok {
				rt.ipOnly = false
			}
		}
		if i == 0 {
			rt.stable = rr
		} else {
			rt.candidate = rr
		}
	}
	a.routes.Store(rt)
	for id, in := range a.instances {
		switch {
		case routed[id]:
		case in.drained(now):
			delete(a.instances, id)
		default:
			in.startDrain(now, t.DrainTimeout())
		}
	}
	a.pruneRevisions(now)
}

// revisionRoute resolves the instances of rev, creating state for new ones.
func (a *app) revisionRoute(rev *Revision, now time.Time, routed map[string]bool) *revisionRoute {
	rs := a.revisions[rev.Name]
	if rs == nil {
		rs = &revisionState{
			name:    rev.Name,
			window:  newWindow(a.srv.opts.StatsWindow),
			metrics: a.srv.metrics.forRevision(a.name, rev.Name),
		}
		a.revisions[rev.Name] = rs
	}
	rs.lastRouted = now
	rr := &revisionRoute{state: rs, insts: make([]*instance, len(rev.Instances))}
	for j, spec := range rev.Instances {
		in := a.instances[spec.ID]
		if in != nil && (in.addr != spec.Addr || in.revision != rev.Name) {
			in.startDrain(now, 0) // the ID now names another instance
			in = nil
		}
		if in == nil {
			in = newInstance(spec, rev.Name)
			a.instances[spec.ID] = in
		}
		in.undrain()
		rr.insts[j] = in
		routed[spec.ID] = true
	}
	return rr
}

// pruneRevisions forgets revisions that have not been routed to for
// longer than the measurement window.
func (a *app) pruneRevisions(now time.Time) {
	for name, rs := range a.revisions {
		if now.Sub(rs.lastRouted) <= rs.window.span() {
			continue
		}
		delete(a.revisions, name)
		if a.srv.metrics != nil {
			a.srv.metrics.forget(a.name, name)
		}
	}
}

// pick chooses the revision and instance for a request and counts the
// request in flight there. It returns a nil instance, with the revision
// that should have served, when no instance is available.
func (rt *routes) pick(in routeInput, now time.Time) (*revisionRoute, *instance, int) {
	target := chooseRevision(rt.table.spec.Weight, rt.candidate != nil, in.override, in.bucket)
	first, other := rt.stable, rt.candidate
	if target == TargetCandidate && rt.candidate != nil {
		first, other = rt.candidate, rt.stable
	}
	for _, rr := range []*revisionRoute{first, other} {
		if rr == nil || len(rr.insts) == 0 {
			continue // an empty revision hands its share to the other
		}
		if inst, i := rr.acquire(rt.table.spec.Policy, rr.next.Add(1)-1, 0, now); inst != nil {
			return rr, inst, i
		}
	}
	return first, nil, -1
}

// acquire picks an untried instance of the revision, scanning from start,
// and counts a request in flight there. Instances that started draining
// since the table was built are skipped. It returns nil when none is left.
func (rr *revisionRoute) acquire(p Policy, start, tried uint64, now time.Time) (*instance, int) {
	for range len(rr.insts) {
		i := pickInstance(p, rr.insts, start, tried, now.UnixNano())
		if i < 0 {
			return nil, -1
		}
		if rr.insts[i].acquire() {
			return rr.insts[i], i
		}
		tried = markTried(tried, i)
	}
	return nil, -1
}

// instance returns the state of instance id, or nil.
func (a *app) instance(id string) *instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.instances[id]
}

// revision returns the state of the named revision, or nil.
func (a *app) revision(name string) *revisionState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.revisions[name]
}

// drainAll starts draining every instance, as when the app is removed, and
// returns them.
func (a *app) drainAll(now time.Time, timeout time.Duration) []*instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	insts := slices.Collect(maps.Values(a.instances))
	for _, in := range insts {
		in.startDrain(now, timeout)
	}
	return insts
}

// ipPort parses an instance address that needs no resolver: an IP address
// (IPv4, or IPv6 without a zone) and a port.
func ipPort(addr string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
