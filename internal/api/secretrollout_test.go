package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/pkg/apiv1"
)

// followingApp is an app whose env refers to shop/db, with
// rolloutOnSecretChange set to follow.
func followingApp(name string, port int, follow bool) string {
	return fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: App
metadata: {name: %s}
spec:
  listen: 127.0.0.1:%d
  rolloutOnSecretChange: %t
  runtime:
    process:
      command: [./web]
      env: [{name: DB_PASSWORD, valueFrom: {secret: {path: shop/db, key: password}}}]
`, name, port, follow)
}

func TestSecretChangeRollsOutTheAppsThatFollowIt(t *testing.T) {
	f := newSecureFixture(t, nil)
	put := func(path, value string) (string, apiv1.SecretVersion) {
		t.Helper()
		resp, body := f.do(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path="+path, `{"data":{"password":"`+value+`"}}`)
		var v apiv1.SecretVersion
		if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("put %s: %d %s", path, resp.StatusCode, body)
		}
		return resp.Header.Get(RequestIDHeader), v
	}
	revisions := func(app string) []apiv1.Revision {
		t.Helper()
		resp, body := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/"+app+"/revisions", "")
		var list apiv1.RevisionList
		if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 {
			t.Fatalf("revisions of %s: %d %s", app, resp.StatusCode, body)
		}
		return list.Items
	}

	put("shop/db", secretValue+"-1")
	resp, body := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", followingApp("web", 18081, true)+"---\n"+followingApp("plain", 18082, false))
	if resp.StatusCode != 200 {
		t.Fatalf("apply: %d %s", resp.StatusCode, body)
	}

	reqID, v := put("shop/db", secretValue+"-2")
	if !slices.Equal(v.Rollouts, []apiv1.SecretRollout{{App: "web", Revision: 2}}) {
		t.Fatalf("the put answered rollouts %+v, want web revision 2", v.Rollouts)
	}
	revs := revisions("web")
	if len(revs) != 2 || !strings.Contains(string(revs[1].Workload), `"secretVersions":{"shop/db":2}`) || revs[1].Cause != "secret change by sluice: secret shop/db version 1 → 2" {
		t.Fatalf("web's revisions: %+v", revs)
	}
	if n := len(revisions("plain")); n != 1 {
		t.Fatalf("an app that does not follow its secret has %d revisions", n)
	}
	_, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/events?app=web", "")
	if !strings.Contains(string(body), `"reason":"SecretChanged"`) || !strings.Contains(string(body), "secret shop/db version 1 → 2: revision 2 rolls it out") {
		t.Fatalf("web's events: %s", body)
	}
	_, body = f.do(t, auth.RoleAdmin, "GET", "/api/v1/audit?resource=apps/web", "")
	var entries apiv1.AuditList
	if err := json.Unmarshal(body, &entries); err != nil || len(entries.Items) != 1 {
		t.Fatalf("web's audit entries: %s", body)
	}
	if e := entries.Items[0]; e.Actor != "sluice" || e.RequestID != reqID || !strings.Contains(e.Action, "revision 2 (secret shop/db version 1 → 2)") {
		t.Fatalf("audit entry %+v, want actor sluice and request %s", e, reqID)
	}

	// A path no app refers to makes nothing; a rollback and a removal do.
	if _, v := put("misc/other", "x"); v.Rollouts != nil {
		t.Fatalf("an unreferenced path rolled out %+v", v.Rollouts)
	}
	_, body = f.do(t, auth.RoleAdmin, "POST", "/api/v1/secrets/rollback?path=shop/db", `{"version":1}`)
	if err := json.Unmarshal(body, &v); err != nil || !slices.Equal(v.Rollouts, []apiv1.SecretRollout{{App: "web", Revision: 3}}) {
		t.Fatalf("rollback: %s", body)
	}
	if resp, _ := f.do(t, auth.RoleAdmin, "DELETE", "/api/v1/secrets/metadata?path=shop/db", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if revs := revisions("web"); len(revs) != 4 || !strings.Contains(string(revs[3].Workload), `"secretVersions":{"shop/db":0}`) {
		t.Fatalf("after the removal: %+v", revs)
	}

	_, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/events", "")
	if strings.Contains(string(body), secretValue) || strings.Contains(f.logs.String(), secretValue) {
		t.Fatal("a secret value reached the events or the log")
	}
}
