package proxy

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// An app whose instances are not all an IP address and port (a static
// runtime's host names) is served by net/http, whose dialer resolves
// them: a request retried after a dial error on one instance reaches the
// other by its name.
func TestHostNameInstancesAreServed(t *testing.T) {
	b := newBackend(t, "1", nil)
	_, port, _ := net.SplitHostPort(b.addr())
	spec := TableSpec{App: "web", Listen: "127.0.0.1:0", DrainTimeout: time.Second, Stable: Revision{Name: "1", Instances: []Instance{
		{ID: "dead", Addr: deadAddr(t)},
		{ID: "named", Addr: net.JoinHostPort("localhost", port)},
	}}}
	p := startProxy(t, Options{EjectThreshold: -1}, mustTable(t, spec))
	c := newClient(t)
	for i := range 6 {
		if code, _, body := do(t, c, p.url("web"), nil); code != http.StatusOK || body != "1" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
}
