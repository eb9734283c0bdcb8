package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// config is what the service reads from its environment.
type config struct {
	// host and port are where it listens: HOST and PORT, default
	// 127.0.0.1:8080.
	host, port string
	// version is reported by every answer: VERSION, default "v1".
	version string
	// instance names this copy: SLUICE_INSTANCE, else the host name.
	instance string
	// revision is the sluice revision it runs as: SLUICE_REVISION, 0 when
	// not run by sluice.
	revision int
	// errorRate is the fraction of requests to / answered with 500:
	// ERROR_RATE, from 0 to 1, default 0.
	errorRate float64
	// latency is added to every request to /: LATENCY, a Go duration,
	// default 0; jitter adds up to that much more at random:
	// LATENCY_JITTER, default 0.
	latency, jitter time.Duration
	// failHealth makes /health answer 503: FAIL_HEALTH=true (or 1).
	failHealth bool
	// startDelay is waited before listening: START_DELAY, default 0.
	startDelay time.Duration
	// tick is the default interval of /events: EVENTS_INTERVAL, default 1s.
	tick time.Duration
	// shutdownTimeout bounds the wait for in-flight requests after
	// SIGTERM: SHUTDOWN_TIMEOUT, default 10s.
	shutdownTimeout time.Duration
}

// loadConfig reads the configuration through getenv (os.Getenv in main).
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		host:            orDefault(getenv("HOST"), "127.0.0.1"),
		port:            orDefault(getenv("PORT"), "8080"),
		version:         orDefault(getenv("VERSION"), "v1"),
		instance:        getenv("SLUICE_INSTANCE"),
		tick:            time.Second,
		shutdownTimeout: 10 * time.Second,
	}
	if c.instance == "" {
		c.instance, _ = os.Hostname()
	}
	var errs []error
	parse := func(name string, set func(string) error) {
		if v := getenv(name); v != "" {
			if err := set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	}
	parse("SLUICE_REVISION", func(v string) (err error) { c.revision, err = strconv.Atoi(v); return })
	parse("ERROR_RATE", func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("want a fraction from 0 to 1, such as 0.3")
		}
		c.errorRate = f
		return nil
	})
	parse("LATENCY", duration(&c.latency))
	parse("LATENCY_JITTER", duration(&c.jitter))
	parse("START_DELAY", duration(&c.startDelay))
	parse("EVENTS_INTERVAL", positiveDuration(&c.tick))
	parse("SHUTDOWN_TIMEOUT", positiveDuration(&c.shutdownTimeout))
	parse("FAIL_HEALTH", func(v string) (err error) { c.failHealth, err = strconv.ParseBool(v); return })
	if len(errs) > 0 {
		return config{}, fmt.Errorf("configuration: %v", errs)
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// duration parses a non-negative Go duration into dst.
func duration(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 250ms")
		}
		*dst = d
		return nil
	}
}

// positiveDuration parses a Go duration above zero into dst.
func positiveDuration(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 1s")
		}
		*dst = d
		return nil
	}
}
