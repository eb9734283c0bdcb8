package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Config is everything `sluice server` can be told.
type Config struct {
	// Listen is the API's address. Default 127.0.0.1:7070; port 0 picks a
	// free port (written to <DataDir>/server.url).
	Listen string `json:"listen"`
	// DataDir holds the store, the admin token and instance logs. Default:
	// $XDG_STATE_HOME/sluice, else ~/.local/state/sluice.
	DataDir string `json:"dataDir"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `json:"logLevel"`
	// LogFormat is json, text or auto (text on a terminal). Default auto.
	LogFormat string `json:"logFormat"`
	// MetricsListen, when set, also serves /metrics on this address.
	// Default: only on the API listener.
	MetricsListen string `json:"metricsListen"`
	// AccessLog logs every proxied request as a JSON line (msg "access")
	// on the server's log. Default off.
	AccessLog bool `json:"accessLog"`
	// ProxyNetHTTPOnly serves apps' connections with net/http's server
	// alone, a goroutine per connection, instead of the proxy's event
	// loops. Default false.
	ProxyNetHTTPOnly bool `json:"proxyNetHTTPOnly"`
	// ShutdownTimeout bounds a graceful stop. Default 10s.
	ShutdownTimeout time.Duration `json:"shutdownTimeout"`
	// TLSCert and TLSKey are PEM files of the API's certificate (chain)
	// and private key; set both to serve HTTPS (TLS 1.2 at least). The
	// files are reloaded when they change. Default: plain HTTP.
	TLSCert string `json:"tlsCert"`
	TLSKey  string `json:"tlsKey"`
	// RedirectHTTP, with TLS on, is an address whose plain HTTP requests
	// are redirected to the API's HTTPS URL. Default: none.
	RedirectHTTP string `json:"redirectHTTP"`
	// MasterKeyFile holds the secrets' master key when SLUICE_MASTER_KEY is
	// not set; made (mode 0600) on the first start. Default
	// <DataDir>/master.key.
	MasterKeyFile string `json:"masterKeyFile"`
	// Getenv reads the environment (the OTEL_* variables and
	// SLUICE_MASTER_KEY); default os.Getenv.
	Getenv func(string) string `json:"-"`
}

// getenv reads one variable through Getenv.
func (c Config) getenv(key string) string {
	if c.Getenv == nil {
		return os.Getenv(key)
	}
	return c.Getenv(key)
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:7070"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "auto"
	DefaultShutdownTimeout = 10 * time.Second
)

// Files in the data directory.
const (
	// DatabaseFile is the SQLite store.
	DatabaseFile = "sluice.db"
	// AdminTokenFile holds the admin token made on first start (mode 0600).
	AdminTokenFile = "admin.token"
	// URLFile holds the API's URL while the server runs, for the CLI.
	URLFile = "server.url"
)

// DefaultDataDir is where state lives when no directory is given.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sluice")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "sluice")
	}
	return ".sluice"
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, MasterKeyFile)
	}
	return c
}

// prepareDataDir creates the data directory (mode 0700) if needed.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return errors.New("data directory " + dir + " is not a directory")
	}
	return nil
}
