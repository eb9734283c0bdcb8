package server

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/secrets"
	"sluice.dev/sluice/internal/spec"
)

// TestStartCatchesUpOnSecretChanges writes a secret behind the API's back,
// as a crash between the write and the rollout would leave it, and checks
// that the start of the rollout server makes the revision.
func TestStartCatchesUpOnSecretChanges(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t, t.TempDir())
	res := resources.New(st)
	sec := secrets.New(st, secrets.NewKey(), nil, time.Now)
	if _, err := sec.Put(ctx, "shop/db", map[string]string{"password": "one"}, "alice"); err != nil {
		t.Fatal(err)
	}
	docs, err := spec.Decode([]byte(`apiVersion: sluice.dev/v1
kind: App
metadata: {name: web}
spec:
  listen: 127.0.0.1:18090
  rolloutOnSecretChange: true
  runtime: {process: {command: [./web], env: [{name: DB, valueFrom: {secret: {path: shop/db, key: password}}}]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Apply(ctx, docs, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := sec.Put(ctx, "shop/db", map[string]string{"password": "two"}, "alice"); err != nil {
		t.Fatal(err)
	}
	s := &rolloutServer{res: res, log: slog.New(slog.DiscardHandler)}
	for range 2 { // the second start finds nothing to do
		s.catchUpSecretChanges(ctx)
		revs, err := res.Revisions(ctx, "web")
		if err != nil || len(revs) != 2 || revs[1].Cause != "secret change by sluice: secret shop/db version 1 → 2" {
			t.Fatalf("revisions after the start: %+v, %v", revs, err)
		}
	}
}
