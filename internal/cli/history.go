package cli

import (
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

func (a *app) historyCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "history APP",
		Short:   "List an app's revisions",
		Example: "  sluice history hello",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			revs, err := c.Revisions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, apiv1.RevisionList{Items: revs})
			}
			now := time.Now()
			t := newTable(a.io.Out, "REVISION", "VERSION", "AGE", "CAUSE")
			for _, r := range revs {
				t.row(r.Number, dash(r.Version), age(r.CreatedAt, now), r.Cause)
			}
			return t.flush()
		},
	}
}
