package cli

import (
	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/client"
)

func (a *app) logsCommand() *cobra.Command {
	var q client.LogQuery
	cmd := &cobra.Command{
		Use:   "logs APP",
		Short: "Show the output of an app's instances",
		Long: `Show what an app's instances wrote to standard output and standard error, as
kept by the server (each instance keeps up to two capped files). Lines are
prefixed with their instance unless --instance names one. With -f, keep
following new output, including instances that start meanwhile.`,
		Example: "  sluice logs hello\n  sluice logs hello --revision 2 -f\n  sluice logs hello --instance hello-2-9f2c1a",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if q.Revision < 0 {
				return usagef("--revision must be a revision number")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			err = c.Logs(cmd.Context(), args[0], q, a.io.Out)
			if q.Follow && cmd.Context().Err() != nil {
				return nil // interrupted: the normal way to stop following
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&q.Revision, "revision", 0, "only this revision's instances")
	f.StringVar(&q.Instance, "instance", "", "only this instance (by ID)")
	f.BoolVarP(&q.Follow, "follow", "f", false, "keep following new output")
	return cmd
}
