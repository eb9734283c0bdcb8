package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppServedOverTLS applies an app with spec.tls and reads its version
// over HTTPS, with the certificate the spec names; a renewed certificate is
// served without a restart.
func TestAppServedOverTLS(t *testing.T) {
	s := startServer(t, "")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "shop.crt"), filepath.Join(dir, "shop.key")
	writeCert(t, certFile, keyFile, "shop-1")
	listen := freePort(t)
	doc := strings.Replace(canaryApp(t, "shop", listen, "", 1), "  runtime:",
		fmt.Sprintf("  tls: {certFile: %q, keyFile: %q}\n  runtime:", certFile, keyFile), 1)
	s.must(doc, "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))

	get := func() (string, string) {
		pool := x509.NewCertPool()
		b, _ := os.ReadFile(certFile)
		pool.AppendCertsFromPEM(b)
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := c.Get("https://" + listen + "/")
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
	writeCert(t, certFile, keyFile, "shop-2")
	eventually(t, 15*time.Second, "the renewed certificate is served", func() bool { v, cn := get(); return v == "v1" && cn == "shop-2" })
}
