package cli

import (
	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

func (a *app) auditCommand() *cobra.Command {
	var q client.AuditQuery
	cmd := &cobra.Command{
		Use:   "audit [--since D] [--resource R] [--limit N]",
		Short: "Show the audit log: changes, secret reads and refused calls",
		Long: `Show the audit log, oldest first: every API call that changed something,
every read of a secret value, and every call refused for want of a valid
token or the role (401, 403) or for repeated failures (429). Each entry has
the token's name and role, the caller's address, the action (method and
route), the resource, the status, and the SHA-256 of the request body
(omitted for secret writes). Admin tokens only.`,
		Example: "  sluice audit --since 24h\n  sluice audit --resource apps/web -o json\n  sluice audit --resource secrets",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			entries, err := c.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, apiv1.AuditList{Items: entries})
			}
			t := newTable(a.io.Out, "TIME", "ACTOR", "ROLE", "SOURCE", "ACTION", "RESOURCE", "STATUS")
			for _, e := range entries {
				t.row(e.Time.Local().Format("2006-01-02 15:04:05"), dash(e.Actor), dash(e.Role), dash(e.Source), e.Action, dash(e.Resource), dash(e.Status))
			}
			return t.flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Since, "since", "", "only entries this recent: a duration (90m, 7d) or an RFC 3339 time")
	f.StringVar(&q.Resource, "resource", "", "only entries about this resource or anything under it (apps/web, secrets)")
	f.IntVar(&q.Limit, "limit", 0, "at most this many entries, the newest (default 1000)")
	return cmd
}
