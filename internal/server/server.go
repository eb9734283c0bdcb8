package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"sluice.dev/sluice/internal/api"
	"sluice.dev/sluice/internal/audit"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/internal/store/sqlite"
	"sluice.dev/sluice/internal/telemetry"
	"sluice.dev/sluice/pkg/apiv1"
)

// Timeouts of the API listener.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = time.Minute // event streams lift it for themselves
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Run starts sluice with cfg, logs to logOut, and serves until ctx ends;
// then it stops gracefully. It returns the first error that stopped it.
func Run(ctx context.Context, cfg Config, logOut io.Writer, version apiv1.VersionInfo) error {
	started := time.Now()
	cfg = cfg.withDefaults()
	log, err := telemetry.NewLogger(logOut, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, DatabaseFile))
	if err != nil {
		return err
	}
	defer db.Close()
	reg := telemetry.NewRegistry(version)
	st := store.Instrument(db, reg)
	tracing, err := telemetry.NewTracing(ctx, cfg.getenv, version)
	if err != nil {
		return err
	}
	defer shutdownTracing(tracing, log)

	tokens := auth.NewTokens(st, time.Now)
	if err := ensureAdminToken(ctx, tokens, cfg.DataDir, log); err != nil {
		return err
	}
	secretSvc, keyRotator, err := openSecrets(ctx, st, cfg.getenv, cfg.MasterKeyFile, log)
	if err != nil {
		return err
	}
	tlsConf, err := apiTLS(cfg, log)
	if err != nil {
		return err
	}
	res := resources.New(st)
	reg.MustRegister(newRolloutCollector(res, log))
	counters := newEventCounters(res, reg, log)
	access := newAccessLog(cfg.AccessLog, log, logOut)
	defer access.close() // after the proxy stopped: its last lines
	rollouts, err := newRolloutServer(res, newMeasurementCounter(st, reg), cfg.DataDir, reg, log, secretSvc, tracing.Active(), proxy.Options{
		Spans: tracing.Proxy, AccessLog: access.hook, DisableEventLoops: cfg.ProxyNetHTTPOnly,
	})
	if err != nil {
		return err
	}
	flagSrv, err := newFlagServer(ctx, res, cfg.DataDir, log, reg)
	if err != nil {
		return err
	}
	sdkKeys := newSDKKeyCache(tokens, time.Now)
	late := &lateHandler{}
	dashboard, err := dashboardRoutes(late, log, version.Version)
	if err != nil {
		return err
	}
	handler := api.New(api.Options{
		Resources: res,
		Auth:      sdkKeys,
		Tokens:    sdkKeys,
		Logger:    log,
		Version:   version,
		StartedAt: started,
		Ready:     append([]api.ReadyCheck{{Name: "store", Check: st.Ping}}, rollouts.readyChecks()...),
		Logs:      rollouts.process.Logs(),

		Measurements: storeMeasurements{st},
		Traffic:      proxyTraffic{rollouts.proxy},

		Metrics:        reg,
		MetricsHandler: telemetry.MetricsHandler(reg),
		TracerProvider: tracing.Active(),
		Propagator:     tracing.Propagator,

		Flags: flagSrv.feed,
		Extra: append(flagSrv.routes(), dashboard...),

		Secrets:   secretSvc,
		MasterKey: keyRotator,
		Audit:     audit.New(st, time.Now),
	})

	late.h = handler

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("API listener: %w", err)
	}
	url := "http://" + ln.Addr().String()
	var redirect *redirector
	if tlsConf != nil {
		url = "https://" + ln.Addr().String()
		if cfg.RedirectHTTP != "" {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			if redirect, err = newRedirector(cfg.RedirectHTTP, port, log); err != nil {
				ln.Close()
				return err
			}
		}
	}
	var metricsLn *metricsListener
	if cfg.MetricsListen != "" {
		if metricsLn, err = newMetricsListener(cfg.MetricsListen, telemetry.MetricsHandler(reg), log); err != nil {
			ln.Close()
			return err
		}
	}
	urlFile := filepath.Join(cfg.DataDir, URLFile)
	if err := writePrivate(urlFile, url+"\n"); err != nil {
		ln.Close()
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	defer os.Remove(urlFile)

	srv := &http.Server{
		Handler: handler, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx },
		TLSConfig:   tlsConf,
	}
	srv.RegisterOnShutdown(flagSrv.ofrep.CloseStreams)
	log.Info("sluice is listening", "url", url, "data_dir", cfg.DataDir, "version", version.Version)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return flagSrv.Run(gctx) })
	g.Go(func() error { return rollouts.Run(gctx) })
	g.Go(func() error { return counters.Run(gctx) })
	g.Go(func() error {
		if err := serveHTTP(srv, ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("API server: %w", err)
		}
		return nil
	})
	if redirect != nil {
		g.Go(func() error { return redirect.Run(gctx, cfg.ShutdownTimeout) })
	}
	if metricsLn != nil {
		g.Go(func() error { return metricsLn.Run(gctx, cfg.ShutdownTimeout) })
	}
	g.Go(func() error {
		<-gctx.Done()
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		log.Info("sluice is stopping")
		return srv.Shutdown(shutCtx)
	})
	err = g.Wait()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // a part stopped mid-operation by the stop asked for
	}
	log.Info("sluice stopped")
	return err
}

// ensureAdminToken makes the first admin token when the store has none, and
// writes it to the data directory for the local CLI.
func ensureAdminToken(ctx context.Context, tokens *auth.Tokens, dataDir string, log *slog.Logger) error {
	exists, err := tokens.Any(ctx)
	if err != nil {
		return err
	}
	if exists {
		return nil
	}
	secret, _, err := tokens.Create(ctx, auth.NewToken{Name: "admin", Role: auth.RoleAdmin})
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, AdminTokenFile)
	if err := writePrivate(path, secret+"\n"); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	log.Info("created the admin API token", "file", path)
	return nil
}

// writePrivate writes a file that only its owner may read, whatever mode
// an older copy had.
func writePrivate(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

// shutdownTracing flushes the spans still buffered, briefly.
func shutdownTracing(t *telemetry.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("flush traces", "error", err)
	}
}
