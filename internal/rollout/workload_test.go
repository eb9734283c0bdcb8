package rollout

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store/sqlite"
)

func TestResolveEnvReadsTheRecordedSecretVersion(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sec := secrets.New(st, secrets.NewKey(), nil, time.Now)
	for _, v := range []string{"one", "two"} {
		if _, err := sec.Put(ctx, "shop/db", map[string]string{"password": v}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	env := []spec.EnvVar{{Name: "A", Value: "x"}, {Name: "DB", ValueFrom: &spec.EnvSource{Secret: &spec.SecretKeyRef{Path: "shop/db", Key: "password"}}}}
	for _, c := range []struct {
		name     string
		versions map[string]int64
		want     string
	}{
		{"nothing recorded: the newest", nil, "A=x DB=two"},
		{"version 1 recorded", map[string]int64{"shop/db": 1}, "A=x DB=one"},
		{"another path recorded", map[string]int64{"shop/other": 1}, "A=x DB=two"},
	} {
		got, err := resolveEnv(ctx, env, c.versions, sec)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%s: %v, %v; want %s", c.name, got, err, c.want)
		}
	}
	_, err = resolveEnv(ctx, env, map[string]int64{"shop/db": 0}, sec)
	if !errors.Is(err, ErrNoSecretVersion) || !strings.Contains(err.Error(), "env DB: secret shop/db key password") {
		t.Fatalf("no version when the revision was made: %v", err)
	}
	_, err = resolveEnv(ctx, env, map[string]int64{"shop/db": 3}, sec)
	if !errors.Is(err, secrets.ErrNotFound) || strings.Contains(err.Error(), "two") {
		t.Fatalf("a recorded version that does not exist: %v", err)
	}
	if _, err := resolveEnv(ctx, env, nil, nil); !errors.Is(err, ErrNoSecrets) {
		t.Fatalf("without a secrets store: %v", err)
	}
}
