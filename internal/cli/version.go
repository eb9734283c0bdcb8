package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

// versions is what `sluice version` reports.
type versions struct {
	Client apiv1.VersionInfo  `json:"client"`
	Server *apiv1.VersionInfo `json:"server,omitempty"`
	Error  string             `json:"serverError,omitempty"`
}

func (a *app) versionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client's and the server's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := a.format()
			if err != nil {
				return err
			}
			v := versions{Client: a.build}
			if !clientOnly {
				if c, err := a.client(); err != nil {
					v.Error = err.Error()
				} else if sv, err := c.Version(cmd.Context()); err != nil {
					v.Error = err.Error()
				} else {
					v.Server = &sv
				}
			}
			if format != outTable {
				return printData(a.io.Out, format, v)
			}
			fmt.Fprintf(a.io.Out, "Client: %s\n", describe(v.Client))
			switch {
			case v.Server != nil:
				fmt.Fprintf(a.io.Out, "Server: %s\n", describe(*v.Server))
			case !clientOnly:
				fmt.Fprintf(a.io.Out, "Server: unreachable (%s)\n", v.Error)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only the client's version")
	return cmd
}

func describe(v apiv1.VersionInfo) string {
	s := v.Version
	if v.Commit != "" {
		s += " (commit " + v.Commit
		if v.Date != "" {
			s += ", built " + v.Date
		}
		s += ")"
	}
	return s + ", " + v.GoVersion
}
