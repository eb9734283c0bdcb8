package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"sluice.dev/sluice/internal/analysis/providers"
	"sluice.dev/sluice/internal/api"
	"sluice.dev/sluice/internal/health"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/rollout"
	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/runtime/process"
	"sluice.dev/sluice/internal/runtime/static"
	"sluice.dev/sluice/internal/store"
)

// LogsDir is the directory under the data directory where the process
// driver keeps instance logs, as logs/APP/REVISION/INSTANCE.log.
const LogsDir = "logs"

// rolloutServer is the part of sluice that runs apps: the runtime drivers,
// the health checker, the proxy, and the rollout controller that drives
// them from the store.
type rolloutServer struct {
	res     *resources.Service
	log     *slog.Logger
	process *process.Driver
	static  *static.Driver
	checker *health.Checker
	proxy   *proxy.Server
	ctrl    *rollout.Controller
}

// newRolloutServer wires the drivers, the checker and the proxy to a new
// controller. Instance logs go under dataDir/logs; the proxy's metrics go
// to reg. secrets resolves env secret references; nil makes apps that use
// them fail their rollouts with a clear reason. tp makes the rollout
// spans (nil: none); observe carries the proxy's own observability.
//
// Analysis measurements are taken by the builtin provider over the proxy's
// counters, or by the prometheus and webhook providers, and kept in ms.
func newRolloutServer(res *resources.Service, ms store.Store, dataDir string, reg prometheus.Registerer, log *slog.Logger, secrets rollout.SecretResolver, tp trace.TracerProvider, observe proxy.Options) (*rolloutServer, error) {
	s := &rolloutServer{res: res, log: log}
	// The drivers and the checker report to the controller, which needs
	// them to exist first; their callbacks only fire once Run runs.
	onEvent := func(ev runtime.Event) { s.ctrl.RuntimeEvent(ev) }
	var err error
	s.process, err = process.New(process.Config{LogDir: filepath.Join(dataDir, LogsDir), OnEvent: onEvent,
		BeforeStop: func(ctx context.Context, in runtime.Instance) { s.ctrl.BeforeStop(ctx, in) },
		Ready:      func(id string) bool { return s.checker.Ready(id) }})
	if err != nil {
		return nil, err
	}
	s.static = static.New(static.Config{OnEvent: onEvent})
	s.checker = health.NewChecker(health.Config{OnTransition: func(tr health.Transition) { s.ctrl.HealthTransition(tr) }})
	popts := observe // tracing and access log
	popts.Registerer, popts.Logger = reg, log.With("component", "proxy")
	popts.OnEject = func(ej proxy.Ejection) { s.ctrl.Ejected(ej) }
	s.proxy, err = proxy.New(popts)
	if err != nil {
		return nil, err
	}
	s.ctrl, err = rollout.New(rollout.Options{
		Store: res, Process: s.process, Static: s.static, Router: s.proxy, Health: s.checker,
		Secrets: secrets, Logger: log.With("component", "rollout"),
		Provider:     providers.New(providers.NewProxyCounters(s.proxy), nil),
		Measurements: ms, Counters: s.proxy,
		TLS:            NewAppTLSConfigs(time.Now, log.With("component", "app-tls")).For,
		TracerProvider: tp,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Run runs the checker, the proxy and the controller until ctx ends. On
// the way out the proxy drains its listeners before the process driver
// stops the instances, so that requests in flight finish. First it makes
// the revisions that secret changes call for but that a crash or a failed
// write left unmade.
func (s *rolloutServer) Run(ctx context.Context) error {
	s.catchUpSecretChanges(ctx)
	driverCtx, stopDrivers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDrivers()
	drivers, dctx := errgroup.WithContext(driverCtx)
	drivers.Go(func() error { return s.process.Run(dctx) })

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.checker.Run(gctx) })
	g.Go(func() error { return s.proxy.Run(gctx) })
	g.Go(func() error { return s.ctrl.Run(gctx) })
	err := g.Wait()
	stopDrivers()
	if derr := drivers.Wait(); derr != nil {
		err = errors.Join(err, fmt.Errorf("process driver: %w", derr))
	}
	return err
}

// catchUpSecretChanges makes the revisions of apps with
// rolloutOnSecretChange whose secrets changed since their latest revision:
// the API makes them when it changes a secret, and this covers a change
// whose revisions were not made then. A failure is logged; the next secret
// change or start tries again.
func (s *rolloutServer) catchUpSecretChanges(ctx context.Context) {
	made, err := s.res.RollOutSecretChanges(ctx, "")
	if err != nil {
		s.log.Error("rollout on secret change: catching up at start", "error", err)
		return
	}
	for _, m := range made {
		s.log.Info("made a revision for a secret change", "app", m.App, "revision", m.Revision)
	}
}

// readyChecks say whether the controller's loop answers, whether the
// proxy could bind every app's listener, and whether the process driver
// can start processes.
func (s *rolloutServer) readyChecks() []api.ReadyCheck {
	return []api.ReadyCheck{
		{Name: "rollout", Check: s.ctrl.Alive},
		{Name: "proxy", Check: s.ctrl.Listening},
		{Name: "runtime", Check: s.process.Alive},
	}
}

// storeMeasurements lists analysis measurements from the store, for the
// API.
type storeMeasurements struct{ st store.Store }

// ListMeasurements implements api.MeasurementLister.
func (m storeMeasurements) ListMeasurements(ctx context.Context, f store.MeasurementFilter) ([]store.Measurement, error) {
	var out []store.Measurement
	err := m.st.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ListMeasurements(ctx, f)
		return err
	})
	return out, err
}
