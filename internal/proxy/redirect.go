package proxy

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// redirectTimeout bounds reading a whole request on a redirect listener and
// writing its answer: redirects are small and never stream.
const redirectTimeout = 30 * time.Second

// RedirectHandler answers every request with 308 Permanent Redirect to the
// same host, path and query over HTTPS on httpsPort ("443" is left out of
// the URL). 308, unlike 301, keeps the method and body of every request,
// so a POST is sent again as a POST; every current browser and HTTP client
// follows it. It forwards nothing and reads no body. A request without a
// usable Host (empty, or not a host name or IP address) gets 400.
func RedirectHandler(httpsPort string) http.Handler {
	return redirectTo(func() string { return httpsPort })
}

// redirectTo is RedirectHandler with the port read at each request, for a
// listener whose HTTPS twin may move.
func redirectTo(httpsPort func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := httpsURL(r.Host, httpsPort(), r.URL.RequestURI())
		if !ok {
			http.Error(w, "a Host header naming a host is required", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}

// httpsURL is the HTTPS URL a plain HTTP request for host (the Host header,
// with or without a port) and requestURI is sent to when HTTPS is served on
// port. It reports false for a host that is neither a host name nor an IP
// address, so that a crafted Host cannot bend the URL (`a@b`, `a/b`).
func httpsURL(host, port, requestURI string) (string, bool) {
	bracketed := strings.HasPrefix(host, "[")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if bracketed && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // an IPv6 literal without a port
	}
	if !validHost(host) || bracketed && !strings.Contains(host, ":") {
		return "", false
	}
	if port == "" || port == "443" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	} else {
		host = net.JoinHostPort(host, port)
	}
	if !strings.HasPrefix(requestURI, "/") {
		requestURI = "/" // `OPTIONS *` and the like
	}
	return "https://" + host + requestURI, true
}

// validHost reports whether h is a DNS name (letters, digits, '-', '.',
// '_') or an IP address.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if strings.Contains(h, ":") {
		return net.ParseIP(h) != nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// bindRedirect listens on addr for app a's plain HTTP requests, each
// answered with a redirect to the port of the app's listener at the time.
func (s *Server) bindRedirect(a *app, addr string) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w %s (redirectHTTP): %w", a.name, ErrListen, addr, err)
	}
	hs := &http.Server{
		Handler:           redirectTo(a.httpsPort),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       redirectTimeout,
		WriteTimeout:      redirectTimeout,
		IdleTimeout:       s.opts.ClientIdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	return &listener{addr: addr, ln: ln, hs: hs}, nil
}

// httpsPort is the port of the app's own (HTTPS) listener.
func (a *app) httpsPort() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(a.ln.ln.Addr().String())
	return port
}
