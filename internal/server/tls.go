package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"sluice.dev/sluice/internal/proxy"
)

// certCheckEvery bounds how often a handshake looks at the certificate
// files for a change.
const certCheckEvery = time.Second

// CertReloader serves a certificate and key from files and picks up new
// files without a restart: at most once per second, a TLS handshake looks
// at the files' size and modification time and, when either changed,
// loads them again. Connections already open keep the certificate they
// started with; new ones get the new one. If the new files do not load (a
// half-written pair), the old certificate stays in use and the reloader
// tries again at the next check. It is safe for concurrent use.
type CertReloader struct {
	certFile, keyFile string
	now               func() time.Time
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   fileStamp
	checked time.Time
	lastErr string
}

// fileStamp is what a change of the pair is detected by.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// NewCertReloader loads the pair once and fails if it does not load. now
// is the clock of the change checks; log receives reload outcomes.
func NewCertReloader(certFile, keyFile string, now func() time.Time, log *slog.Logger) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, now: now, log: log}
	stamp, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, now()
	return r, nil
}

func (r *CertReloader) stat() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS certificate: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS key: %w", err)
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// GetCertificate is a tls.Config.GetCertificate that serves the current
// certificate, reloading it first when the files changed.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= certCheckEvery || now.Before(r.checked) {
		r.checked = now
		r.reload()
	}
	return r.cert, nil
}

// reload loads the pair again when its files changed; r.mu must be held.
func (r *CertReloader) reload() {
	stamp, err := r.stat()
	if err == nil && stamp == r.stamp {
		return
	}
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.LoadX509KeyPair(r.certFile, r.keyFile)
	}
	if err != nil {
		if msg := err.Error(); msg != r.lastErr {
			r.lastErr = msg
			r.log.Warn("TLS certificate not reloaded; still serving the previous one", "cert", r.certFile, "error", err)
		}
		return
	}
	r.cert, r.stamp, r.lastErr = &cert, stamp, ""
	attrs := []any{"cert", r.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	}
	r.log.Info("TLS certificate reloaded", attrs...)
}

// TLSConfig returns a server configuration with TLS 1.2 as the minimum
// that serves r's certificate.
func TLSConfig(r *CertReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
	}
}

// AppTLSConfigs hands out one TLS configuration per certificate pair, each
// with its own CertReloader, so that every route table built for an app's
// spec.tls carries the same configuration (the proxy compares them by
// pointer) and one reloader watches each pair. It is what turns an App's
// spec.tls into proxy.TableSpec.TLS. It is safe for concurrent use.
type AppTLSConfigs struct {
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex
	byPair map[[2]string]*tls.Config
}

// NewAppTLSConfigs returns an empty set; now is the reload checks' clock.
func NewAppTLSConfigs(now func() time.Time, log *slog.Logger) *AppTLSConfigs {
	return &AppTLSConfigs{now: now, log: log, byPair: map[[2]string]*tls.Config{}}
}

// For returns the configuration serving certFile and keyFile, loading the
// pair the first time it is asked for; an error when it does not load.
func (c *AppTLSConfigs) For(certFile, keyFile string) (*tls.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pair := [2]string{certFile, keyFile}
	if conf, ok := c.byPair[pair]; ok {
		return conf, nil
	}
	r, err := NewCertReloader(certFile, keyFile, c.now, c.log)
	if err != nil {
		return nil, err
	}
	conf := TLSConfig(r)
	c.byPair[pair] = conf
	return conf, nil
}

// newRedirectServer serves proxy.RedirectHandler, which apps' redirect
// listeners serve too, with the API's limits.
func newRedirectServer(httpsPort string, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler: proxy.RedirectHandler(httpsPort), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// errTLSPair is matched when only one of the certificate and key is given.
var errTLSPair = errors.New("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")

// apiTLS returns the API's TLS configuration, or nil when TLS is off.
func apiTLS(cfg Config, log *slog.Logger) (*tls.Config, error) {
	switch {
	case cfg.TLSCert == "" && cfg.TLSKey == "":
		if cfg.RedirectHTTP != "" {
			return nil, errors.New("redirecting HTTP to HTTPS needs TLS: set --tls-cert and --tls-key")
		}
		return nil, nil
	case cfg.TLSCert == "" || cfg.TLSKey == "":
		return nil, errTLSPair
	}
	r, err := NewCertReloader(cfg.TLSCert, cfg.TLSKey, time.Now, log)
	if err != nil {
		return nil, err
	}
	return TLSConfig(r), nil
}

// serveHTTP serves srv on ln, over TLS when srv.TLSConfig is set.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// redirector is the listener that sends plain HTTP callers to HTTPS.
type redirector struct {
	ln  net.Listener
	srv *http.Server
}

// newRedirector binds addr for redirects to httpsPort.
func newRedirector(addr, httpsPort string, log *slog.Logger) (*redirector, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP redirect listener: %w", err)
	}
	return &redirector{ln: ln, srv: newRedirectServer(httpsPort, log)}, nil
}

// Run serves redirects until ctx ends, then shuts down within timeout.
func (r *redirector) Run(ctx context.Context, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- r.srv.Serve(r.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP redirect listener: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := r.srv.Shutdown(shutCtx)
	<-errc // Serve returns ErrServerClosed once Shutdown starts
	return err
}
