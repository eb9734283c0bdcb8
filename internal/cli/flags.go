package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/edit"
	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// defaultEnv is the environment flag commands work on unless told.
const defaultEnv = "production"

// flagCmd holds what every flags subcommand shares.
type flagCmd struct {
	*app
	env string
}

func (a *app) flagsCommand() *cobra.Command {
	fc := &flagCmd{app: a}
	cmd := &cobra.Command{
		Use:   "flags",
		Short: "Read, change, evaluate and revert feature flags",
		Long: `Work on the feature flags of one environment (its FlagSet, --env, default
production). Changes read the FlagSet, change one flag, and write it back only
over the version they read, retrying when someone else wrote in between, so no
change is lost. Every change is recorded with who made it: see 'flags history'
and 'flags diff', and undo one with 'flags revert'.

To write a whole flag set, use 'sluice apply -f flags.yaml' with a FlagSet.`,
		Example: `  sluice flags list
  sluice flags disable new-checkout
  sluice flags rollout new-checkout --variant on --percent 25
  sluice flags eval new-checkout --context '{"targetingKey":"u1"}'
  sluice flags history new-checkout --env staging`,
	}
	cmd.PersistentFlags().StringVar(&fc.env, "env", defaultEnv, "environment (the FlagSet's name)")
	cmd.AddCommand(
		fc.listCommand(), fc.getCommand(),
		fc.stateCommand("enable", flags.StateEnabled), fc.stateCommand("disable", flags.StateDisabled),
		fc.setDefaultCommand(), fc.rolloutCommand(), fc.evalCommand(),
		fc.historyCommand(), fc.diffCommand(), fc.revertCommand(),
	)
	return cmd
}

// flagView is one flag as the CLI shows it.
type flagView struct {
	Key            string          `json:"key"`
	State          string          `json:"state"`
	Type           string          `json:"type,omitempty"`
	DefaultVariant string          `json:"defaultVariant,omitempty"`
	Variants       map[string]any  `json:"variants"`
	Targeting      json.RawMessage `json:"targeting,omitempty"`
	Metadata       map[string]any  `json:"metadata,omitempty"`
	// Rollout describes a percentage rollout, such as "on 25%".
	Rollout string `json:"rollout,omitempty"`
}

// readFlags fetches the environment's FlagSet and describes its flags.
func (fc *flagCmd) readFlags(ctx context.Context, c *client.Client) ([]flagView, error) {
	obj, err := c.Get(ctx, client.FlagSets, fc.env)
	if client.IsNotFound(err) {
		return nil, fmt.Errorf("environment %q has no FlagSet; create one with 'sluice apply -f' (kind: FlagSet, metadata.name: %s)", fc.env, fc.env)
	}
	if err != nil {
		return nil, err
	}
	doc, err := edit.Parse(obj.Spec)
	if err != nil {
		return nil, fmt.Errorf("FlagSet %q: %w", fc.env, err)
	}
	set, _ := flags.ParseLenient(obj.Spec) // for types; a view shows what it can
	views := make([]flagView, 0, len(doc.Keys()))
	for _, key := range doc.Keys() {
		views = append(views, describeFlag(doc, set, key))
	}
	return views, nil
}

// describeFlag builds the view of one flag.
func describeFlag(doc *edit.Document, set *flags.Set, key string) flagView {
	raw, _ := doc.Flag(key)
	v := flagView{Key: key}
	v.State, _ = raw["state"].(string)
	v.DefaultVariant, _ = raw["defaultVariant"].(string)
	v.Variants, _ = raw["variants"].(map[string]any)
	v.Metadata, _ = raw["metadata"].(map[string]any)
	if t, ok := raw["targeting"]; ok && t != nil {
		v.Targeting, _ = json.Marshal(t)
	}
	if set != nil {
		if info, ok := set.Flag(key); ok {
			v.Type = string(info.Type)
		}
	}
	if variant, bp, ok := doc.RolloutOf(key); ok {
		v.Rollout = variant + " " + edit.FormatPercent(bp)
	}
	return v
}

