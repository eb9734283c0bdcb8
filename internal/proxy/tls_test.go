package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// selfSigned makes a certificate for 127.0.0.1 and a client that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *http.Client) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "web"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestTLSListenerServesAndSwitches(t *testing.T) {
	cert, tlsClient := selfSigned(t)
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
	b := newBackend(t, "1", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Forwarded-Proto"))
	})
	spec := TableSpec{App: "web", Listen: "127.0.0.1:0", Stable: rev("1", b), TLS: conf}
	p := startProxy(t, Options{}, mustTable(t, spec))
	httpsURL := "https://" + strings.TrimPrefix(p.url("web"), "http://")
	get := func(c *http.Client, url string) (int, string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	if code, body, err := get(tlsClient, httpsURL); err != nil || code != 200 || body != "https" {
		t.Fatalf("over TLS: %d %q %v", code, body, err)
	}
	if code, _, err := get(newClient(t), p.url("web")); err == nil && code == 200 {
		t.Fatal("plain HTTP was served on a TLS listener")
	}

	// The same address without TLS: new connections are plain, the open
	// TLS connection keeps working.
	spec.TLS = nil
	if err := p.Apply(mustTable(t, spec)); err != nil {
		t.Fatal(err)
	}
	if code, body, err := get(newClient(t), p.url("web")); err != nil || code != 200 || body != "http" {
		t.Fatalf("after TLS was turned off: %d %q %v", code, body, err)
	}
	if code, body, err := get(tlsClient, httpsURL); err != nil || code != 200 || body != "https" {
		t.Fatalf("the open TLS connection after the switch: %d %q %v", code, body, err)
	}
}

func TestProxyLimitsHeaderSize(t *testing.T) {
	b := newBackend(t, "1", nil)
	p := startProxy(t, Options{MaxHeaderBytes: 4 << 10}, webTable(t, time.Second, b))
	code, _, _ := do(t, newClient(t), p.url("web"), map[string]string{"X-Big": strings.Repeat("x", 16<<10)})
	if code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB of headers: %d, want 431", code)
	}
	if code, _, _ := do(t, newClient(t), p.url("web"), nil); code != 200 {
		t.Fatalf("small headers: %d", code)
	}
}
