package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPSURL(t *testing.T) {
	cases := []struct {
		host, port, uri, want string
	}{
		{"example.com", "8443", "/api/v1/apps?x=1", "https://example.com:8443/api/v1/apps?x=1"},
		{"example.com:80", "8443", "/api/v1/apply", "https://example.com:8443/api/v1/apply"},
		{"example.com:8080", "443", "/", "https://example.com/"},
		{"[::1]:80", "443", "/a", "https://[::1]/a"},
		{"[::1]:80", "7443", "/a", "https://[::1]:7443/a"},
		{"[::1]", "7443", "/a", "https://[::1]:7443/a"},
		{"127.0.0.1", "", "/a%20b?q=%2F", "https://127.0.0.1/a%20b?q=%2F"},
		{"shop.example", "443", "*", "https://shop.example/"},
		{"", "443", "/", ""},
		{"a@evil.example", "443", "/", ""},
		{"a/b", "443", "/", ""},
		{"[not-an-ip]", "443", "/", ""},
	}
	for _, c := range cases {
		got, ok := httpsURL(c.host, c.port, c.uri)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("httpsURL(%q, %q, %q) = %q, %v; want %q", c.host, c.port, c.uri, got, ok, c.want)
		}
	}
}

func TestRedirectHandlerKeepsMethodAndURL(t *testing.T) {
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
		r := httptest.NewRequest(method, "/cart/items?id=7&n=2", strings.NewReader("body"))
		r.Host = "shop.example:8080"
		w := httptest.NewRecorder()
		RedirectHandler("8443").ServeHTTP(w, r)
		if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != "https://shop.example:8443/cart/items?id=7&n=2" {
			t.Errorf("%s: %d %q", method, w.Code, w.Header().Get("Location"))
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = ""
	w := httptest.NewRecorder()
	RedirectHandler("443").ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("no Host: %d, want 400", w.Code)
	}
}

// noFollow is a plain HTTP client that returns redirects instead of
// following them.
func noFollow(t *testing.T) *http.Client {
	t.Helper()
	c := &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// redirectOf sends method to url with Host set to host (unless empty)
// and returns the status and Location.
func redirectOf(t *testing.T, c *http.Client, method, url, host string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

func (p *runningProxy) redirectURL(app string) string {
	p.t.Helper()
	addr, err := p.RedirectAddr(app)
	if err != nil || addr == nil {
		p.t.Fatalf("redirect listener of %q: %v, %v", app, addr, err)
	}
	return "http://" + addr.String()
}

// closed reports whether nothing accepts connections at a URL's address.
func closed(url string) bool {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second)
	if err == nil {
		conn.Close()
	}
	return err != nil
}

func TestRedirectListenerFollowsTheTable(t *testing.T) {
	cert, _ := selfSigned(t)
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
	b := newBackend(t, "1", nil)
	spec := TableSpec{App: "web", Listen: "127.0.0.1:0", Stable: rev("1", b), TLS: conf, RedirectHTTP: "127.0.0.1:0"}
	p := startProxy(t, Options{}, mustTable(t, spec))
	_, httpsPort, _ := net.SplitHostPort(strings.TrimPrefix(p.url("web"), "http://"))
	redirectURL := p.redirectURL("web")
	c := noFollow(t)

	for _, x := range []struct{ method, host, want string }{
		{"GET", "shop.example", "https://shop.example:" + httpsPort + "/a/b?x=1&y=%2F"},
		{"GET", "shop.example:80", "https://shop.example:" + httpsPort + "/a/b?x=1&y=%2F"},
		{"HEAD", "", "https://127.0.0.1:" + httpsPort + "/a/b?x=1&y=%2F"},
		{"POST", "shop.example", "https://shop.example:" + httpsPort + "/a/b?x=1&y=%2F"},
		{"DELETE", "[::1]:80", "https://[::1]:" + httpsPort + "/a/b?x=1&y=%2F"},
	} {
		code, loc, err := redirectOf(t, c, x.method, redirectURL+"/a/b?x=1&y=%2F", x.host)
		if err != nil || code != http.StatusPermanentRedirect || loc != x.want {
			t.Errorf("%s (Host %q): %d %q %v; want 308 %q", x.method, x.host, code, loc, err, x.want)
		}
	}
	if code, _, err := redirectOf(t, c, "GET", redirectURL+"/", "a@evil.example"); err != nil || code != http.StatusBadRequest {
		t.Errorf("a crafted Host: %d %v, want 400", code, err)
	}
	if n := b.hits.Load(); n != 0 {
		t.Fatalf("the redirect listener forwarded %d requests to the instance", n)
	}

	// Another address: the redirect moves, the old address closes.
	other := deadAddr(t)
	spec.RedirectHTTP = other
	if err := p.Apply(mustTable(t, spec)); err != nil {
		t.Fatal(err)
	}
	if got := p.redirectURL("web"); got != "http://"+other {
		t.Fatalf("redirect listener at %s, want %s", got, other)
	}
	eventually(t, 5*time.Second, "the old redirect address is closed", func() bool { return closed(redirectURL) })
	if code, loc, err := redirectOf(t, c, "GET", "http://"+other+"/x", "shop.example"); err != nil || code != http.StatusPermanentRedirect || !strings.HasSuffix(loc, ":"+httpsPort+"/x") {
		t.Fatalf("at the new address: %d %q %v", code, loc, err)
	}

	// The table drops TLS (and so the redirect): the listener closes and
	// the app serves plain HTTP on its own address.
	spec.TLS, spec.RedirectHTTP = nil, ""
	if err := p.Apply(mustTable(t, spec)); err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	eventually(t, 5*time.Second, "the redirect listener is closed", func() bool { return closed("http://" + other) })
	if addr, err := p.RedirectAddr("web"); addr != nil || err != nil {
		t.Fatalf("RedirectAddr after TLS was dropped: %v, %v", addr, err)
	}
	if code, _, _ := do(t, newClient(t), p.url("web"), nil); code != http.StatusOK {
		t.Fatalf("the app over plain HTTP: %d", code)
	}
}

func TestRedirectListenerFollowsTheAppsPort(t *testing.T) {
	cert, _ := selfSigned(t)
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
	b := newBackend(t, "1", nil)
	spec := TableSpec{App: "web", Listen: "127.0.0.1:0", Stable: rev("1", b), TLS: conf, RedirectHTTP: "127.0.0.1:0"}
	p := startProxy(t, Options{}, mustTable(t, spec))
	redirectURL := p.redirectURL("web")
	spec.Listen = "localhost:0" // the app's listener moves; the redirect stays
	if err := p.Apply(mustTable(t, spec)); err != nil {
		t.Fatal(err)
	}
	if got := p.redirectURL("web"); got != redirectURL {
		t.Fatalf("an unchanged redirect address rebound: %s, was %s", got, redirectURL)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.url("web"), "http://"))
	if code, loc, err := redirectOf(t, noFollow(t), "GET", redirectURL+"/", "shop.example"); err != nil || code != http.StatusPermanentRedirect || loc != "https://shop.example:"+port+"/" {
		t.Fatalf("after the app moved to port %s: %d %q %v", port, code, loc, err)
	}
}

