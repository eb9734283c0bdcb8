package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/pkg/apiv1"
)

const webApp = `apiVersion: sluice.dev/v1
kind: App
metadata: {name: web}
spec:
  listen: 127.0.0.1:18080
  runtime: {process: {command: [./web]}}
---
apiVersion: sluice.dev/v1
kind: App
metadata: {name: api}
spec:
  listen: 127.0.0.1:18081
  runtime: {process: {command: [./api]}}
`

// statusAt is a canary of revision 2 paused at weight, on its third step.
func statusAt(weight int) apiv1.AppStatus {
	now := time.Now().UTC()
	return apiv1.AppStatus{Phase: apiv1.PhasePaused, LatestRevision: 2, StableRevision: 1, CandidateRevision: 2, Weight: weight, Step: 2,
		RolloutDetails: apiv1.RolloutDetails{Strategy: "canary", Steps: 7, Rollout: &apiv1.RolloutState{StartedAt: now, ProgressAt: now, StepStartedAt: &now},
			Revisions: []apiv1.RevisionStatus{
				{Revision: 1, Version: "v1", Role: apiv1.RoleStable, Replicas: 1, Ready: 1,
					Instances: []apiv1.InstanceStatus{{ID: "web-1-a", Address: "127.0.0.1:4001", State: "Running", Health: "Healthy"}}},
				{Revision: 2, Version: "v2", Role: apiv1.RoleCandidate, Replicas: 1, Ready: 1,
					Instances: []apiv1.InstanceStatus{{ID: "web-2-a", Address: "127.0.0.1:4002", State: "Running", Health: "Healthy"}}},
			},
			Analyses: []apiv1.AnalysisRun{{Name: "2/1/step-2", Kind: apiv1.AnalysisStep, Step: 2, Attempt: 1, Candidate: 2, Stable: 1,
				StartedAt: now, Verdict: apiv1.VerdictRunning,
				Metrics: []apiv1.AnalysisMetric{{Template: "default", Metric: "errors", Verdict: apiv1.VerdictRunning}}}},
		}}
}

func TestOverviewListsProblemsFirst(t *testing.T) {
	f := newFixture(t)
	f.apply(t, webApp)
	f.setStatus(t, "api", apiv1.AppStatus{Phase: apiv1.PhaseAborted, Message: "analysis failed: error rate 0.3", StableRevision: 1, LatestRevision: 2})
	f.setStatus(t, "web", statusAt(500))
	b := f.browser(t).login(auth.RoleViewer)
	p := b.get("/ui/")
	if p.status != http.StatusOK {
		t.Fatalf("overview: %d", p.status)
	}
	contains(t, "overview", p.body, `href="/ui/apps/web"`, `href="/ui/apps/api"`, "Aborted: analysis failed: error rate 0.3", "5 %", `data-live="/ui/?part=1"`)
	if strings.Index(p.body, `/ui/apps/api"`) > strings.Index(p.body, `/ui/apps/web"`) {
		t.Error("the aborted app is not listed first")
	}
	part := b.get("/ui/?part=1")
	if part.status != http.StatusOK || strings.Contains(part.body, "<html") || !strings.Contains(part.body, `/ui/apps/web`) {
		t.Fatalf("live part: %d\n%s", part.status, part.body)
	}
}

func TestAppPage(t *testing.T) {
	f := newFixture(t)
	f.apply(t, webApp)
	f.setStatus(t, "web", statusAt(2500))

	viewer := f.browser(t).login(auth.RoleViewer).get("/ui/apps/web")
	if viewer.status != http.StatusOK {
		t.Fatalf("app page: %d %s", viewer.status, viewer.body)
	}
	contains(t, "app page", viewer.body,
		`aria-label="Traffic split: revision 1: 75 %, revision 2: 25 %"`, `<strong class="weight">25 %</strong>`,
		`aria-current="step">setWeight 5%`, "setWeight 25%", "web-2-a", "Healthy", "TestStatus", "default/errors",
		`data-events="/ui/events?app=web"`)
	lacks(t, "viewer's app page", viewer.body, `/confirm/`)

	deployer := f.browser(t).login(auth.RoleDeployer).get("/ui/apps/web")
	for _, a := range []string{"promote", "promote-full", "pause", "abort"} {
		contains(t, "deployer's app page", deployer.body, `/ui/apps/web/confirm/`+a+`"`)
	}
	lacks(t, "deployer's app page", deployer.body, "/confirm/undo", "/confirm/resume", "/confirm/retry")

	if p := f.browser(t).login(auth.RoleViewer).get("/ui/apps/nope"); p.status != http.StatusNotFound {
		t.Errorf("an unknown app: %d", p.status)
	}
}

