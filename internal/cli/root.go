package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// IO is where commands read and write.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// env reads an environment variable.
type env func(string) string

// app holds what every command shares.
type app struct {
	io     IO
	getenv env
	build  apiv1.VersionInfo
	conn   connFlags
	output string
}

// usageError marks errors in how a command was called.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Run executes the command line args and returns the exit code.
func Run(ctx context.Context, args []string, stdio IO, getenv func(string) string, build apiv1.VersionInfo) int {
	a := &app{io: stdio, getenv: getenv, build: build}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	printError(stdio.Err, err)
	if code, ok := exitCode(err); ok {
		return code
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFailure
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Ship new versions of web services and release features safely",
		Long: `sluice runs a new version of a service beside the old one, checks it, moves
live traffic to it step by step (canary) or at once (blue-green), and moves
traffic back by itself when the new version is worse. It also serves feature
flags over OpenFeature.

Start a server with 'sluice server', then describe apps in YAML and
'sluice apply -f app.yaml'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	a.conn.register(root)
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "", "output format: table, json or yaml (default table)")
	root.AddCommand(
		a.serverCommand(),
		a.applyCommand(),
		a.getCommand(),
		a.deleteCommand(),
		a.historyCommand(),
		a.flagsCommand(),
		a.eventsCommand(),
		a.tokensCommand(),
		a.secretsCommand(),
		a.auditCommand(),
		a.statusCommand(),
		a.rolloutCommand(),
		a.deployCommand(),
		a.logsCommand(),
		a.versionCommand(),
		a.healthcheckCommand(),
		a.demoCommand(),
	)
	return root
}

// isCobraUsage recognises cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// printError writes an error for a human: a problem from the server with
// every field error on its own line.
func printError(w io.Writer, err error) {
	var p *apiv1.Problem
	if errors.As(err, &p) {
		fmt.Fprintf(w, "Error: %s", p.Title)
		if p.Detail != "" {
			fmt.Fprintf(w, ": %s", p.Detail)
		}
		fmt.Fprintln(w)
		for _, f := range p.Errors {
			fmt.Fprintf(w, "  %s\n", f.String())
		}
		return
	}
	fmt.Fprintf(w, "Error: %v\n", err)
}
