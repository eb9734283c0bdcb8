package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

// collection maps the names people type to API collections.
func collection(kind string) (string, error) {
	switch kind {
	case "app", "apps":
		return "apps", nil
	case "analysistemplate", "analysistemplates", "template", "templates":
		return "analysistemplates", nil
	case "flagset", "flagsets":
		return "flagsets", nil
	}
	return "", usagef("unknown resource type %q (apps, templates, flagsets)", kind)
}

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get TYPE [NAME]",
		Short: "Show apps or analysis templates",
		Long: `Show resources: 'sluice get apps', 'sluice get app NAME', 'sluice get templates'.
With -o yaml or -o json a resource is shown in full, with every default filled
in and its status.`,
		Example: "  sluice get apps\n  sluice get app hello -o yaml",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			coll, err := collection(args[0])
			if err != nil {
				return err
			}
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			var items []apiv1.Object
			if len(args) == 2 {
				o, err := c.Get(cmd.Context(), coll, args[1])
				if err != nil {
					return err
				}
				if format != outTable {
					return printData(a.io.Out, format, o)
				}
				items = []apiv1.Object{o}
			} else {
				if items, err = c.List(cmd.Context(), coll); err != nil {
					return err
				}
				if format != outTable {
					return printData(a.io.Out, format, apiv1.ObjectList{Items: items})
				}
			}
			if coll == "apps" {
				return printApps(a, items)
			}
			return printObjects(a, items)
		},
	}
}

// appSummary is the part of an app spec that tables show.
type appSummary struct {
	Listen   string `json:"listen"`
	Strategy struct {
		Canary    *json.RawMessage `json:"canary"`
		BlueGreen *json.RawMessage `json:"blueGreen"`
	} `json:"strategy"`
}

func printApps(a *app, items []apiv1.Object) error {
	if len(items) == 0 {
		fmt.Fprintln(a.io.Err, "No apps yet. Describe one in YAML and run 'sluice apply -f FILE'.")
		return nil
	}
	now := time.Now()
	t := newTable(a.io.Out, "NAME", "LISTEN", "STRATEGY", "PHASE", "STABLE", "CANDIDATE", "WEIGHT", "LATEST", "AGE")
	for _, o := range items {
		var sp appSummary
		var st apiv1.AppStatus
		_ = json.Unmarshal(o.Spec, &sp)   // a table shows what it can
		_ = json.Unmarshal(o.Status, &st) // of a spec or status it cannot read
		strategy := "canary"
		if sp.Strategy.BlueGreen != nil {
			strategy = "blueGreen"
		}
		weight := "-"
		if st.CandidateRevision != 0 {
			weight = percent(st.Weight)
		}
		t.row(o.Metadata.Name, sp.Listen, strategy, dash(st.Phase), dash(st.StableRevision), dash(st.CandidateRevision),
			weight, dash(st.LatestRevision), age(o.Metadata.CreatedAt, now))
	}
	return t.flush()
}

func printObjects(a *app, items []apiv1.Object) error {
	now := time.Now()
	t := newTable(a.io.Out, "NAME", "VERSION", "AGE")
	for _, o := range items {
		t.row(o.Metadata.Name, o.Metadata.ResourceVersion, age(o.Metadata.CreatedAt, now))
	}
	return t.flush()
}

func (a *app) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete TYPE NAME",
		Short:   "Delete an app or an analysis template",
		Example: "  sluice delete app hello",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			coll, err := collection(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.Delete(cmd.Context(), coll, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "%s/%s deleted\n", args[0], args[1])
			return nil
		},
	}
}
