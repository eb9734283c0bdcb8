package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

func (a *app) eventsCommand() *cobra.Command {
	var q client.EventQuery
	var watch bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the event log, or follow it",
		Long: `Show recent events, oldest first. With --watch, keep following: new events
print as they happen (as JSON lines with -o json), and a dropped connection
is resumed without losing any.`,
		Example: "  sluice events --app hello\n  sluice events --watch -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			if watch {
				print := a.eventPrinter(format)
				err := c.WatchEvents(cmd.Context(), q, print)
				if cmd.Context().Err() != nil {
					return nil // interrupted: a normal way to stop watching
				}
				return err
			}
			evs, err := c.Events(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, apiv1.EventList{Items: evs})
			}
			print := a.eventPrinter(format)
			for _, e := range evs {
				if err := print(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.App, "app", "", "only this app's events")
	f.IntVar(&q.Limit, "limit", 0, "at most this many past events (1-1000)")
	f.BoolVarP(&watch, "watch", "w", false, "keep following new events")
	return cmd
}

// eventPrinter prints one event per line: a readable line, or JSON.
func (a *app) eventPrinter(format string) func(apiv1.Event) error {
	return func(e apiv1.Event) error {
		if format == outTable {
			app := e.App
			if app == "" {
				app = "-"
			}
			_, err := fmt.Fprintf(a.io.Out, "%s  %-7s  %-12s  %-16s  %s\n",
				e.Time.Local().Format("2006-01-02 15:04:05"), e.Type, app, e.Reason, e.Message)
			return err
		}
		if format == outJSON {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.io.Out, "%s\n", b)
			return err
		}
		if _, err := fmt.Fprintln(a.io.Out, "---"); err != nil {
			return err
		}
		return printData(a.io.Out, outYAML, e)
	}
}