func (fc *flagCmd) listCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the environment's flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := fc.setup()
			if err != nil {
				return err
			}
			views, err := fc.readFlags(cmd.Context(), c)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(fc.io.Out, format, views)
			}
			if len(views) == 0 {
				fmt.Fprintf(fc.io.Err, "The FlagSet of %s has no flags.\n", fc.env)
				return nil
			}
			t := newTable(fc.io.Out, "KEY", "STATE", "TYPE", "DEFAULT", "TARGETING")
			for _, v := range views {
				t.row(v.Key, v.State, dash(v.Type), dash(v.DefaultVariant), targetingSummary(v))
			}
			return t.flush()
		},
	}
}

// targetingSummary says in a word what a flag's targeting does.
func targetingSummary(v flagView) string {
	switch {
	case v.Rollout != "":
		return "rollout " + v.Rollout
	case len(v.Targeting) > 0 && string(v.Targeting) != "{}":
		return "rule"
	}
	return "-"
}

func (fc *flagCmd) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Show one flag: state, variants, default, targeting",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, c, err := fc.setup()
			if err != nil {
				return err
			}
			views, err := fc.readFlags(cmd.Context(), c)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(views, func(v flagView) bool { return v.Key == args[0] })
			if i < 0 {
				return fmt.Errorf("flag %q not found in %s", args[0], fc.env)
			}
			v := views[i]
			if format != outTable {
				return printData(fc.io.Out, format, v)
			}
			t := newTable(fc.io.Out, "Key:", v.Key)
			t.row("State:", v.State)
			t.row("Type:", dash(v.Type))
			t.row("Default:", dash(v.DefaultVariant))
			t.row("Variants:", keyValues(v.Variants))
			t.row("Targeting:", dash(string(v.Targeting)))
			if v.Rollout != "" {
				t.row("Rollout:", v.Rollout)
			}
			if len(v.Metadata) > 0 {
				t.row("Metadata:", keyValues(v.Metadata))
			}
			return t.flush()
		},
	}
}

// keyValues renders a map as `a=1, b="x"`, sorted.
func keyValues(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b, _ := json.Marshal(m[k])
		parts = append(parts, k+"="+string(b))
	}
	return strings.Join(parts, ", ")
}

// mutate changes the environment's FlagSet with fn, conditionally on the
// version read, and reports what happened.
func (fc *flagCmd) mutate(ctx context.Context, what string, fn func(*edit.Document) (bool, error)) error {
	format, c, err := fc.setup()
	if err != nil {
		return err
	}
	res, err := c.UpdateFlagSet(ctx, fc.env, func(spec json.RawMessage) (json.RawMessage, error) {
		doc, err := edit.Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("FlagSet %q: %w", fc.env, err)
		}
		changed, err := fn(doc)
		if err != nil || !changed {
			return nil, err
		}
		return doc.JSON()
	})
	if client.IsNotFound(err) {
		return fmt.Errorf("environment %q has no FlagSet; create one with 'sluice apply -f' (kind: FlagSet, metadata.name: %s)", fc.env, fc.env)
	}
	if err != nil {
		return err
	}
	if format != outTable {
		return printData(fc.io.Out, format, res)
	}
	if res.Action == apiv1.ActionUnchanged {
		fmt.Fprintf(fc.io.Out, "%s: unchanged in %s\n", what, fc.env)
		return nil
	}
	fmt.Fprintf(fc.io.Out, "%s in %s\n", what, fc.env)
	return nil
}

// setup checks the output format and connects.
func (fc *flagCmd) setup() (string, *client.Client, error) {
	format, err := fc.format()
	if err != nil {
		return "", nil, err
	}
	c, err := fc.client()
	return format, c, err
}

func (fc *flagCmd) stateCommand(verb string, state flags.State) *cobra.Command {
	short := "Serve a flag's variants again"
	if state == flags.StateDisabled {
		short = "Kill switch: stop serving a flag (clients use their code default)"
	}
	return &cobra.Command{
		Use:   verb + " KEY",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return fc.mutate(cmd.Context(), args[0]+" "+verb+"d", func(d *edit.Document) (bool, error) {
				return d.SetState(args[0], state)
			})
		},
	}
}