func TestRedirectListenerBindFailureKeepsTheApp(t *testing.T) {
	cert, _ := selfSigned(t)
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	b := newBackend(t, "1", nil)
	spec := TableSpec{App: "web", Listen: "127.0.0.1:0", Stable: rev("1", b)}
	p := startProxy(t, Options{}, mustTable(t, spec))
	url := p.url("web")
	spec.Listen, spec.TLS, spec.RedirectHTTP = "localhost:0", conf, busy.Addr().String()
	if err := p.Apply(mustTable(t, spec)); !errors.Is(err, ErrListen) || !strings.Contains(err.Error(), "redirectHTTP") {
		t.Fatalf("a busy redirect address: %v, want ErrListen naming redirectHTTP", err)
	}
	if p.url("web") != url {
		t.Fatal("a failed Apply moved the app's listener")
	}
	if code, _, _ := do(t, newClient(t), url, nil); code != http.StatusOK {
		t.Fatalf("the app after a failed Apply: %d", code)
	}
}

func TestRemoveClosesTheRedirectListener(t *testing.T) {
	cert, _ := selfSigned(t)
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "web", Listen: "127.0.0.1:0", Stable: rev("1", b), TLS: conf, RedirectHTTP: "127.0.0.1:0"}))
	redirectURL := p.redirectURL("web")
	if err := p.Remove(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if !closed(redirectURL) {
		t.Fatal("the redirect listener accepts after Remove")
	}
}

func TestRedirectNeedsTLSAndItsOwnAddress(t *testing.T) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, c := range []struct {
		name string
		spec TableSpec
	}{
		{"without TLS", TableSpec{App: "web", Listen: "127.0.0.1:8443", RedirectHTTP: "127.0.0.1:8080"}},
		{"on the listen address", TableSpec{App: "web", Listen: "127.0.0.1:8443", RedirectHTTP: "127.0.0.1:8443", TLS: conf}},
		{"not host:port", TableSpec{App: "web", Listen: "127.0.0.1:8443", RedirectHTTP: "eighty", TLS: conf}},
	} {
		c.spec.Stable = Revision{Name: "1"}
		_, err := NewTable(c.spec)
		var fe *FieldError
		if !errors.Is(err, ErrInvalidTable) || !errors.As(err, &fe) || fe.Field != "redirectHTTP" {
			t.Errorf("%s: %v, want a redirectHTTP problem", c.name, err)
		}
	}
}
