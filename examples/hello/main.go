package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("hello failed", "err", err)
		os.Exit(1)
	}
}

// run serves until SIGTERM or SIGINT, then shuts down gracefully.
func run(logger *slog.Logger) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if cfg.startDelay > 0 {
		logger.Info("waiting before listening", "startDelay", cfg.startDelay)
		select {
		case <-time.After(cfg.startDelay):
		case <-ctx.Done():
			return nil
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.host, cfg.port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serve(ctx, ln, cfg, logger)
}

// serve answers on ln until ctx is done, then stops accepting, ends event
// streams and waits up to cfg.shutdownTimeout for in-flight requests.
func serve(ctx context.Context, ln net.Listener, cfg config, logger *slog.Logger) error {
	stopping := make(chan struct{})
	srv := &http.Server{
		Handler:           newHandler(cfg, rand.Float64, stopping),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "version", cfg.version,
		"instance", cfg.instance, "revision", cfg.revision)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.shutdownTimeout)
	close(stopping)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("stopped")
	return nil
}