func TestRolloutActionsNeedAConfirmationACSRFTokenAndTheRole(t *testing.T) {
	f := newFixture(t)
	f.apply(t, webApp)
	f.setStatus(t, "web", statusAt(2500))

	viewer := f.browser(t).login(auth.RoleViewer)
	if p := viewer.get("/ui/apps/web/confirm/abort"); p.status != http.StatusForbidden || !strings.Contains(p.body, "may look at rollouts, not steer them") {
		t.Errorf("viewer's confirmation: %d %s", p.status, p.body)
	}
	viewer.get("/ui/apps/web")
	if p := viewer.post("/ui/apps/web/rollout/abort", nil); p.status != http.StatusForbidden || !strings.Contains(p.body, "role viewer may not write") {
		t.Errorf("viewer's abort: %d %s", p.status, p.body)
	}

	d := f.browser(t).login(auth.RoleDeployer)
	confirm := d.get("/ui/apps/web/confirm/abort")
	contains(t, "confirmation", confirm.body, "Revision 2 gets no more traffic at once (its weight falls from 25 % to 0)", "revision 1 keeps serving",
		`action="/ui/apps/web/rollout/abort"`, `href="/ui/apps/web">Cancel`)
	if p := d.get("/ui/apps/web/confirm/undo"); p.status != http.StatusConflict {
		t.Errorf("undo mid-rollout: %d", p.status)
	}
	if p := d.post("/ui/apps/web/rollout/abort", url.Values{"csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("a forged CSRF token: %d", p.status)
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/ui/apps/web/rollout/abort", strings.NewReader("csrf="+url.QueryEscape(csrfOf(confirm.body))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := d.do(req); p.status != http.StatusForbidden {
		t.Errorf("a cross-site POST: %d", p.status)
	}
	if st := f.status(t, "web"); st.Phase != apiv1.PhasePaused || st.Weight != 2500 {
		t.Fatalf("a refused action changed the app: %+v", st)
	}

	d.get("/ui/apps/web/confirm/abort")
	p := d.post("/ui/apps/web/rollout/abort", nil)
	if p.status != http.StatusSeeOther || p.location != "/ui/apps/web?done=abort" {
		t.Fatalf("abort: %d %q %s", p.status, p.location, p.body)
	}
	if st := f.status(t, "web"); st.Phase != apiv1.PhaseAborted || st.Weight != 0 {
		t.Fatalf("after abort: %+v", st)
	}
	contains(t, "after abort", d.get(p.location).body, "Aborted the rollout.")
	found := false
	for _, e := range entries(t, f) {
		found = found || (e.Action == "POST /api/v1/apps/{name}/rollout/{action}" && e.Actor == "the-deployer" && e.Status == 200 &&
			e.Resource == "apps/web/rollout/abort" && strings.HasPrefix(e.Source, "127.0.0.1"))
	}
	if !found {
		t.Errorf("the abort is not in the audit log under the deployer's name and the browser's address: %+v", entries(t, f))
	}
}

const flagSet = `apiVersion: sluice.dev/v1
kind: FlagSet
metadata: {name: production}
spec:
  flags:
    new-checkout:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "off"
    banner:
      state: ENABLED
      variants: {red: "#f00", blue: "#00f"}
      defaultVariant: red
      targeting: {"if": [{"==": [{"var": "country"}, "FR"]}, "blue"]}
`

// flagSpec reads the production FlagSet's spec.
func flagSpec(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	var o apiv1.Object
	if err := json.Unmarshal(f.call(t, auth.RoleAdmin, "GET", "/api/v1/flagsets/production", "", http.StatusOK), &o); err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	_ = json.Unmarshal(o.Spec, &spec)
	return spec["flags"].(map[string]any)
}

func TestFlags(t *testing.T) {
	f := newFixture(t)
	f.apply(t, flagSet)
	d := f.browser(t).login(auth.RoleDeployer)

	contains(t, "flag sets", d.get("/ui/flags").body, `href="/ui/flags/production"`)
	list := d.get("/ui/flags/production")
	contains(t, "flags", list.body, "new-checkout", "banner", `role="switch" aria-checked="true"`, "rule")

	// The kill switch.
	if p := d.post("/ui/flags/production/flag/new-checkout/state", url.Values{"state": {"DISABLED"}}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.status, p.body)
	}
	if s := flagSpec(t, f)["new-checkout"].(map[string]any)["state"]; s != "DISABLED" {
		t.Fatalf("state after the switch: %v", s)
	}

	// A percentage rollout.
	page := d.get("/ui/flags/production/flag/new-checkout")
	contains(t, "flag page", page.body, `<select id="variant" name="variant"><option value="on"`, `id="targeting"`)
	if p := d.post("/ui/flags/production/flag/new-checkout/rollout", url.Values{"variant": {"on"}, "percent": {"12.5"}, "back": {"flag"}}); p.status != http.StatusSeeOther {
		t.Fatalf("rollout: %d %s", p.status, p.body)
	}
	contains(t, "after the rollout", d.get("/ui/flags/production/flag/new-checkout?done=rollout&flag=new-checkout").body, "on to 12.5 %", "Saved the rollout")
	if p := d.post("/ui/flags/production/flag/new-checkout/rollout", url.Values{"variant": {"on"}, "percent": {"120"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "between 0 and 100") {
		t.Errorf("a share over 100: %d", p.status)
	}

	// Targeting: a rule that does not compile is refused with the server's
	// reason and shown again; nothing changes.
	before := flagSpec(t, f)["banner"]
	bad := `{"if": [{"no_such_operator": [1]}, "blue"]}`
	p := d.post("/ui/flags/production/flag/banner/targeting", url.Values{"targeting": {bad}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Not saved") || !strings.Contains(p.body, "no_such_operator") {
		t.Fatalf("a bad rule: %d %s", p.status, p.body)
	}
	if p := d.post("/ui/flags/production/flag/banner/targeting", url.Values{"targeting": {`{"if": [`}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "not JSON") {
		t.Errorf("a rule that is not JSON: %d", p.status)
	}
	if after := flagSpec(t, f)["banner"]; !jsonEqual(before, after) {
		t.Fatalf("a refused rule changed the flag: %v", after)
	}
	good := `{"if": [{"in": [{"var": "country"}, ["FR", "BE"]]}, "blue"]}`
	if p := d.post("/ui/flags/production/flag/banner/targeting", url.Values{"targeting": {good}, "back": {"flag"}}); p.status != http.StatusSeeOther {
		t.Fatalf("a good rule: %d %s", p.status, p.body)
	}
	contains(t, "flag history", d.get("/ui/flags/production/flag/banner").body, "by the-deployer", "<code>targeting.if[0]</code>", "<h3>Version 1",
		`<li class="diff-added">the flag: added`)

	// History with diffs, and a revert to the first version.
	hist := d.get("/ui/flags/production/history")
	contains(t, "history", hist.body, "flags.new-checkout.state", "DISABLED", "Revert to version 1")
	if p := d.post("/ui/flags/production/revert", url.Values{"version": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", p.status, p.body)
	}
	if s := flagSpec(t, f)["new-checkout"].(map[string]any); s["state"] != "ENABLED" || s["targeting"] != nil {
		t.Fatalf("after the revert: %v", s)
	}

	// A viewer sees the flags, not the controls, and cannot change them.
	v := f.browser(t).login(auth.RoleViewer)
	vp := v.get("/ui/flags/production/flag/banner")
	lacks(t, "viewer's flag page", vp.body, `action="/ui/flags/production/flag/banner/state"`, `<textarea`, `Revert`)
	contains(t, "viewer's flag page", vp.body, "ENABLED", "&#34;FR&#34;")
	if p := v.post("/ui/flags/production/flag/banner/state", url.Values{"state": {"DISABLED"}}); p.status != http.StatusForbidden {
		t.Errorf("viewer's toggle: %d", p.status)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestAuditAndSecretsPages(t *testing.T) {
	f := newFixture(t)
	const value = "hunter2-do-not-show"
	f.call(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path=shop/db", `{"data": {"password": "`+value+`", "user": "shop"}}`, http.StatusOK)
	f.call(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path=shop/db", `{"data": {"password": "`+value+`-2"}}`, http.StatusOK)

	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleDeployer, auth.RoleAdmin} {
		b := f.browser(t).login(role)
		list := b.get("/ui/secrets")
		one := b.get("/ui/secrets/shop/db")
		if list.status != http.StatusOK || one.status != http.StatusOK {
			t.Fatalf("%s: secrets pages %d %d", role, list.status, one.status)
		}
		contains(t, string(role)+"'s secret page", one.body, "<code>password</code>", "the-admin", "Values are never shown")
		lacks(t, string(role)+"'s secret pages", list.body+one.body, value, "shop</code>") // no value, and the old version's keys are not listed as current
		audit := b.get("/ui/audit")
		if role == auth.RoleAdmin {
			contains(t, "audit log", audit.body, "PUT /api/v1/secrets/data", "secrets/shop/db", "the-admin")
		} else if audit.status != http.StatusForbidden || !strings.Contains(audit.body, "may not read the audit log") {
			t.Errorf("%s's audit page: %d", role, audit.status)
		}
	}
	if p := f.browser(t).login(auth.RoleAdmin).get("/ui/audit?since=yesterday"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "since must be") {
		t.Errorf("a bad since: %d", p.status)
	}
}

// TestEveryRouteAnswersEveryRole walks every dashboard route with every
// role (and none): pages need a session, actions a session and the role
// the API asks for.
func TestEveryRouteAnswersEveryRole(t *testing.T) {
	f := newFixture(t)
	f.apply(t, webApp)
	f.apply(t, flagSet)
	f.setStatus(t, "web", statusAt(2500))
	f.call(t, auth.RoleAdmin, "PUT", "/api/v1/secrets/data?path=shop/db", `{"data": {"k": "v"}}`, http.StatusOK)
	paths := map[string]string{
		"GET /{$}": "/", "GET /ui": "/ui", "GET /ui/static/": "/ui/static/app.css", "GET /ui/login": "/ui/login", "POST /ui/login": "/ui/login",
		"POST /ui/logout": "/ui/logout", "GET /ui/{$}": "/ui/", "GET /ui/apps/{name}": "/ui/apps/web",
		"GET /ui/apps/{name}/confirm/{action}": "/ui/apps/web/confirm/pause", "POST /ui/apps/{name}/rollout/{action}": "/ui/apps/web/rollout/pause",
		"GET /ui/events": "", "GET /ui/flags": "/ui/flags", "GET /ui/flags/{env}": "/ui/flags/production",
		"GET /ui/flags/{env}/history": "/ui/flags/production/history", "POST /ui/flags/{env}/revert": "/ui/flags/production/revert",
		"GET /ui/flags/{env}/flag/{key}":            "/ui/flags/production/flag/banner",
		"POST /ui/flags/{env}/flag/{key}/state":     "/ui/flags/production/flag/banner/state",
		"POST /ui/flags/{env}/flag/{key}/rollout":   "/ui/flags/production/flag/new-checkout/rollout",
		"POST /ui/flags/{env}/flag/{key}/targeting": "/ui/flags/production/flag/banner/targeting",
		"GET /ui/audit":             "/ui/audit",
		"GET /ui/secrets":           "/ui/secrets",
		"GET /ui/secrets/{path...}": "/ui/secrets/shop/db",
	}
	forms := map[string]url.Values{
		"POST /ui/flags/{env}/revert":               {"version": {"1"}},
		"POST /ui/flags/{env}/flag/{key}/state":     {"state": {"ENABLED"}},
		"POST /ui/flags/{env}/flag/{key}/rollout":   {"variant": {"on"}, "percent": {"1"}},
		"POST /ui/flags/{env}/flag/{key}/targeting": {"targeting": {`{"if": [true, "blue"]}`}},
	}
	d, _ := New(Options{API: http.NotFoundHandler()})
	for _, r := range d.Routes() {
		path, ok := paths[r.Pattern]
		if !ok {
			t.Errorf("route %s has no case in this test", r.Pattern)
			continue
		}
		if path == "" {
			continue // streams: TestLiveEventsFollowTheSession, TestEventsNeedASession
		}
		method, _, _ := strings.Cut(r.Pattern, " ")
		for _, role := range []auth.Role{"", auth.RoleViewer, auth.RoleDeployer, auth.RoleAdmin} {
			b := f.browser(t)
			if role != "" {
				b.login(role)
				b.get("/ui/")
			}
			var p page
			if method == "GET" {
				p = b.get(path)
			} else {
				p = b.post(path, forms[r.Pattern])
			}
			want := expectedStatus(r.Pattern, method, role)
			if p.status != want {
				t.Errorf("%s %s as %q: %d, want %d: %s", method, path, role, p.status, want, errorOf(p.body))
			}
		}
	}
}

// expectedStatus is what a route answers a role.
func expectedStatus(pattern, method string, role auth.Role) int {
	switch pattern {
	case "GET /{$}":
		return http.StatusFound
	case "GET /ui":
		return http.StatusMovedPermanently
	case "GET /ui/static/":
		return http.StatusOK
	case "GET /ui/login":
		if role == "" {
			return http.StatusOK
		}
		return http.StatusSeeOther
	case "POST /ui/login":
		return http.StatusForbidden // no sign-in form was loaded: no one-time value
	}
	if role == "" {
		return http.StatusSeeOther // to the login page
	}
	canWrite := role == auth.RoleDeployer || role == auth.RoleAdmin
	switch {
	case pattern == "POST /ui/logout":
		return http.StatusSeeOther
	case pattern == "GET /ui/audit" && role != auth.RoleAdmin:
		return http.StatusForbidden
	case pattern == "GET /ui/apps/{name}/confirm/{action}" && !canWrite:
		return http.StatusForbidden
	case method == "POST" && !canWrite:
		return http.StatusForbidden
	case method == "POST":
		return http.StatusSeeOther
	}
	return http.StatusOK
}
