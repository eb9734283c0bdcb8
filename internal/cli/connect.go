package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/internal/server"
	"sluice.dev/sluice/pkg/client"
)

// connFlags say how to reach a server.
type connFlags struct {
	server  string
	token   string
	dataDir string
	caCert  string
}

func (c *connFlags) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.server, "server", "", "server URL (env SLUICE_SERVER; default: the local server's URL from the data directory, else http://"+server.DefaultListen+")")
	f.StringVar(&c.token, "token", "", "API token (env SLUICE_TOKEN; default: the admin token in the data directory)")
	f.StringVar(&c.dataDir, "data-dir", "", "data directory (env SLUICE_DATA_DIR; default "+server.DefaultDataDir()+")")
	f.StringVar(&c.caCert, "ca-cert", "", "PEM certificates to trust for an https server, besides the system's (env SLUICE_CA_CERT)")
}

// dataDir resolves the data directory: flag, environment, default.
func (a *app) dataDir() string {
	if a.conn.dataDir != "" {
		return a.conn.dataDir
	}
	if d := a.getenv("SLUICE_DATA_DIR"); d != "" {
		return d
	}
	return server.DefaultDataDir()
}

// client builds an API client from flags, environment and the local data
// directory, in that order.
func (a *app) client() (*client.Client, error) {
	url := first(a.conn.server, a.getenv("SLUICE_SERVER"))
	if url == "" {
		b, err := os.ReadFile(filepath.Join(a.dataDir(), server.URLFile))
		switch {
		case err == nil:
			url = strings.TrimSpace(string(b))
		case errors.Is(err, fs.ErrNotExist):
			url = "http://" + server.DefaultListen
		default:
			return nil, fmt.Errorf("read the server's URL: %w", err)
		}
	}
	token := first(a.conn.token, a.getenv("SLUICE_TOKEN"))
	if token == "" {
		b, err := os.ReadFile(filepath.Join(a.dataDir(), server.AdminTokenFile))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read the admin token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if ca := first(a.conn.caCert, a.getenv("SLUICE_CA_CERT")); ca != "" {
		hc, err := trustingClient(ca)
		if err != nil {
			return nil, err
		}
		return client.New(url, token, client.WithHTTPClient(hc))
	}
	return client.New(url, token)
}

// trustingClient is an HTTP client that also trusts the certificates in
// the PEM file caFile.
func trustingClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificates: no PEM certificate in %s", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// connect is how most commands start: the checked output format and a
// client of the server.
func (a *app) connect() (string, *client.Client, error) {
	format, err := a.format()
	if err != nil {
		return "", nil, err
	}
	c, err := a.client()
	return format, c, err
}
