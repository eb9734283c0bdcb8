package rollout

import (
	"crypto/tls"
	"errors"
	"testing"

	"sluice.dev/sluice/internal/proxy"
	"sluice.dev/sluice/internal/spec"
)

func TestTablesCarryTheAppsTLS(t *testing.T) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	var asked [2]string
	c := &Controller{opts: Options{TLS: func(cert, key string) (*tls.Config, error) {
		asked = [2]string{cert, key}
		if cert == "missing.pem" {
			return nil, errors.New("open missing.pem: no such file")
		}
		return conf, nil
	}}}
	ts := &proxy.TableSpec{App: "web", Listen: "127.0.0.1:8443"}
	if got, err := c.withTLS(ts, nil); err != nil || got.TLS != nil {
		t.Fatalf("without spec.tls: %v, %v", got.TLS, err)
	}
	got, err := c.withTLS(ts, &spec.AppTLS{CertFile: "cert.pem", KeyFile: "key.pem"})
	if err != nil || got.TLS != conf || asked != [2]string{"cert.pem", "key.pem"} || got.RedirectHTTP != "" {
		t.Fatalf("with spec.tls: %v, %q, %v, asked %v", got.TLS, got.RedirectHTTP, err, asked)
	}
	got, err = c.withTLS(&proxy.TableSpec{App: "web", Listen: "127.0.0.1:8443"}, &spec.AppTLS{CertFile: "cert.pem", KeyFile: "key.pem", RedirectHTTP: "127.0.0.1:8080"})
	if err != nil || got.TLS != conf || got.RedirectHTTP != "127.0.0.1:8080" {
		t.Fatalf("with spec.tls.redirectHTTP: %v, %q, %v", got.TLS, got.RedirectHTTP, err)
	}
	if _, err := c.withTLS(&proxy.TableSpec{}, &spec.AppTLS{CertFile: "missing.pem", KeyFile: "key.pem"}); err == nil {
		t.Fatal("a pair that does not load is served")
	}
	if _, err := (&Controller{}).withTLS(&proxy.TableSpec{}, &spec.AppTLS{CertFile: "c", KeyFile: "k"}); !errors.Is(err, errNoTLS) {
		t.Fatalf("without a loader: %v", err)
	}
	if got, err := c.withTLS(nil, &spec.AppTLS{CertFile: "c", KeyFile: "k"}); got != nil || err != nil {
		t.Fatal("a removed table got TLS")
	}
}
