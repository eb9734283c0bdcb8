package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/pkg/apiv1"
)

func TestAuditRecordsChangesSecretReadsAndRefusals(t *testing.T) {
	f := newSecureFixture(t, nil)
	resp, _ := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", webApp)
	if resp.StatusCode != 200 {
		t.Fatalf("apply: %d", resp.StatusCode)
	}
	sum := sha256.Sum256([]byte(webApp))
	e := f.lastEntry(t)
	if e.Actor != "the-deployer" || e.Role != "deployer" || e.Action != "POST /api/v1/apply" || e.Resource != "apply" ||
		e.Status != 200 || e.BodyDigest != hex.EncodeToString(sum[:]) || e.Source != "127.0.0.1" || e.RequestID == "" {
		t.Fatalf("apply audited as %+v", e)
	}
	before := len(f.entries(t))
	f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web", "")
	f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/nope", "")
	f.do(t, auth.RoleViewer, "POST", "/api/v1/flagsets/production/evaluate/f", `{"context":{}}`)
	if n := len(f.entries(t)); n != before {
		t.Fatalf("reads (and a flag evaluation, a POST that changes nothing) were audited: %d entries, want %d", n, before)
	}
	f.do(t, auth.RoleDeployer, "DELETE", "/api/v1/apps/web", "")
	if e := f.lastEntry(t); e.Action != "DELETE /api/v1/{kind}/{name}" || e.Resource != "apps/web" || e.Status != 204 || e.BodyDigest != "" {
		t.Fatalf("delete audited as %+v", e)
	}
	f.do(t, "", "GET", "/api/v1/apps", "")
	if e := f.lastEntry(t); e.Status != 401 || e.Actor != "" || e.Role != "" || e.Resource != "apps" {
		t.Fatalf("a call without a token audited as %+v", e)
	}
	f.do(t, auth.RoleSDK, "GET", "/api/v1/apps", "")
	if e := f.lastEntry(t); e.Status != 403 || e.Actor != "the-sdk" {
		t.Fatalf("an sdk key on the admin API audited as %+v", e)
	}
	f.do(t, auth.RoleViewer, "POST", "/api/v1/apply", webApp)
	if e := f.lastEntry(t); e.Status != 403 || e.Actor != "the-viewer" || e.BodyDigest != hex.EncodeToString(sum[:]) {
		t.Fatalf("a viewer's write audited as %+v", e)
	}
	f.do(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path=a/b", `{"data":{"k":"`+secretValue+`"}}`)
	if e := f.lastEntry(t); e.Status != 200 || e.Resource != "secrets/a/b" || e.BodyDigest != "" {
		t.Fatalf("a secret write audited as %+v (its body must not be digested)", e)
	}
	f.do(t, auth.RoleAdmin, "GET", "/api/v1/secrets/data?path=a/b", "")
	if e := f.lastEntry(t); e.Status != 200 || e.Action != "GET /api/v1/secrets/data" || e.Actor != "the-admin" {
		t.Fatalf("a secret read audited as %+v", e)
	}
	f.do(t, auth.RoleAdmin, "GET", "/api/v1/secrets/metadata?path=a/b", "")
	if e := f.lastEntry(t); e.Action == "GET /api/v1/secrets/metadata" {
		t.Fatal("a masked read was audited as a value read")
	}

	resp, body := f.do(t, auth.RoleAdmin, "GET", "/api/v1/audit?resource=apps/web", "")
	var list apiv1.AuditList
	if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 || len(list.Items) != 1 || list.Items[0].Status != 204 {
		t.Fatalf("audit for apps/web: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleAdmin, "GET", "/api/v1/audit?since=1h&limit=2", "")
	if json.Unmarshal(body, &list) != nil || resp.StatusCode != 200 || len(list.Items) != 2 || list.Items[1].Action != "GET /api/v1/secrets/data" {
		t.Fatalf("audit since 1h, limit 2: %d %s", resp.StatusCode, body)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "limit=x", "after=-1"} {
		if resp, _ := f.do(t, auth.RoleAdmin, "GET", "/api/v1/audit?"+q, ""); resp.StatusCode != 400 {
			t.Errorf("audit?%s: %d, want 400", q, resp.StatusCode)
		}
	}
	for _, role := range []auth.Role{auth.RoleDeployer, auth.RoleViewer} {
		if resp, _ := f.do(t, role, "GET", "/api/v1/audit", ""); resp.StatusCode != 403 {
			t.Errorf("%s read the audit log: %d", role, resp.StatusCode)
		}
	}
	n := len(f.entries(t))
	for _, m := range []string{"PUT", "DELETE", "POST", "PATCH"} {
		if resp, _ := f.do(t, auth.RoleAdmin, m, "/api/v1/audit", "{}"); resp.StatusCode < 400 {
			t.Errorf("%s /api/v1/audit: %d; the log must offer no way to change it", m, resp.StatusCode)
		}
	}
	if got := len(f.entries(t)); got < n {
		t.Fatalf("audit entries went from %d to %d", n, got)
	}
	if strings.Contains(string(body), secretValue) || strings.Contains(f.logs.String(), secretValue) {
		t.Fatal("a secret value leaked into the audit log or the server log")
	}
}

func TestAuditDigestsTheWholeBody(t *testing.T) {
	f := newSecureFixture(t, nil)
	// The handler refuses before it reads the body; the digest still
	// covers all of it.
	body := `{"name":"x","role":"root","extra":"` + strings.Repeat("y", 70000) + `"}`
	resp, _ := f.do(t, auth.RoleDeployer, "POST", "/api/v1/tokens", body)
	sum := sha256.Sum256([]byte(body))
	if e := f.lastEntry(t); resp.StatusCode != 403 || e.BodyDigest != hex.EncodeToString(sum[:]) {
		t.Fatalf("refused token request: %d, audited as %+v", resp.StatusCode, e)
	}
	big := webApp + "# " + strings.Repeat("x", MaxDocumentBytes) + "\n"
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/apply", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+f.tokens[auth.RoleAdmin])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if e := f.lastEntry(t); resp.StatusCode != 413 || e.Status != 413 || e.BodyDigest != "" {
		t.Fatalf("an oversized apply: %d, audited as %+v", resp.StatusCode, e)
	}
}
