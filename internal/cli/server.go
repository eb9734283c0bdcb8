package cli

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"sluice.dev/sluice/internal/server"
)

// fileConfig is the optional configuration file of `sluice server`.
type fileConfig struct {
	Listen          string `json:"listen"`
	DataDir         string `json:"dataDir"`
	LogLevel        string `json:"logLevel"`
	LogFormat       string `json:"logFormat"`
	AccessLog       *bool  `json:"accessLog"`
	ProxyEventLoops *bool  `json:"proxyEventLoops"`
	MetricsListen   string `json:"metricsListen"`
	ShutdownTimeout string `json:"shutdownTimeout"`
	TLSCert         string `json:"tlsCert"`
	TLSKey          string `json:"tlsKey"`
	RedirectHTTP    string `json:"redirectHTTP"`
	MasterKeyFile   string `json:"masterKeyFile"`
}

func (a *app) serverCommand() *cobra.Command {
	var listen, logLevel, logFormat, configFile string
	var accessLog, eventLoops bool
	var metricsListen string
	var tlsCert, tlsKey, redirectHTTP, masterKeyFile string
	var shutdown time.Duration
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the sluice server",
		Long: `Run the sluice server: the API, the store and everything that ships apps.

Settings come from flags, else SLUICE_* environment variables, else the
configuration file (--config, YAML with the keys listen, dataDir, logLevel,
logFormat, metricsListen, accessLog, proxyEventLoops, shutdownTimeout,
tlsCert, tlsKey, redirectHTTP, masterKeyFile),
else the defaults shown.

Secrets are sealed under a master key taken from SLUICE_MASTER_KEY (base64
of 32 bytes), else from the master key file, made on the first start.

On its first start the server creates an admin API token and writes it to
<data-dir>/admin.token (mode 0600); the CLI on the same machine finds it there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var file fileConfig
			if path := first(configFile, a.getenv("SLUICE_CONFIG")); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("config file: %w", err)
				}
				if err := yaml.UnmarshalStrict(b, &file); err != nil {
					return fmt.Errorf("config file %s: %w", path, err)
				}
			}
			cfg := server.Config{
				Listen:    a.setting(cmd, "listen", listen, "SLUICE_LISTEN", file.Listen),
				DataDir:   a.setting(cmd, "data-dir", a.conn.dataDir, "SLUICE_DATA_DIR", file.DataDir),
				LogLevel:  a.setting(cmd, "log-level", logLevel, "SLUICE_LOG_LEVEL", file.LogLevel),
				LogFormat: a.setting(cmd, "log-format", logFormat, "SLUICE_LOG_FORMAT", file.LogFormat),
				Getenv:    a.getenv,

				TLSCert:       a.setting(cmd, "tls-cert", tlsCert, "SLUICE_TLS_CERT", file.TLSCert),
				TLSKey:        a.setting(cmd, "tls-key", tlsKey, "SLUICE_TLS_KEY", file.TLSKey),
				RedirectHTTP:  a.setting(cmd, "redirect-http", redirectHTTP, "SLUICE_REDIRECT_HTTP", file.RedirectHTTP),
				MasterKeyFile: a.setting(cmd, "master-key-file", masterKeyFile, "SLUICE_MASTER_KEY_FILE", file.MasterKeyFile),
			}
			cfg.MetricsListen = a.setting(cmd, "metrics-listen", metricsListen, "SLUICE_METRICS_LISTEN", file.MetricsListen)
			var err error
			if cfg.AccessLog, err = a.boolSetting(cmd, "access-log", accessLog, "SLUICE_ACCESS_LOG", file.AccessLog); err != nil {
				return err
			}
			loops, err := a.boolSetting(cmd, "proxy-event-loops", eventLoops, "SLUICE_PROXY_EVENT_LOOPS", file.ProxyEventLoops)
			if err != nil {
				return err
			}
			cfg.ProxyNetHTTPOnly = !loops
			st := a.setting(cmd, "shutdown-timeout", shutdown.String(), "SLUICE_SHUTDOWN_TIMEOUT", file.ShutdownTimeout)
			d, err := time.ParseDuration(st)
			if err != nil {
				return usagef("shutdown timeout %q: %v", st, err)
			}
			cfg.ShutdownTimeout = d
			return server.Run(cmd.Context(), cfg, a.io.Err, a.build)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", server.DefaultListen, "API address host:port (env SLUICE_LISTEN)")
	f.StringVar(&logLevel, "log-level", server.DefaultLogLevel, "debug, info, warn or error (env SLUICE_LOG_LEVEL)")
	f.StringVar(&logFormat, "log-format", server.DefaultLogFormat, "json, text, or auto: text on a terminal (env SLUICE_LOG_FORMAT)")
	f.StringVar(&metricsListen, "metrics-listen", "", "also serve /metrics on this host:port (env SLUICE_METRICS_LISTEN)")
	f.BoolVar(&accessLog, "access-log", false, "log every proxied request as a JSON line (env SLUICE_ACCESS_LOG)")
	f.BoolVar(&eventLoops, "proxy-event-loops", true, "serve apps' plain HTTP/1.1 connections from the proxy's event loops; false: net/http only (env SLUICE_PROXY_EVENT_LOOPS)")
	f.DurationVar(&shutdown, "shutdown-timeout", server.DefaultShutdownTimeout, "how long a graceful stop may take (env SLUICE_SHUTDOWN_TIMEOUT)")
	f.StringVar(&configFile, "config", "", "YAML configuration file (env SLUICE_CONFIG)")
	f.StringVar(&tlsCert, "tls-cert", "", "PEM certificate (chain) of the API: serve HTTPS, reloading the file when it changes (env SLUICE_TLS_CERT)")
	f.StringVar(&tlsKey, "tls-key", "", "PEM private key of --tls-cert (env SLUICE_TLS_KEY)")
	f.StringVar(&redirectHTTP, "redirect-http", "", "with TLS, an address whose plain HTTP requests are redirected to HTTPS (env SLUICE_REDIRECT_HTTP)")
	f.StringVar(&masterKeyFile, "master-key-file", "", "the secrets' master key file, made on first start when SLUICE_MASTER_KEY is not set (env SLUICE_MASTER_KEY_FILE; default <data-dir>/master.key)")
	return cmd
}

// setting resolves one setting: a flag the user set, else the environment,
// else the file, else the flag's default.
func (a *app) setting(cmd *cobra.Command, flag, flagValue, envName, fileValue string) string {
	if fl := cmd.Flags().Lookup(flag); fl != nil && fl.Changed {
		return flagValue
	}
	if v := a.getenv(envName); v != "" {
		return v
	}
	if fileValue != "" {
		return fileValue
	}
	return flagValue
}

// fileBool renders an optional boolean from the config file, "" when
// the file does not set it.
func fileBool(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// boolSetting resolves a true/false setting as setting does.
func (a *app) boolSetting(cmd *cobra.Command, flag string, flagValue bool, envName string, fileValue *bool) (bool, error) {
	v := a.setting(cmd, flag, strconv.FormatBool(flagValue), envName, fileBool(fileValue))
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, usagef("%s %q: use true or false", flag, v)
	}
	return on, nil
}
