package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

// Exit codes of 'sluice deploy --wait', so that a CI pipeline can tell a
// rollout that did not succeed from one that took too long, and both
// from a command that could not run (1) or was called wrongly (2).
const (
	// ExitRolloutFailed: the rollout was aborted, failed, undone or
	// replaced by a newer revision.
	ExitRolloutFailed = 3
	// ExitTimeout: the rollout was still in progress when --timeout
	// passed.
	ExitTimeout = 4
)

// DefaultDeployTimeout is how long 'deploy --wait' waits by default.
const DefaultDeployTimeout = 15 * time.Minute

// exitError makes a command end with a given exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// exitCode is the code an error asks for, if any.
func exitCode(err error) (int, bool) {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code, true
	}
	return 0, false
}

func (a *app) deployCommand() *cobra.Command {
	var (
		env     []string
		command string
		req     apiv1.DeployRequest
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "deploy APP",
		Short: "Make a new revision of an app without editing its YAML, and follow its rollout",
		Long: `Make a new revision of an app from its current spec with a few changes: env
values (--set-env, repeatable), the command (--command, split at spaces; it
replaces command and args) and the version label (--version). The changed spec
is stored as if applied, and the app rolls the revision out by its strategy.

With --wait, follow the rollout and exit when it ends: 0 when the revision was
promoted, 3 when the rollout was aborted, failed, undone or replaced by a newer
revision, 4 when --timeout passed first. The reason is printed either way.`,
		Example: `  sluice deploy hello --set-env VERSION=v2 --version v2 --wait
  sluice deploy hello --command "./bin/hello --verbose" --wait --timeout 5m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := a.format()
			if err != nil {
				return err
			}
			if req.Env, err = parseEnv(env); err != nil {
				return err
			}
			req.Command = strings.Fields(command)
			if cmd.Flags().Changed("command") && len(req.Command) == 0 {
				return usagef("--command: give the program to run")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Deploy(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if format != outTable {
				if err := printData(a.io.Out, format, res); err != nil {
					return err
				}
			} else if res.Applied.Action == apiv1.ActionUnchanged {
				fmt.Fprintf(a.io.Out, "app/%s unchanged: revision %d is the latest\n", args[0], res.Revision)
			} else {
				fmt.Fprintf(a.io.Out, "app/%s: revision %d created\n", args[0], res.Revision)
			}
			if !wait {
				return nil
			}
			return a.waitRollout(cmd.Context(), args[0], res.Revision, timeout, format == outTable)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&env, "set-env", nil, "set an env value, NAME=VALUE (repeatable)")
	f.StringVar(&command, "command", "", "replace the command and its args, split at spaces")
	f.StringVar(&req.Version, "version", "", "set the version label")
	f.BoolVar(&wait, "wait", false, "follow the rollout; exit 0 when promoted, 3 when it fails, 4 on timeout")
	f.DurationVar(&timeout, "timeout", DefaultDeployTimeout, "with --wait, how long to wait")
	return cmd
}

// parseEnv reads NAME=VALUE pairs.
func parseEnv(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("--set-env %q: want NAME=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}

// waitRollout follows an app's status until revision rev is promoted (nil),
// its rollout ends otherwise (ExitRolloutFailed) or timeout passes
// (ExitTimeout). With progress it prints each change of phase.
func (a *app) waitRollout(ctx context.Context, app string, rev int, timeout time.Duration, progress bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last apiv1.AppStatus
	var outcome error
	shown := ""
	err = followStatus(wctx, c, app, func(st apiv1.AppStatus) (bool, error) {
		last = st
		done, ok, why := rolloutOutcome(st, rev)
		if line := describeOutcome(st); progress && line != shown && !done {
			shown = line
			fmt.Fprintf(a.io.Err, "  %s %s\n", time.Now().Format("15:04:05"), line)
		}
		if !done {
			return false, nil
		}
		if !ok {
			outcome = exitError{ExitRolloutFailed, fmt.Errorf("revision %d of %s was not promoted: %s", rev, app, why)}
			return true, nil
		}
		fmt.Fprintf(a.io.Out, "app/%s: revision %d is promoted: %s\n", app, rev, st.Message)
		return true, nil
	})
	switch {
	case outcome != nil:
		return outcome
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return exitError{ExitTimeout, fmt.Errorf("timed out after %s waiting for revision %d of %s to be promoted; it stands at %s", timeout, rev, app, describeOutcome(last))}
	}
	return err
}

// rolloutOutcome says whether the rollout of revision rev is over and, if
// so, whether rev was promoted, and why not.
func rolloutOutcome(st apiv1.AppStatus, rev int) (done, promoted bool, why string) {
	switch {
	case st.StableRevision == rev && st.CandidateRevision == 0:
		return true, true, ""
	case st.CandidateRevision == rev:
		return false, false, ""
	case st.LatestRevision > rev || st.CandidateRevision > rev:
		return true, false, fmt.Sprintf("a newer revision (%d) replaced it", max(st.LatestRevision, st.CandidateRevision))
	case st.RejectedRevision >= rev:
		return true, false, describeOutcome(st)
	}
	return false, false, "" // not started yet
}
