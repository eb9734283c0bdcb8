package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// errNotReady makes `sluice status` exit non-zero when a check fails.
var errNotReady = errors.New("the server is not ready")

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the server's health: readiness checks, version and uptime",
		Long: `Show the server's readiness checks (the same as GET /readyz), its version and
uptime. Exits 1 when the server is unreachable or any check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if format != outTable {
				if err := printData(a.io.Out, format, st); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.io.Out, "Server:   %s\n", c.BaseURL())
				fmt.Fprintf(a.io.Out, "Version:  %s\n", describe(st.Version))
				fmt.Fprintf(a.io.Out, "Uptime:   %s (since %s)\n",
					(time.Duration(st.UptimeSeconds) * time.Second).String(), st.StartedAt.Local().Format(time.DateTime))
				fmt.Fprintf(a.io.Out, "Ready:    %s\n", st.Readiness.Status)
				t := newTable(a.io.Out, "  CHECK", "OK", "ERROR")
				for _, ch := range st.Readiness.Checks {
					t.row("  "+ch.Name, ch.OK, dash(ch.Error))
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			if st.Readiness.Status != "ok" {
				return errNotReady
			}
			return nil
		},
	}
}
