package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store/sqlite"
)

func TestRoleTable(t *testing.T) {
	want := map[Role][]Permission{
		RoleAdmin:    {PermRead, PermWrite, PermAdmin, PermEvaluate},
		RoleDeployer: {PermRead, PermWrite, PermEvaluate},
		RoleViewer:   {PermRead},
		RoleSDK:      {PermEvaluate},
	}
	all := []Permission{PermRead, PermWrite, PermAdmin, PermEvaluate}
	for role, granted := range want {
		for _, p := range all {
			allowed := false
			for _, g := range granted {
				allowed = allowed || g == p
			}
			if role.Allows(p) != allowed {
				t.Errorf("%s allows %s = %v, want %v", role, p, role.Allows(p), allowed)
			}
		}
		if !role.Allows(PermNone) {
			t.Errorf("%s must pass routes that need no permission", role)
		}
	}
	if Role("root").Allows(PermRead) {
		t.Error("an unknown role was granted something")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("ParseRole accepted an unknown role")
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "90s": 90 * time.Second} {
		if got, err := ParseExpiry(in); err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0d", "-1h", "soon", "d", "4000d", "0s"} {
		if _, err := ParseExpiry(bad); err == nil {
			t.Errorf("ParseExpiry(%q) accepted it", bad)
		}
	}
}

func TestCheckNewToken(t *testing.T) {
	if _, p := CheckNewToken("ci", "deployer", "", "30d"); len(p) != 0 {
		t.Fatalf("a good request was refused: %v", p)
	}
	_, p := CheckNewToken("Bad Name", "sdk", "", "x")
	for _, field := range []string{"name", "env", "expiresIn"} {
		if p[field] == "" {
			t.Errorf("no problem reported for %s: %v", field, p)
		}
	}
}

func TestTokensAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	toks := NewTokens(st, func() time.Time { return now })
	secret, tok, err := toks.Create(ctx, NewToken{Name: "ci", Role: RoleDeployer, Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, SecretPrefix) || tok.Hash == secret || tok.Hash != Hash(secret) {
		t.Fatalf("secret %q stored as %q", secret, tok.Hash)
	}
	id, err := toks.Authenticate(ctx, secret)
	if err != nil || id.Name != "ci" || id.Role != RoleDeployer {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	for _, bad := range []string{"", "sluice_", secret + "x", strings.TrimPrefix(secret, SecretPrefix)} {
		if _, err := toks.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", bad, err)
		}
	}
	now = now.Add(time.Hour)
	if _, err := toks.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an expired token authenticated: %v", err)
	}
	list, _ := toks.List(ctx)
	if len(list) != 1 || list[0].LastUsedAt == nil {
		t.Fatalf("last use not recorded: %+v", list)
	}
	if _, err := toks.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := toks.Revoke(ctx, "ci"); err == nil {
		t.Fatal("revoking twice succeeded")
	}
}
