package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// statusRefresh is how often a watched status is read again when no event
// arrives sooner.
const statusRefresh = 2 * time.Second

func (a *app) rolloutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Show and steer an app's rollout: status, promote, abort, undo, pause, resume, retry",
		Long: `A rollout moves an app's traffic from its stable revision to a new one.
'sluice rollout status APP' shows where it stands; the other verbs steer it.`,
	}
	cmd.AddCommand(a.rolloutStatusCommand(), a.rolloutMeasurementsCommand())
	for _, v := range []struct{ action, short, long string }{
		{apiv1.ActionPromote, "Go to the next step (skip the current pause or analysis); --full skips them all",
			"Skips the current step of the rollout: a pause, an analysis (also one paused as\ninconclusive), autoPromoteAfter or the wait for a manual promotion; it also lifts\n'rollout pause'. With --full every remaining step is skipped: the candidate is\nscaled to full size and takes all traffic."},
		{apiv1.ActionAbort, "Stop the rollout in progress; the stable revision keeps serving",
			"The candidate gets no more traffic and is stopped. Its revision is not rolled\nout again until 'sluice rollout resume' or a newer revision."},
		{apiv1.ActionUndo, "Go back to the revision that served before the last promotion",
			"While the previous revision is warm (scaleDownDelay after a promotion) traffic\nswitches back at once; later it is started first, then takes the traffic once\nhealthy. During a rollout, undo aborts it."},
		{apiv1.ActionPause, "Hold rollouts before their next step or promotion", "Rollouts take no step and are not promoted until 'sluice rollout resume'."},
		{apiv1.ActionResume, "Lift a pause (an inconclusive analysis measures again), or retry a revision that was aborted, failed or undone", ""},
		{apiv1.ActionRetry, "Roll out again, from its first step, the revision that was aborted, failed or undone", ""},
	} {
		cmd.AddCommand(a.rolloutActionCommand(v.action, v.short, v.long))
	}
	return cmd
}

func (a *app) rolloutActionCommand(action, short, long string) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:     action + " APP",
		Short:   short,
		Long:    long,
		Example: "  sluice rollout " + action + " hello",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			act := action
			if full {
				act = apiv1.ActionPromoteFull
			}
			o, err := c.Rollout(cmd.Context(), args[0], act)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, o)
			}
			st, err := statusOf(o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.io.Out, "app/%s: %s: %s\n", args[0], st.Phase, st.Message)
			return err
		},
	}
	if action == apiv1.ActionPromote {
		cmd.Flags().BoolVar(&full, "full", false, "skip every remaining step: full size, all traffic")
	}
	return cmd
}

func (a *app) rolloutStatusCommand() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "status APP",
		Short: "Show an app's rollout: phase, step, weight, revisions and their instances",
		Long: `Show where an app's rollout stands: its phase and why, the stable and candidate
revisions, the candidate's weight and step, the preview address, the revision
kept warm for undo, and every instance with its health. With --watch the view
is printed again whenever it changes, until interrupted.`,
		Example: "  sluice rollout status hello\n  sluice rollout status hello --watch",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			show := func(st apiv1.AppStatus) error {
				if format != outTable {
					return printData(a.io.Out, format, st)
				}
				return printRollout(a.io.Out, args[0], st, time.Now())
			}
			if !watch {
				st, err := c.AppStatus(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return show(st)
			}
			if format != outTable {
				err = followStatus(cmd.Context(), c, args[0], func(st apiv1.AppStatus) (bool, error) { return false, show(st) })
			} else {
				last := ""
				err = followStatus(cmd.Context(), c, args[0], func(st apiv1.AppStatus) (bool, error) {
					var b strings.Builder
					if err := printRollout(&b, args[0], st, time.Now()); err != nil {
						return false, err
					}
					view := b.String()
					if view == last {
						return false, nil // only bookkeeping changed
					}
					if last != "" {
						fmt.Fprintf(a.io.Out, "\n--- %s\n", time.Now().Format("15:04:05"))
					}
					last = view
					_, err := io.WriteString(a.io.Out, view)
					return false, err
				})
			}
			if cmd.Context().Err() != nil {
				return nil // interrupted: the normal way to stop watching
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "keep showing the status as it changes")
	return cmd
}

