package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn, and
// its key, and returns the certificate for clients to trust.
func writeCert(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// touch moves a file's modification time, so that a rewrite within the
// file system's time granularity is still seen as a change.
func touch(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// tlsServer is an HTTPS server on a free port of 127.0.0.1.
type tlsServer struct{ URL string }

// startTLS serves h with conf the way the API does (no SNI from clients
// that dial an IP address, so GetCertificate decides alone).
func startTLS(t *testing.T, conf *tls.Config, h http.Handler) tlsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: conf, ReadHeaderTimeout: time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = serveHTTP(srv, ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return tlsServer{URL: "https://" + ln.Addr().String()}
}

type certClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *certClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *certClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestCertificateReloadKeepsOpenConnections(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeCert(t, certFile, keyFile, "first")
	clock := &certClock{t: time.Now()}
	r, err := NewCertReloader(certFile, keyFile, clock.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, TLSConfig(r), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))

	pool := x509.NewCertPool()
	pool.AddCert(first)
	oldClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	peer := func(c *http.Client) string {
		t.Helper()
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if got := peer(oldClient); got != "first" {
		t.Fatalf("serving %q, want first", got)
	}

	second := writeCert(t, certFile, keyFile, "second")
	touch(t, certFile, time.Now().Add(time.Minute))
	touch(t, keyFile, time.Now().Add(time.Minute))
	// Within the check interval the files are not looked at.
	pool2 := x509.NewCertPool()
	pool2.AddCert(second)
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool2}}}
	}
	if _, err := newClient().Get(srv.URL); err == nil {
		t.Fatal("the new certificate was served before the check interval passed")
	}
	clock.advance(certCheckEvery)
	if got := peer(newClient()); got != "second" {
		t.Fatalf("after the change: serving %q, want second", got)
	}
	// The connection opened before the change still works: it is kept
	// alive with the old certificate.
	if got := peer(oldClient); got != "first" {
		t.Fatalf("the open connection now reports %q; it should have kept its handshake", got)
	}

	// A broken pair (a key being written) keeps the good certificate.
	os.WriteFile(keyFile, []byte("half a key"), 0o600)
	touch(t, keyFile, time.Now().Add(2*time.Minute))
	clock.advance(certCheckEvery)
	if got := peer(newClient()); got != "second" {
		t.Fatalf("with a broken key file: serving %q, want second", got)
	}
}

func TestTLSRefusesOldVersions(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c"), filepath.Join(dir, "k")
	cert := writeCert(t, certFile, keyFile, "x")
	r, err := NewCertReloader(certFile, keyFile, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, TLSConfig(r), http.NotFoundHandler())
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
	ok := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12}}}
	resp, err := ok.Get(srv.URL)
	if err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
	resp.Body.Close()
}

func TestCertReloaderRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c"), filepath.Join(dir, "k")
	if _, err := NewCertReloader(certFile, keyFile, time.Now, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("missing files were accepted")
	}
	writeCert(t, certFile, keyFile, "x")
	other := filepath.Join(dir, "other")
	writeCert(t, filepath.Join(dir, "c2"), other, "y")
	if _, err := NewCertReloader(certFile, other, time.Now, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a key that does not match the certificate was accepted")
	}
}

func TestAPITLSSettings(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if c, err := apiTLS(Config{}, log); c != nil || err != nil {
		t.Fatalf("no TLS: %v, %v", c, err)
	}
	for _, cfg := range []Config{{TLSCert: "c"}, {TLSKey: "k"}, {RedirectHTTP: ":80"}, {TLSCert: "/nope", TLSKey: "/nope"}} {
		if _, err := apiTLS(cfg, log); err == nil {
			t.Errorf("%+v was accepted", cfg)
		}
	}
}

func TestAppTLSConfigsShareOneConfigPerPair(t *testing.T) {
	dir := t.TempDir()
	c1, k1 := filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key")
	c2, k2 := filepath.Join(dir, "b.crt"), filepath.Join(dir, "b.key")
	writeCert(t, c1, k1, "a")
	writeCert(t, c2, k2, "b")
	set := NewAppTLSConfigs(time.Now, slog.New(slog.DiscardHandler))
	a, err := set.For(c1, k1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := set.For(c1, k1)
	b, _ := set.For(c2, k2)
	if a != again || a == b || a.MinVersion != tls.VersionTLS12 {
		t.Fatal("one configuration per pair, TLS 1.2 at least, was not kept")
	}
	if _, err := set.For(c1, k2); err == nil {
		t.Fatal("a mismatched pair loaded")
	}
}
