package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppServedOverTLS applies an app with spec.tls and reads its version
// over HTTPS, with the certificate the spec names; plain HTTP on
// spec.tls.redirectHTTP is redirected there, and a renewed certificate is
// served without a restart. Deleting the app closes both listeners.
func TestAppServedOverTLS(t *testing.T) {
	s := startServer(t, "")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "shop.crt"), filepath.Join(dir, "shop.key")
	writeCert(t, certFile, keyFile, "shop-1")
	listen, redirect := freePort(t), freePort(t)
	doc := strings.Replace(canaryApp(t, "shop", listen, "", 1), "  runtime:",
		fmt.Sprintf("  tls: {certFile: %q, keyFile: %q, redirectHTTP: %q}\n  runtime:", certFile, keyFile, redirect), 1)
	s.must(doc, "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))

	trusting := func() *http.Client {
		pool := x509.NewCertPool()
		b, _ := os.ReadFile(certFile)
		pool.AppendCertsFromPEM(b)
		return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	get := func() (string, string) {
		resp, err := trusting().Get("https://" + listen + "/")
		if err != nil {
			return "", err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Version string `json:"version"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return body.Version, resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	eventually(t, 10*time.Second, "the app answers over HTTPS", func() bool { v, cn := get(); return v == "v1" && cn == "shop-1" })
	if v := versionAt(listen); v != "" {
		t.Fatalf("the app answers plain HTTP too: %q", v)
	}

	// Plain HTTP on the redirect address: a 308 to the HTTPS listener with
	// the path and query kept, which a client follows to the app.
	noFollow := &http.Client{Timeout: 2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, httpsPort, _ := strings.Cut(listen, ":")
	for _, method := range []string{"GET", "POST"} {
		var code int
		var loc string
		eventually(t, 10*time.Second, method+" on the redirect address is redirected", func() bool {
			req, _ := http.NewRequest(method, "http://"+redirect+"/cart?item=7", strings.NewReader("x"))
			req.Host = "shop.example:80"
			resp, err := noFollow.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			code, loc = resp.StatusCode, resp.Header.Get("Location")
			return true
		})
		if want := "https://shop.example:" + httpsPort + "/cart?item=7"; code != http.StatusPermanentRedirect || loc != want {
			t.Fatalf("%s on the redirect address: %d %q, want 308 %q", method, code, loc, want)
		}
	}
	resp, err := trusting().Get("http://" + redirect + "/")
	if err != nil {
		t.Fatalf("following the redirect: %v", err)
	}
	var body struct {
		Version string `json:"version"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if body.Version != "v1" || resp.TLS == nil || resp.Request.URL.String() != "https://"+listen+"/" {
		t.Fatalf("the redirect led to %s (TLS %v), version %q", resp.Request.URL, resp.TLS != nil, body.Version)
	}

	writeCert(t, certFile, keyFile, "shop-2")
	eventually(t, 15*time.Second, "the renewed certificate is served", func() bool { v, cn := get(); return v == "v1" && cn == "shop-2" })

	s.must("", "delete", "app", "shop")
	for _, addr := range []string{listen, redirect} {
		eventually(t, 15*time.Second, addr+" is closed with the app", func() bool {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
			}
			return err != nil
		})
	}
}
