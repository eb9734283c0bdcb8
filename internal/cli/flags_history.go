package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/internal/flags/edit"
	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// errRevertDeleted means a revert was asked to a version that deleted the
// FlagSet.
var errRevertDeleted = errors.New("that version deleted the FlagSet; revert to a version before it")

// versionView is one version of a FlagSet as history shows it.
type versionView struct {
	Version int64     `json:"version"`
	Action  string    `json:"action"`
	Actor   string    `json:"actor"`
	Time    time.Time `json:"time"`
	// Flags names what changed (all flags when it is not given a KEY).
	Flags []string `json:"flags,omitempty"`
	// Changes are the differences of the flag asked for.
	Changes []edit.Change `json:"changes,omitempty"`
}

func (fc *flagCmd) historyCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history [KEY]",
		Short: "List the FlagSet's versions, or one flag's changes, with who and when",
		Long: `Without KEY, list the versions of the environment's FlagSet, newest last, with
who made each and which flags it changed. With KEY, show the changes of that
flag only, field by field. Revert to a version with 'sluice flags revert VERSION'.`,
		Example: "  sluice flags history\n  sluice flags history new-checkout --limit 50",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > 999 {
				return usagef("--limit must be between 1 and 999")
			}
			format, c, err := fc.setup()
			if err != nil {
				return err
			}
			// One more than shown: the oldest is the base of the first diff.
			entries, err := c.History(cmd.Context(), client.FlagSets, fc.env, limit+1)
			if err != nil {
				return err
			}
			key := ""
			if len(args) == 1 {
				key = args[0]
			}
			views := historyViews(entries, key)
			if len(views) > limit {
				views = views[len(views)-limit:]
			}
			if format != outTable {
				return printData(fc.io.Out, format, views)
			}
			if key != "" {
				return printFlagHistory(fc.io.Out, key, fc.env, views)
			}
			t := newTable(fc.io.Out, "VERSION", "ACTION", "ACTOR", "TIME", "CHANGED")
			for _, v := range views {
				t.row(v.Version, v.Action, v.Actor, v.Time.Local().Format(time.DateTime), dash(strings.Join(v.Flags, ", ")))
			}
			return t.flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many versions to show, newest kept")
	return cmd
}

// historyViews describes each entry by its differences from the one
// before. The oldest entry is only a base unless it is version 1. With a
// key, only the versions that changed that flag are kept.
func historyViews(entries []apiv1.HistoryEntry, key string) []versionView {
	var views []versionView
	for i, e := range entries {
		var prev json.RawMessage
		if i > 0 {
			prev = entries[i-1].Spec
		} else if e.Version != 1 {
			continue
		}
		v := versionView{Version: e.Version, Action: e.Action, Actor: e.Actor, Time: e.Time}
		if key == "" {
			v.Flags = edit.ChangedFlags(prev, e.Spec)
			views = append(views, v)
			continue
		}
		if v.Changes = edit.DiffFlag(key, prev, e.Spec); len(v.Changes) > 0 {
			views = append(views, v)
		}
	}
	return views
}