// followStatus calls fn with an app's status now and after every change
// (on each of its events, and every statusRefresh) until fn says it is
// done, fn fails, or ctx ends. fn is not called again with an unchanged
// status.
func followStatus(ctx context.Context, c *client.Client, app string, fn func(apiv1.AppStatus) (bool, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	watchErr := make(chan error, 1)
	go func() { // ends with ctx: this function cancels it on return
		watchErr <- c.WatchEvents(ctx, client.EventQuery{App: app, Limit: 1}, func(apiv1.Event) error {
			select {
			case changed <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	defer func() {
		cancel()
		<-watchErr
	}()
	tick := time.NewTicker(statusRefresh)
	defer tick.Stop()
	last := ""
	for {
		st, err := c.AppStatus(ctx, app)
		if err != nil {
			return err
		}
		if key := fmt.Sprintf("%+v", st); key != last {
			last = key
			done, err := fn(st)
			if done || err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-watchErr:
			return err
		case <-changed:
		case <-tick.C:
		}
	}
}

// statusOf decodes an app's status.
func statusOf(o apiv1.Object) (apiv1.AppStatus, error) {
	var st apiv1.AppStatus
	if len(o.Status) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(o.Status, &st); err != nil {
		return st, fmt.Errorf("decode the status of app %q: %w", o.Metadata.Name, err)
	}
	return st, nil
}

// printRollout renders an app's status for people.
func printRollout(w io.Writer, app string, st apiv1.AppStatus, now time.Time) error {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-11s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	strategy := st.Strategy
	if strategy == "" {
		strategy = "-"
	}
	line("App", "%s (%s)", app, strategy)
	phase := st.Phase
	if st.Reason != "" {
		phase += " (" + st.Reason + ")"
	}
	line("Phase", "%s", phase)
	if st.Message != "" {
		line("Message", "%s", st.Message)
	}
	line("Stable", "%s", revisionLabel(st, st.StableRevision))
	if st.CandidateRevision != 0 {
		step := ""
		if st.Steps > 0 {
			step = fmt.Sprintf(", step %d/%d", min(st.Step+1, st.Steps), st.Steps)
		}
		line("Candidate", "%s, weight %s%s", revisionLabel(st, st.CandidateRevision), percent(st.Weight), step)
	}
	if st.PreviewAddress != "" {
		line("Preview", "http://%s", st.PreviewAddress)
	}
	if st.PreviousRevision != 0 {
		if st.ScaleDownAt != nil {
			line("Previous", "revision %d, warm since %s, stops at %s (in %s)", st.PreviousRevision, clock(st.WarmSince),
				st.ScaleDownAt.Local().Format("15:04:05"), st.ScaleDownAt.Sub(now).Round(time.Second))
		} else {
			line("Previous", "revision %d (stopped; undo starts it first)", st.PreviousRevision)
		}
	}
	if l := st.LatestRevision; l != st.StableRevision && l != st.CandidateRevision && l <= st.RejectedRevision {
		line("Held back", "revision %d (aborted, failed or undone; 'sluice rollout retry %s' rolls it out again)", l, app)
	}
	if st.Paused {
		line("Paused", "yes ('sluice rollout resume %s' lifts it)", app)
	}
	if b := st.BlastRadius; b != nil {
		line("Blast", "revision %d served %d requests, %d errors (%s)", b.Revision, b.Requests, b.Errors, errorShare(b))
	}
	if err := printAnalyses(w, st.Analyses); err != nil {
		return err
	}
	if len(st.Revisions) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "REVISION", "ROLE", "READY", "INSTANCE", "ADDRESS", "STATE", "HEALTH", "RESTARTS", "REASON")
	for _, rs := range st.Revisions {
		ready := fmt.Sprintf("%d/%d", rs.Ready, rs.Replicas)
		if len(rs.Instances) == 0 {
			t.row(rs.Revision, rs.Role, ready, "-", "-", "-", "-", "-", "-")
		}
		for _, in := range rs.Instances {
			t.row(rs.Revision, rs.Role, ready, in.ID, in.Address, in.State, in.Health, in.Restarts, dash(in.Reason))
		}
	}
	return t.flush()
}

// revisionLabel renders "revision 2 (v2)", or "-" for none.
func revisionLabel(st apiv1.AppStatus, rev int) string {
	if rev == 0 {
		return "-"
	}
	for _, rs := range st.Revisions {
		if rs.Revision == rev && rs.Version != "" {
			return fmt.Sprintf("revision %d (%s)", rev, rs.Version)
		}
	}
	return fmt.Sprintf("revision %d", rev)
}

func clock(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("15:04:05")
}

// describeOutcome says in one line where a rollout stands.
func describeOutcome(st apiv1.AppStatus) string {
	phase := st.Phase
	if st.Reason != "" {
		phase += " (" + st.Reason + ")"
	}
	return strings.TrimSpace(phase + ": " + st.Message)
}

// errorShare renders a blast radius' error share: "0.42% errors".
func errorShare(b *apiv1.BlastRadius) string {
	if b.Requests == 0 {
		return "no requests yet"
	}
	return fmt.Sprintf("%.2f%% errors", 100*float64(b.Errors)/float64(b.Requests))
}

// printAnalyses renders the analysis runs of the latest rollout and the
// last measurement of each metric.
func printAnalyses(w io.Writer, runs []apiv1.AnalysisRun) error {
	if len(runs) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "ANALYSIS", "VERDICT", "METRIC", "MEASURED", "OK/FAIL/INCONCL/ERR", "LAST")
	for _, r := range runs {
		name := r.Kind
		if r.Kind == apiv1.AnalysisStep {
			name = fmt.Sprintf("step %d", r.Step)
		}
		if r.Attempt > 1 {
			name += fmt.Sprintf(" (#%d)", r.Attempt)
		}
		if len(r.Metrics) == 0 {
			t.row(name, r.Verdict, "-", 0, "-", dash(r.Message))
		}
		for _, m := range r.Metrics {
			last := "-"
			if m.Last != nil {
				last = m.Last.Message
				if last == "" {
					last = m.Last.Verdict
				}
				last = m.Last.At.Local().Format("15:04:05") + " " + last
			}
			verdict := m.Verdict
			if r.Verdict != apiv1.VerdictRunning {
				verdict = r.Verdict + "/" + m.Verdict
			}
			t.row(name, verdict, m.Template+"/"+m.Metric, m.Measurements,
				fmt.Sprintf("%d/%d/%d/%d", m.Successful, m.Failed, m.Inconclusive, m.Errors), last)
		}
	}
	return t.flush()
}

func (a *app) rolloutMeasurementsCommand() *cobra.Command {
	var q client.MeasurementQuery
	cmd := &cobra.Command{
		Use:   "measurements APP",
		Short: "List the analysis measurements of an app's rollouts: value, sample size, condition, verdict",
		Long: `List the stored analysis measurements of an app, oldest first: when each was
taken, its run and metric, its verdict, how many requests were behind it, and
the message with the numbers that decided it. -o json adds the raw values and
conditions.`,
		Example: "  sluice rollout measurements hello\n  sluice rollout measurements hello --candidate 3 --limit 20",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			ms, err := c.Measurements(cmd.Context(), args[0], q)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, ms)
			}
			t := newTable(a.io.Out, "TIME", "RUN", "METRIC", "VERDICT", "SAMPLE", "MESSAGE")
			for _, m := range ms {
				t.row(m.At.Local().Format("15:04:05.000"), m.Run, m.Template+"/"+m.Metric, m.Verdict, m.SampleSize, dash(m.Message))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&q.Run, "run", "", "only this analysis run (as rollout status -o json names it)")
	cmd.Flags().IntVar(&q.Candidate, "candidate", 0, "only the rollouts of this candidate revision")
	cmd.Flags().IntVar(&q.Limit, "limit", 0, "only the newest N (default and at most 1000)")
	return cmd
}
