package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/internal/server"
)

// defaultHealthTimeout bounds one health check.
const defaultHealthTimeout = 3 * time.Second

func (a *app) healthcheckCommand() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Check that the local server is alive; exit 0 when it is, 1 when not",
		Long: `Check that a sluice server answers its liveness probe: GET the URL and exit 0
on 200, 1 on anything else (another status, no answer, a timeout).

It needs no shell and no curl, so a container image without either can use
it, for example as a Dockerfile HEALTHCHECK:

  HEALTHCHECK CMD ["/usr/local/bin/sluice", "healthcheck"]

The default URL is the liveness probe of the server in the same container or
on the same machine: http://HOST:PORT/livez, where HOST:PORT is SLUICE_LISTEN
(an unspecified host such as 0.0.0.0 means the loopback address), else
` + server.DefaultListen + `. Use --url http://127.0.0.1:7070/readyz to check readiness
instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = livezURL(first(a.getenv("SLUICE_LISTEN"), server.DefaultListen))
			}
			if timeout <= 0 {
				return usagef("--timeout must be positive, got %s", timeout)
			}
			if err := probe(cmd.Context(), url, timeout); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "ok: %s\n", url)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "the URL to GET (default: /livez of the server at SLUICE_LISTEN, else "+server.DefaultListen+")")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultHealthTimeout, "how long to wait for the answer")
	return cmd
}

// livezURL turns a listen address into the URL of its liveness probe as seen
// from the same host: an unspecified or empty host becomes the loopback
// address of the same family.
func livezURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen + "/livez"
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/livez"
}

// probe GETs url and succeeds only on 200 OK within timeout. It ignores any
// proxy settings in the environment: the target is local.
func probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usagef("health check URL %q: %v", url, err)
	}
	c := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
