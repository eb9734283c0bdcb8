package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// followingApp runs examples/hello with its VERSION from the secret
// shop/db; follow sets rolloutOnSecretChange, strategy is the strategy
// mapping.
func followingApp(t *testing.T, name, listen string, follow bool, strategy string) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata: {name: %s}
spec:
  listen: %s
  rolloutOnSecretChange: %t
  runtime:
    process:
      command: [%q]
      stopGracePeriod: 2s
      env:
        - name: VERSION
          valueFrom: {secret: {path: shop/db, key: password}}
  healthCheck: {path: /health, interval: 100ms, timeout: 100ms}
  strategy: %s
`, name, listen, follow, helloBinary(t), strategy)
}

// TestSecretChangeRollsOutTheAppsThatFollowIt puts a new version of a
// secret that three apps read: the two with rolloutOnSecretChange roll a
// new revision out through their own strategies (blue-green, canary) and
// then serve the new value; the third keeps its revision and the value it
// started with. Undo brings the old value back, since the old revision
// reads the version it recorded.
func TestSecretChangeRollsOutTheAppsThatFollowIt(t *testing.T) {
	s := startServer(t, "")
	first, second := randomValue("first"), randomValue("second")
	s.must("password="+first+"\n", "secrets", "put", "shop/db", "--from-file", "-")

	apps := map[string]string{"bg": freePort(t), "canary": freePort(t), "still": freePort(t)}
	docs := followingApp(t, "bg", apps["bg"], true, "{blueGreen: {autoPromote: true, scaleDownDelay: 1h}}") + "---\n" +
		followingApp(t, "canary", apps["canary"], true, "{canary: {steps: [{setWeight: 50}, {pause: {duration: 1s}}], scaleDownDelay: 1h}}") + "---\n" +
		followingApp(t, "still", apps["still"], false, "{blueGreen: {autoPromote: true}}")
	s.must(docs, "apply", "-f", "-")
	for name, listen := range apps {
		s.waitStatus(name, name+" serves revision 1", 30*time.Second, stableAt(1))
		eventually(t, 10*time.Second, name+" answers the first value", func() bool { return versionAt(listen) == first })
	}

	out := s.must("password="+second+"\n", "secrets", "put", "shop/db", "--from-file", "-")
	for _, want := range []string{"secret shop/db version 2 written", "app bg: revision 2 rolls out the change", "app canary: revision 2 rolls out the change"} {
		if !strings.Contains(out, want) {
			t.Fatalf("secrets put said:\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "still") {
		t.Fatalf("an app that does not follow the secret was rolled out:\n%s", out)
	}
	for _, name := range []string{"bg", "canary"} {
		s.waitStatus(name, name+" promotes revision 2", 30*time.Second, stableAt(2))
		eventually(t, 10*time.Second, name+" answers the second value", func() bool { return versionAt(apps[name]) == second })
	}
	if st := s.appStatus("still"); st.LatestRevision != 1 || st.StableRevision != 1 {
		t.Fatalf("still: latest revision %d, stable %d; want 1", st.LatestRevision, st.StableRevision)
	}
	if got := versionAt(apps["still"]); got != first {
		t.Fatalf("still answers %q, want the value it started with", got)
	}

	events := s.must("", "events", "--app", "bg", "-o", "json")
	if !strings.Contains(events, `"SecretChanged"`) || !strings.Contains(events, "secret shop/db version 1 → 2: revision 2 rolls it out") {
		t.Fatalf("bg's events say nothing of the secret change:\n%s", events)
	}
	audit := s.must("", "audit", "--resource", "apps/bg")
	if !strings.Contains(audit, "sluice") || !strings.Contains(audit, "rollout on secret change: revision 2") {
		t.Fatalf("the audit log has no entry by sluice for bg:\n%s", audit)
	}
	for _, args := range [][]string{{"events", "-o", "json"}, {"audit", "-o", "json"}, {"get", "apps", "bg", "-o", "json"}} {
		if out := s.must("", args...); strings.Contains(out, first) || strings.Contains(out, second) {
			t.Fatalf("sluice %v shows a secret value", args)
		}
	}
	revs, err := s.client().Revisions(t.Context(), "bg")
	if err != nil || len(revs) != 2 || !strings.Contains(string(revs[1].Workload), `"secretVersions":{"shop/db":2}`) {
		t.Fatalf("bg's revisions: %+v, %v", revs, err)
	}

	// Revision 1 reads the version it recorded, whatever the newest is.
	s.must("", "rollout", "undo", "bg")
	s.waitStatus("bg", "bg serves revision 1 again", 30*time.Second, func(st apiv1.AppStatus) bool { return st.StableRevision == 1 })
	eventually(t, 10*time.Second, "bg answers the first value again", func() bool { return versionAt(apps["bg"]) == first })
}
