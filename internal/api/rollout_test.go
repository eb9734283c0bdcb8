package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/runtime/process"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// setStatus stores an app's status as the rollout controller would.
func setStatus(t *testing.T, st store.Store, app string, status apiv1.AppStatus) {
	t.Helper()
	_, err := resources.New(st).UpdateStatus(context.Background(), spec.KindApp, app, func(store.Object) (json.RawMessage, []store.Event, error) {
		b, err := json.Marshal(status)
		return b, nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func statusOfBody(t *testing.T, body []byte) apiv1.AppStatus {
	t.Helper()
	var o apiv1.Object
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var st apiv1.AppStatus
	if err := json.Unmarshal(o.Status, &st); err != nil {
		t.Fatalf("%v: %s", err, o.Status)
	}
	return st
}

func TestRolloutActions(t *testing.T) {
	f := newFixture(t)
	if resp, body := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", webApp); resp.StatusCode != 200 {
		t.Fatalf("apply: %s", body)
	}
	resp, body := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/web/rollout/promote", "")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "no rollout is in progress") {
		t.Fatalf("promote without a rollout: %d %s", resp.StatusCode, body)
	}
	now := time.Now().UTC()
	setStatus(t, f.store, "web", apiv1.AppStatus{Phase: apiv1.PhasePaused, LatestRevision: 2, StableRevision: 1, CandidateRevision: 2,
		RolloutDetails: apiv1.RolloutDetails{Rollout: &apiv1.RolloutState{StartedAt: now, ProgressAt: now}}})

	if resp, _ := f.do(t, auth.RoleViewer, "POST", "/api/v1/apps/web/rollout/promote", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer promoted: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/web/rollout/frobnicate", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown action: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/nope/rollout/promote", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown app: %d", resp.StatusCode)
	}
	resp, body = f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/web/rollout/promote", "")
	if resp.StatusCode != 200 || !statusOfBody(t, body).Rollout.PromoteRequested {
		t.Fatalf("promote: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/web/rollout/pause", "")
	if st := statusOfBody(t, body); resp.StatusCode != 200 || !st.Paused {
		t.Fatalf("pause: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/web/rollout/abort", "")
	st := statusOfBody(t, body)
	if resp.StatusCode != 200 || st.Phase != apiv1.PhaseAborted || st.CandidateRevision != 0 || st.RejectedRevision != 2 {
		t.Fatalf("abort: %d %s", resp.StatusCode, body)
	}
	_, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/events?app=web", "")
	var evs apiv1.EventList
	json.Unmarshal(body, &evs)
	var reasons []string
	for _, e := range evs.Items {
		reasons = append(reasons, e.Reason)
	}
	if got := strings.Join(reasons, ","); !strings.HasSuffix(got, "PromoteRequested,Paused,Aborted") {
		t.Fatalf("events %s", got)
	}
	if last := evs.Items[len(evs.Items)-1]; last.Type != store.EventWarning || !strings.Contains(last.Message, "aborted by deployer") {
		t.Fatalf("abort event %+v", last)
	}
}

func TestDeploy(t *testing.T) {
	f := newFixture(t)
	if resp, body := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", webApp); resp.StatusCode != 200 {
		t.Fatalf("apply: %s", body)
	}
	deploy := func(body string) (int, apiv1.DeployResult, string) {
		resp, b := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/web/deploy", body)
		var res apiv1.DeployResult
		json.Unmarshal(b, &res)
		return resp.StatusCode, res, string(b)
	}
	code, res, raw := deploy(`{"env": {"VERSION": "v2", "A": "1"}, "version": "v2"}`)
	if code != 200 || res.Revision != 2 || res.Applied.Action != apiv1.ActionConfigured || res.Status.LatestRevision != 2 {
		t.Fatalf("deploy: %d %s", code, raw)
	}
	_, body := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web", "")
	var o apiv1.Object
	json.Unmarshal(body, &o)
	var app spec.App
	json.Unmarshal(o.Spec, &app)
	if app.Version != "v2" || len(app.Runtime.Process.Env) != 2 || app.Runtime.Process.Env[0].Name != "A" {
		t.Fatalf("spec after deploy: %s", o.Spec)
	}
	code, res, raw = deploy(`{"env": {"VERSION": "v2"}}`)
	if code != 200 || res.Applied.Action != apiv1.ActionUnchanged || res.Revision != 2 {
		t.Fatalf("deploy without a change: %d %s", code, raw)
	}
	code, res, raw = deploy(`{"command": ["./web2", "--fast"]}`)
	if code != 200 || res.Revision != 3 {
		t.Fatalf("deploy a command: %d %s", code, raw)
	}
	if code, _, raw = deploy(`{"env": {"bad name": "x"}}`); code != 400 || !strings.Contains(raw, "spec.runtime.process.env") {
		t.Fatalf("deploy an invalid env: %d %s", code, raw)
	}
	if code, _, raw = deploy(`{"nope": 1}`); code != 400 {
		t.Fatalf("deploy an unknown field: %d %s", code, raw)
	}
	if resp, _ := f.do(t, auth.RoleDeployer, "POST", "/api/v1/apps/nope/deploy", `{}`); resp.StatusCode != 404 {
		t.Fatalf("deploy an unknown app: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, auth.RoleViewer, "POST", "/api/v1/apps/web/deploy", `{}`); resp.StatusCode != 403 {
		t.Fatalf("a viewer deployed: %d", resp.StatusCode)
	}
}

func TestLogs(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content)
		f.Close()
	}
	write("web/1/web-1-aaa.log", "one\ntwo\n")
	write("web/2/web-2-bbb.log", "three\n")
	f := newFixture(t)
	a := New(Options{Resources: resources.New(f.store), Auth: auth.NewTokens(f.store, time.Now), Tokens: auth.NewTokens(f.store, time.Now),
		Logs: process.NewLogReader(dir)})
	f.srv.Config.Handler = a
	f.do(t, auth.RoleDeployer, "POST", "/api/v1/apply", webApp)

	_, body := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web/logs", "")
	if got := string(body); got != "[web-1-aaa] one\n[web-1-aaa] two\n[web-2-bbb] three\n" {
		t.Fatalf("all logs: %q", got)
	}
	_, body = f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web/logs?revision=2&instance=web-2-bbb", "")
	if got := string(body); got != "three\n" {
		t.Fatalf("one instance: %q", got)
	}
	if resp, _ := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/web/logs?revision=x", ""); resp.StatusCode != 400 {
		t.Fatalf("bad revision: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, auth.RoleViewer, "GET", "/api/v1/apps/nope/logs", ""); resp.StatusCode != 404 {
		t.Fatalf("unknown app: %d", resp.StatusCode)
	}

	// Following shows new output, and the output of instances that start.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/apps/web/logs?revision=2&follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[auth.RoleViewer])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	if got := next(); got != "[web-2-bbb] three" {
		t.Fatalf("first line %q", got)
	}
	write("web/2/web-2-bbb.log", "four\n")
	if got := next(); got != "[web-2-bbb] four" {
		t.Fatalf("followed line %q", got)
	}
	write("web/2/web-2-ccc.log", "five\n")
	if got := next(); got != "[web-2-ccc] five" {
		t.Fatalf("new instance's line %q", got)
	}
}