// printFlagHistory writes one flag's changes, version by version.
func printFlagHistory(w io.Writer, key, env string, views []versionView) error {
	if len(views) == 0 {
		_, err := fmt.Fprintf(w, "No recorded change of %s in %s.\n", key, env)
		return err
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "version %d  %s  by %s\n", v.Version, v.Time.Local().Format(time.DateTime), v.Actor)
		for _, c := range v.Changes {
			line := c.String()
			if c.Path == "" {
				line = key + strings.TrimPrefix(line, "(all)")
			}
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	return nil
}

// diffView is a comparison of two versions.
type diffView struct {
	From    int64         `json:"from"`
	To      int64         `json:"to"`
	Changes []edit.Change `json:"changes"`
}

func (fc *flagCmd) diffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff [VERSION_A [VERSION_B]]",
		Short: "Show what changed between two versions of the FlagSet",
		Long: `Show the differences between two versions of the environment's FlagSet, field
by field. Without versions: the latest change. With one: from that version to
the latest. With two: from the first to the second.`,
		Example: "  sluice flags diff\n  sluice flags diff 3\n  sluice flags diff 3 5 -o json",
		Args:    cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			versions := make([]int64, len(args))
			for i, a := range args {
				n, err := strconv.ParseInt(a, 10, 64)
				if err != nil || n < 1 {
					return usagef("version %q is not a version number (see 'sluice flags history')", a)
				}
				versions[i] = n
			}
			format, c, err := fc.setup()
			if err != nil {
				return err
			}
			from, to, err := fc.diffEnds(cmd, c, versions)
			if err != nil {
				return err
			}
			d := diffView{From: from.Version, To: to.Version, Changes: edit.DiffDocuments(from.Spec, to.Spec)}
			if d.Changes == nil {
				d.Changes = []edit.Change{}
			}
			if format != outTable {
				return printData(fc.io.Out, format, d)
			}
			fmt.Fprintf(fc.io.Out, "--- version %d  %s  by %s\n", from.Version, from.Time.Local().Format(time.DateTime), dash(from.Actor))
			fmt.Fprintf(fc.io.Out, "+++ version %d  %s  by %s\n", to.Version, to.Time.Local().Format(time.DateTime), to.Actor)
			if len(d.Changes) == 0 {
				fmt.Fprintln(fc.io.Out, "  no differences")
			}
			for _, ch := range d.Changes {
				fmt.Fprintf(fc.io.Out, "  %s\n", ch)
			}
			return nil
		},
	}
}

// diffEnds finds the two entries a diff compares; from is empty (version
// 0) when the latest change is the first.
func (fc *flagCmd) diffEnds(cmd *cobra.Command, c *client.Client, versions []int64) (from, to apiv1.HistoryEntry, err error) {
	ctx := cmd.Context()
	if len(versions) == 2 {
		if from, err = c.HistoryVersion(ctx, client.FlagSets, fc.env, versions[0]); err != nil {
			return from, to, err
		}
		to, err = c.HistoryVersion(ctx, client.FlagSets, fc.env, versions[1])
		return from, to, err
	}
	latest, err := c.History(ctx, client.FlagSets, fc.env, 2)
	if err != nil {
		return from, to, err
	}
	if len(latest) == 0 {
		return from, to, fmt.Errorf("environment %q has no recorded versions", fc.env)
	}
	to = latest[len(latest)-1]
	if len(versions) == 1 {
		from, err = c.HistoryVersion(ctx, client.FlagSets, fc.env, versions[0])
		return from, to, err
	}
	if len(latest) == 2 {
		from = latest[0]
	}
	return from, to, nil
}

func (fc *flagCmd) revertCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revert VERSION",
		Short: "Make the FlagSet what it was at an earlier version",
		Long: `Apply the spec an earlier version of the environment's FlagSet had. It goes
through the normal apply path: it is validated, recorded as a new version with
who made it, and served to every client at once.`,
		Example: "  sluice flags history\n  sluice flags revert 3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || version < 1 {
				return usagef("version %q is not a version number (see 'sluice flags history')", args[0])
			}
			format, c, err := fc.setup()
			if err != nil {
				return err
			}
			entry, err := c.HistoryVersion(cmd.Context(), client.FlagSets, fc.env, version)
			if err != nil {
				return err
			}
			if entry.Action == apiv1.HistoryDeleted || len(entry.Spec) == 0 {
				return fmt.Errorf("version %d of %s: %w", version, fc.env, errRevertDeleted)
			}
			res, err := c.UpdateFlagSet(cmd.Context(), fc.env, func(cur json.RawMessage) (json.RawMessage, error) {
				if len(edit.DiffDocuments(cur, entry.Spec)) == 0 {
					return nil, nil
				}
				return entry.Spec, nil
			})
			if client.IsNotFound(err) { // deleted since: create it again
				res, err = c.PutFlagSet(cmd.Context(), fc.env, entry.Spec, 0, nil)
			}
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(fc.io.Out, format, res)
			}
			if res.Action == apiv1.ActionUnchanged {
				fmt.Fprintf(fc.io.Out, "%s is already as at version %d\n", fc.env, version)
				return nil
			}
			fmt.Fprintf(fc.io.Out, "%s reverted to version %d\n", fc.env, version)
			return nil
		},
	}
}
