// Command sluice ships new versions of web services and releases features
// safely. See `sluice --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"sluice.dev/sluice/internal/cli"
	"sluice.dev/sluice/pkg/apiv1"
)

// Stamped at build time with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	build := apiv1.VersionInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	code := cli.Run(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv, build)
	stop()
	os.Exit(code)
}
