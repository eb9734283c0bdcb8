package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// randomValue is a secret value no test run has seen before.
func randomValue(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// call sends a request with a token (none when "") and returns the status.
func (s *server) call(method, path, token string) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// auditEntries reads the audit log about resource.
func (s *server) auditEntries(resource string) []apiv1.AuditEntry {
	s.t.Helper()
	list, err := s.client().Audit(s.t.Context(), client.AuditQuery{Resource: resource})
	if err != nil {
		s.t.Fatal(err)
	}
	return list
}

// audited fails the test unless the log has an entry with this status,
// actor and action about resource.
func (s *server) audited(status int, actor, action, resource string) {
	s.t.Helper()
	for _, e := range s.auditEntries(resource) {
		if e.Status == status && e.Actor == actor && e.Action == action && e.Resource == resource && e.Source == "127.0.0.1" {
			return
		}
	}
	s.t.Fatalf("no audit entry %d by %q for %s on %s in\n%s", status, actor, action, resource, s.must("", "audit"))
}

func TestRefusalsAreAnsweredAndAudited(t *testing.T) {
	s := startServer(t, "")
	c := s.client()
	token := func(name, role, env, expires string) string {
		t.Helper()
		created, err := c.CreateToken(t.Context(), apiv1.TokenRequest{Name: name, Role: role, Env: env, ExpiresIn: expires})
		if err != nil {
			t.Fatal(err)
		}
		return created.Secret
	}
	sdk, viewer, deployer := token("web", "sdk", "production", ""), token("auditor", "viewer", "", ""), token("ci", "deployer", "", "")
	revoked, brief := token("leaver", "admin", "", ""), token("brief", "admin", "", "200ms")
	if err := c.RevokeToken(t.Context(), "leaver"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSecret(t.Context(), "hello/db", map[string]string{"password": randomValue("pw")}); err != nil {
		t.Fatal(err)
	}

	if got := s.call("GET", "/api/v1/apps", ""); got != 401 {
		t.Fatalf("no token: %d", got)
	}
	s.audited(401, "", "GET /api/v1/{kind}", "apps")

	eventually(t, 10*time.Second, "the brief token expires", func() bool { return s.call("GET", "/api/v1/events", brief) == 401 })
	s.audited(401, "", "GET /api/v1/events", "events")

	if got := s.call("GET", "/api/v1/secrets", revoked); got != 401 {
		t.Fatalf("revoked token: %d", got)
	}
	s.audited(401, "", "GET /api/v1/secrets", "secrets")

	if got := s.call("GET", "/api/v1/tokens", sdk); got != 403 {
		t.Fatalf("sdk key on the admin API: %d", got)
	}
	s.audited(403, "web", "GET /api/v1/tokens", "tokens")

	if r := s.sluice("", "rollout", "promote", "shop", "--token", viewer); r.code != 1 || !strings.Contains(r.stderr, "Forbidden") {
		t.Fatalf("viewer promote: %+v", r)
	}
	s.audited(403, "auditor", "POST /api/v1/apps/{name}/rollout/{action}", "apps/shop/rollout/promote")
	if r := s.sluice(appDoc("shop", freePort(t), "v1"), "apply", "-f", "-", "--token", viewer); r.code != 1 || !strings.Contains(r.stderr, "Forbidden") {
		t.Fatalf("viewer apply: %+v", r)
	}
	s.audited(403, "auditor", "POST /api/v1/apply", "apply")

	if r := s.sluice("", "secrets", "get", "hello/db", "--reveal", "--token", deployer); r.code != 1 || !strings.Contains(r.stderr, "Forbidden") {
		t.Fatalf("deployer reveal: %+v", r)
	}
	s.audited(403, "ci", "GET /api/v1/secrets/data", "secrets/hello/db")
	masked := s.must("", "secrets", "get", "hello/db", "--token", deployer)
	if !strings.Contains(masked, "password   ********") {
		t.Fatalf("deployer get (masked):\n%s", masked)
	}

	// Only admins read the audit log, and nothing can change it.
	if r := s.sluice("", "audit", "--token", viewer); r.code != 1 || !strings.Contains(r.stderr, "Forbidden") {
		t.Fatalf("viewer audit: %+v", r)
	}
	for _, m := range []string{"DELETE", "PUT", "POST"} {
		if got := s.call(m, "/api/v1/audit", s.token); got < 400 {
			t.Errorf("%s /api/v1/audit: %d; the log must offer no way to change it", m, got)
		}
	}
	table := s.must("", "audit", "--since", "1h", "--resource", "secrets")
	if !strings.Contains(table, "TIME") || !strings.Contains(table, "secrets/hello/db") || strings.Contains(table, "apps") {
		t.Fatalf("audit table:\n%s", table)
	}
	var list apiv1.AuditList
	if err := json.Unmarshal([]byte(s.must("", "audit", "-o", "json", "--limit", "3")), &list); err != nil || len(list.Items) != 3 {
		t.Fatalf("audit -o json --limit 3: %+v, %v", list, err)
	}
	for _, tok := range []string{sdk, viewer, deployer, revoked, brief, s.token} {
		if strings.Contains(s.logs.String(), tok) {
			t.Fatal("a token's secret reached the server log")
		}
	}
}

func TestSecretsThroughTheCLI(t *testing.T) {
	s := startServer(t, "")
	first, second := randomValue("first"), randomValue("second")
	out := s.must("password="+first+"\n# the user\nuser=web\n", "secrets", "put", "shop/db", "--from-file", "-")
	if out != "secret shop/db version 1 written\n" {
		t.Fatalf("put: %q", out)
	}
	s.must("", "secrets", "put", "shop/db", "password="+second, "user=web")
	if out := s.must("", "secrets", "get", "shop/db"); strings.Contains(out, first) || strings.Contains(out, second) ||
		!strings.Contains(out, "shop/db version 2") || !strings.Contains(out, "********") {
		t.Fatalf("masked get:\n%s", out)
	}
	if out := s.must("", "secrets", "get", "shop/db", "--reveal", "--version", "1"); !strings.Contains(out, first) {
		t.Fatalf("reveal version 1:\n%s", out)
	}
	var sec apiv1.Secret
	json.Unmarshal([]byte(s.must("", "secrets", "get", "shop/db", "--reveal", "-o", "json")), &sec)
	if sec.Data["password"] != second || sec.Version != 2 {
		t.Fatalf("reveal -o json: %+v", sec)
	}
	s.must("", "secrets", "rollback", "shop/db", "1")
	if out := s.must("", "secrets", "versions", "shop/db"); !strings.Contains(out, "rollback to version 1") || !strings.Contains(out, "admin") {
		t.Fatalf("versions:\n%s", out)
	}
	if out := s.must("", "secrets", "list"); !strings.Contains(out, "shop/db") || !strings.Contains(out, "3") {
		t.Fatalf("list:\n%s", out)
	}
	s.must("", "secrets", "put", "gone/soon", "k="+randomValue("gone"))
	s.must("", "secrets", "rm", "gone/soon")
	if r := s.sluice("", "secrets", "get", "gone/soon"); r.code != 1 || !strings.Contains(r.stderr, "Not Found") {
		t.Fatalf("get after rm: %+v", r)
	}

	// An app gets the value in its env when its instance starts; the
	// stored spec and revision keep only the reference.
	listen := freePort(t)
	s.must(secretApp(t, "shop", listen), "apply", "-f", "-")
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	if got := versionAt(listen); got != first {
		t.Fatalf("the instance's VERSION is %q, want the secret's value", got)
	}
	for _, args := range [][]string{{"get", "apps", "shop", "-o", "json"}, {"history", "shop", "-o", "json"}, {"events", "-o", "json"}} {
		if out := s.must("", args...); strings.Contains(out, first) || strings.Contains(out, second) {
			t.Fatalf("sluice %v shows a secret value:\n%s", args, out)
		}
	}
	revs, err := s.client().Revisions(t.Context(), "shop")
	if b, _ := json.Marshal(revs); err != nil || !bytes.Contains(b, []byte("shop/db")) || bytes.Contains(b, []byte(first)) {
		t.Fatalf("revisions: %s, %v", b, err)
	}
	if out := s.must("", "events", "-o", "json"); !strings.Contains(out, "SecretWritten") {
		t.Fatalf("no event records the secret writes:\n%s", out)
	}

	// The database files hold no value.
	raw := readDBFiles(t, s.dataDir)
	if !bytes.Contains(raw, []byte("shop/db")) {
		t.Fatal("the search is blind: the secret's path is not in the database files")
	}
	for _, v := range []string{first, second} {
		if bytes.Contains(raw, []byte(v)) {
			t.Fatalf("the database files hold the value %q", v)
		}
	}

	// Rotation: the key file is replaced and a restart opens everything.
	rotated := s.must("", "secrets", "rotate-master-key")
	if !strings.Contains(rotated, "re-wrapped 3 data keys") || !strings.Contains(rotated, filepath.Join(s.dataDir, "master.key")) {
		t.Fatalf("rotate-master-key: %q", rotated)
	}
	s.stop(syscall.SIGTERM)
	logs := s.logs.String()
	s = startServer(t, s.dataDir)
	if out := s.must("", "secrets", "get", "shop/db", "--reveal"); !strings.Contains(out, first) {
		t.Fatalf("after rotation and restart:\n%s", out)
	}
	s.stop(syscall.SIGTERM)
	logs += s.logs.String()
	for _, v := range []string{first, second, s.token} {
		if strings.Contains(logs, v) {
			t.Fatalf("the server log holds %q", v)
		}
	}

	// The database alone, without its master key, opens nothing: a server
	// started on a copy refuses to run.
	stolen := t.TempDir()
	copyFile(t, filepath.Join(s.dataDir, "sluice.db"), filepath.Join(stolen, "sluice.db"))
	cmd := exec.Command(binary, "server", "--listen", "127.0.0.1:0", "--data-dir", stolen)
	cmd.Env = append(os.Environ(), "SLUICE_MASTER_KEY=")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "master key") || bytes.Contains(b, []byte(first)) {
		t.Fatalf("a server on the database alone: %v\n%s", err, b)
	}
}

// secretApp runs examples/hello with its VERSION taken from shop/db.
func secretApp(t *testing.T, name, listen string) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata: {name: %s}
spec:
  listen: %s
  runtime:
    process:
      command: [%q]
      stopGracePeriod: 3s
      env:
        - name: VERSION
          valueFrom: {secret: {path: shop/db, key: password}}
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
`, name, listen, helloBinary(t))
}

// readDBFiles returns the bytes of the store and its write-ahead log.
func readDBFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var raw []byte
	for _, name := range []string{"sluice.db", "sluice.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	return raw
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 named cn.
func writeCert(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	// The key first: a reload that sees the new certificate also sees its key.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// peerName dials addr over TLS, trusting the certificates in caFiles, and
// returns the name on the certificate served.
func peerName(t *testing.T, addr string, caFiles ...string) (string, error) {
	pool := x509.NewCertPool()
	for _, f := range caFiles {
		b, _ := os.ReadFile(f)
		pool.AppendCertsFromPEM(b)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func TestTLSAPIReloadAndRedirect(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	writeCert(t, certFile, keyFile, "first")
	firstCA := filepath.Join(dir, "first.pem")
	copyFile(t, certFile, firstCA)
	redirect := freePort(t)
	s := startServer(t, "", "--tls-cert", certFile, "--tls-key", keyFile, "--redirect-http", redirect)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("server URL %s", s.url)
	}
	s.must("", "get", "apps", "--ca-cert", firstCA)
	if r := s.sluice("", "get", "apps"); r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("an untrusted certificate was accepted: %+v", r)
	}
	apiAddr := strings.TrimPrefix(s.url, "https://")
	old := &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true} //nolint:gosec // only the version is under test
	if conn, err := tls.Dial("tcp", apiAddr, old); err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 client was served")
	}

	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Post("http://"+redirect+"/api/v1/apply?x=1", "application/yaml", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != s.url+"/api/v1/apply?x=1" {
		t.Fatalf("redirect: %d %q, want 308 to %s", resp.StatusCode, resp.Header.Get("Location"), s.url+"/api/v1/apply?x=1")
	}

	// New files are picked up without a restart.
	writeCert(t, certFile, keyFile, "second")
	eventually(t, 10*time.Second, "the new certificate is served", func() bool {
		name, err := peerName(t, apiAddr, certFile)
		return err == nil && name == "second"
	})
	if out := s.must("", "secrets", "list", "--ca-cert", certFile); !strings.Contains(out, "PATH") {
		t.Fatalf("the CLI after the reload:\n%s", out)
	}
}

func TestGuessingTokensIsThrottled(t *testing.T) {
	s := startServer(t, "")
	for i := range 10 {
		if got := s.call("GET", "/api/v1/apps", "sluice_guess"+fmt.Sprint(i)); got != 401 {
			t.Fatalf("guess %d: %d", i+1, got)
		}
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 10 failed guesses: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(s.logs.String(), "sluice_guess") {
		t.Fatal("a presented token reached the server log")
	}
}
