package resources

import (
	"context"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/spec"
)

// tlsApp is an app served over TLS with a redirect listener.
func tlsApp(name, listen, redirect, extra string) string {
	return "apiVersion: sluice.dev/v1\nkind: App\nmetadata: {name: " + name + "}\nspec:\n  listen: " + listen +
		"\n  tls: {certFile: c.pem, keyFile: k.pem, redirectHTTP: \"" + redirect + "\"}" + extra +
		"\n  runtime: {process: {command: [./web]}}\n"
}

func TestAddressConflicts(t *testing.T) {
	stored := map[string]*spec.App{}
	for _, y := range []string{
		tlsApp("shop", "127.0.0.1:8443", "127.0.0.1:8080", ""),
		appYAML("blog", "127.0.0.1:9000", ""),
	} {
		d := docs(t, y)[0]
		stored[d.Metadata.Name] = d.App
	}
	bg := func(preview string) string {
		return "\n  strategy: {blueGreen: {previewListen: \"" + preview + "\"}}"
	}
	cases := []struct {
		name, yaml, path, message string
	}{
		{"listen on another app's redirect", appYAML("web", "127.0.0.1:8080", ""), "spec.listen", `127.0.0.1:8080 is already used by app "shop"`},
		{"listen on all interfaces, redirect port", appYAML("web", ":8080", ""), "spec.listen", `:8080 is already used by app "shop"`},
		{"redirect on another app's listen", tlsApp("web", "127.0.0.1:7443", "127.0.0.1:9000", ""), "spec.tls.redirectHTTP", `127.0.0.1:9000 is already used by app "blog"`},
		{"redirect on another app's redirect", tlsApp("web", "127.0.0.1:7443", "0.0.0.0:8080", ""), "spec.tls.redirectHTTP", `0.0.0.0:8080 is already used by app "shop"`},
		{"preview on another app's redirect", strings.Replace(appYAML("web", "127.0.0.1:7000", ""), "  runtime:", strings.TrimPrefix(bg("127.0.0.1:8080"), "\n")+"\n  runtime:", 1),
			"spec.strategy.blueGreen.previewListen", `127.0.0.1:8080 is already used by app "shop"`},
		{"redirect on its own listen port, all interfaces", tlsApp("web", "127.0.0.1:7443", ":7443", ""), "spec.tls.redirectHTTP", ":7443 is already used by spec.listen"},
		{"redirect on its own preview port", tlsApp("web", "127.0.0.1:7443", "0.0.0.0:7444", bg("127.0.0.1:7444")), "spec.tls.redirectHTTP", "0.0.0.0:7444 is already used by spec.strategy.blueGreen.previewListen"},
		{"the redirect app itself, changed", tlsApp("shop", "127.0.0.1:8443", "127.0.0.1:8081", ""), "", ""},
		{"free addresses", tlsApp("web", "127.0.0.1:7443", "127.0.0.1:7080", ""), "", ""},
	}
	for _, c := range cases {
		d := docs(t, c.yaml)
		others := map[string]*spec.App{}
		for name, a := range stored {
			if name != d[0].Metadata.Name {
				others[name] = a
			}
		}
		got := addressConflicts(others, d)
		switch {
		case c.path == "" && len(got) != 0:
			t.Errorf("%s: %v, want no conflict", c.name, got)
		case c.path != "" && (len(got) != 1 || got[0].Path != c.path || got[0].Message != c.message):
			t.Errorf("%s: %+v, want %s: %s", c.name, got, c.path, c.message)
		}
	}
}

func TestApplyRejectsATakenRedirectAddress(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Apply(ctx, docs(t, tlsApp("shop", "127.0.0.1:8443", "127.0.0.1:8080", "")), "a"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Apply(ctx, docs(t, appYAML("web", "127.0.0.1:8080", "")), "a")
	ve, ok := spec.AsValidationError(err)
	if !ok || len(ve.Problems) != 1 || ve.Problems[0].Path != "spec.listen" || !strings.Contains(ve.Problems[0].Message, `app "shop"`) {
		t.Fatalf("an app on another's redirect address: %v", err)
	}
	// The address is free again once the redirect moves.
	batch := tlsApp("shop", "127.0.0.1:8443", "127.0.0.1:8081", "") + "---\n" + appYAML("web", "127.0.0.1:8080", "")
	if _, err := s.Apply(ctx, docs(t, batch), "a"); err != nil {
		t.Fatalf("after the redirect moved: %v", err)
	}
}