func (fc *flagCmd) setDefaultCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "set-default KEY VARIANT",
		Short: "Make a variant the flag's default",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return fc.mutate(cmd.Context(), fmt.Sprintf("%s defaults to %s", args[0], args[1]), func(d *edit.Document) (bool, error) {
				return d.SetDefault(args[0], args[1])
			})
		},
	}
}

func (fc *flagCmd) rolloutCommand() *cobra.Command {
	var variant, percent string
	var replace bool
	cmd := &cobra.Command{
		Use:   "rollout KEY --variant V --percent P",
		Short: "Serve a variant to a percentage of users, the default to the rest",
		Long: `Write a fractional rule that serves VARIANT to P percent of users (0 to 100,
down to 0.01) and the flag's default variant to the others. A user's share is
fixed by the hash of the flag key and their targeting key, as in flagd: raising
the percentage later only adds users, and nobody who has the variant loses it.
A flag whose targeting is another rule is left alone unless --replace is given.`,
		Example: "  sluice flags rollout new-checkout --variant on --percent 5\n  sluice flags rollout new-checkout --variant on --percent 100",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if variant == "" || percent == "" {
				return usagef("rollout needs --variant and --percent")
			}
			bp, err := edit.ParsePercent(percent)
			if err != nil {
				return usageError{err}
			}
			what := fmt.Sprintf("%s rolls out %s to %s", args[0], variant, edit.FormatPercent(bp))
			return fc.mutate(cmd.Context(), what, func(d *edit.Document) (bool, error) {
				changed, err := d.Rollout(args[0], variant, bp, replace)
				if errors.Is(err, edit.ErrNotARollout) {
					return false, fmt.Errorf("%w (pass --replace to overwrite it)", err)
				}
				if err == nil {
					fc.warnIfDisabled(d, args[0])
				}
				return changed, err
			})
		},
	}
	cmd.Flags().StringVar(&variant, "variant", "", "the variant to roll out")
	cmd.Flags().StringVar(&percent, "percent", "", "the share of users who get it, 0 to 100")
	cmd.Flags().BoolVar(&replace, "replace", false, "overwrite targeting that is not a rollout")
	return cmd
}

// warnIfDisabled tells the user that a rollout of a disabled flag serves
// nothing yet.
func (fc *flagCmd) warnIfDisabled(d *edit.Document, key string) {
	if f, err := d.Flag(key); err == nil && f["state"] == string(flags.StateDisabled) {
		fmt.Fprintf(fc.io.Err, "Note: %s is disabled; 'sluice flags enable %s' serves the rollout.\n", key, key)
	}
}

func (fc *flagCmd) evalCommand() *cobra.Command {
	var contextJSON string
	cmd := &cobra.Command{
		Use:     "eval KEY [--context JSON]",
		Short:   "Evaluate a flag for a context, as the environment's SDKs would",
		Example: `  sluice flags eval new-checkout --context '{"targetingKey":"user-1","email":"kim@example.com"}'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var evalCtx map[string]any
			if err := json.Unmarshal([]byte(contextJSON), &evalCtx); err != nil || evalCtx == nil {
				return usagef("--context must be a JSON object, such as '{\"targetingKey\":\"user-1\"}'")
			}
			format, c, err := fc.setup()
			if err != nil {
				return err
			}
			ev, err := c.EvaluateFlag(cmd.Context(), fc.env, args[0], evalCtx)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(fc.io.Out, format, ev)
			}
			value := "(none: clients use their code default)"
			if ev.Value != nil {
				b, _ := json.Marshal(ev.Value)
				value = string(b)
			}
			t := newTable(fc.io.Out, "KEY", "VALUE", "VARIANT", "REASON")
			t.row(ev.Key, value, dash(ev.Variant), ev.Reason)
			if err := t.flush(); err != nil {
				return err
			}
			if ev.ErrorCode != "" {
				fmt.Fprintf(fc.io.Out, "%s: %s\n", ev.ErrorCode, ev.ErrorMessage)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&contextJSON, "context", "{}", "the evaluation context, a JSON object with an optional targetingKey")
	return cmd
}
