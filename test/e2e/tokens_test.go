package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

func TestTokens(t *testing.T) {
	s := startServer(t, "")
	key := s.must("", "tokens", "create", "--name", "web", "--role", "sdk", "--env", "production")
	if !regexp.MustCompile(`^sluice_[A-Za-z0-9_-]{43}\n$`).MatchString(key) {
		t.Fatalf("tokens create printed %q, want the secret alone", key)
	}
	viewer := strings.TrimSpace(s.must("", "tokens", "create", "--name", "auditor", "--role", "viewer"))

	r := s.sluice(appDoc("web", "127.0.0.1:18100", "v1"), "apply", "-f", "-", "--token", viewer)
	if r.code != 1 || !strings.Contains(r.stderr, "Forbidden") {
		t.Fatalf("viewer apply: %+v", r)
	}
	if r := s.sluice("", "get", "apps", "--token", viewer); r.code != 0 {
		t.Fatalf("viewer get: %+v", r)
	}
	if r := s.sluice("", "get", "apps", "--token", strings.TrimSpace(key)); r.code != 1 || !strings.Contains(r.stderr, "Forbidden") {
		t.Fatalf("sdk key on the admin API: %+v", r)
	}
	if r := s.sluice("", "tokens", "create", "--name", "bad name", "--role", "root"); r.code != 1 ||
		!strings.Contains(r.stderr, "name:") || !strings.Contains(r.stderr, `role: unknown role "root"`) {
		t.Fatalf("bad token request: %+v", r)
	}

	var list apiv1.TokenList
	json.Unmarshal([]byte(s.must("", "tokens", "list", "-o", "json")), &list)
	if len(list.Items) != 3 {
		t.Fatalf("tokens: %+v", list)
	}
	if out := s.must("", "tokens", "list"); strings.Contains(out, "sluice_") {
		t.Fatalf("tokens list shows a secret:\n%s", out)
	}

	s.must("", "tokens", "revoke", "auditor")
	if r := s.sluice("", "get", "apps", "--token", viewer); r.code != 1 || !strings.Contains(r.stderr, "Unauthorized") {
		t.Fatalf("revoked token: %+v", r)
	}

	short := strings.TrimSpace(s.must("", "tokens", "create", "--name", "brief", "--role", "viewer", "--expires", "200ms"))
	c, _ := client.New(s.url, short)
	eventually(t, 10*time.Second, "the token expires", func() bool {
		_, err := c.List(context.Background(), "apps")
		var p *apiv1.Problem
		return err != nil && asProblem(err, &p) && p.Status == 401
	})
}

func asProblem(err error, p **apiv1.Problem) bool {
	pp, ok := err.(*apiv1.Problem)
	*p = pp
	return ok
}
