package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// exported are the series sluice exports on /metrics (docs/install.md lists
// them), plus `up` for its scrape job. Dashboards and rules may use no other
// sluice_ name.
var exported = []string{
	"sluice_http_requests_total",
	"sluice_http_request_duration_seconds_bucket",
	"sluice_http_requests_in_flight",
	"sluice_upstream_connect_errors_total",
	"sluice_rollout_candidate_weight_ratio",
	"sluice_rollout_phase",
	"sluice_rollouts_total",
	"sluice_analysis_measurements_total",
	"sluice_instances",
	"sluice_instance_restarts_total",
	"sluice_flag_evaluations_total",
	"sluice_build_info",
}

var (
	sluiceName = regexp.MustCompile(`\bsluice_[a-z0-9_]+`)
	upSluice   = regexp.MustCompile(`\bup\{job="sluice"\}`)
)

// checkExpr reports an expression that reads no sluice series, or one that
// sluice does not export.
func checkExpr(t *testing.T, where, expr string) {
	t.Helper()
	names := sluiceName.FindAllString(expr, -1)
	if len(names) == 0 && !upSluice.MatchString(expr) {
		t.Errorf("%s: %q reads no sluice series", where, expr)
	}
	for _, n := range names {
		if !slices.Contains(exported, n) {
			t.Errorf("%s: %q uses %s, which sluice does not export", where, expr, n)
		}
	}
}

// dashboard is the part of a Grafana dashboard model this test reads.
type dashboard struct {
	UID         string  `json:"uid"`
	Title       string  `json:"title"`
	Panels      []panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name       string          `json:"name"`
			Datasource json.RawMessage `json:"datasource"`
			Expr       string          `json:"expr"`
			TagKeys    string          `json:"tagKeys"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// dashboardExprs returns every PromQL expression of the dashboard by where
// it is.
func dashboardExprs(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out[fmt.Sprintf("annotation %q", a.Name)] = a.Expr
		}
	}
	return out
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("grafana/dashboards/sluice.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("sluice.json: %v", err)
	}
	return d
}

func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d appears twice", p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.X < 0 || g.X+g.W > 24 || g.H <= 0 {
			t.Errorf("panel %q lies outside the 24-column grid: %+v", p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	exprs := dashboardExprs(t, d)
	for where, e := range exprs {
		checkExpr(t, where, e)
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			checkExpr(t, "variable "+v.Name, string(v.Query))
		}
	}

	// What the dashboard is for: each of these is shown.
	joined := strings.Join(slices.Collect(maps.Values(exprs)), "\n")
	for _, want := range []struct{ what, pattern string }{
		{"request rate by revision", `sum by \(app, revision\) \(rate\(sluice_http_requests_total\{app=~"\$app"\}`},
		{"error rate by revision", `code=~"5\.\."`},
		{"p99 by revision", `histogram_quantile\(0\.99, sum by \(app, revision, le\) \(rate\(sluice_http_request_duration_seconds_bucket`},
		{"canary weight", `sluice_rollout_candidate_weight_ratio`},
		{"analysis results", `sum by \(app, template, metric, verdict\) \(increase\(sluice_analysis_measurements_total`},
		{"flag evaluations", `sluice_flag_evaluations_total\{env=~"\$env"\}`},
	} {
		if !regexp.MustCompile(want.pattern).MatchString(joined) {
			t.Errorf("the dashboard does not show the %s", want.what)
		}
	}
	rollouts := false
	for _, a := range d.Annotations.List {
		if strings.Contains(a.Expr, "sluice_rollouts_total") && strings.Contains(a.TagKeys, "result") {
			rollouts = true
		}
	}
	if !rollouts {
		t.Error("rollout events are not annotations from sluice_rollouts_total")
	}
}

// grafanaMacros gives Grafana's variables values that Prometheus accepts.
var grafanaMacros = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$app", ".*", "$env", ".*")

// TestDashboardQueriesParse has promtool parse every query of the
// dashboard (with Grafana's variables filled in), by checking them as
// recording rules.
func TestDashboardQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus; .ci/run installs it): queries are checked for their names only")
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	exprs := dashboardExprs(t, loadDashboard(t))
	for _, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query%d", len(rules)), Expr: grafanaMacros.Replace(e)})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(rules)); !strings.Contains(string(out), want) {
		t.Errorf("promtool: %s; want %q", out, want)
	}
}

// TestAlertRulesUseExportedNames checks that the alerting rules read only
// what sluice exports, and that both scrape configs name the job the rules
// select.
func TestAlertRulesUseExportedNames(t *testing.T) {
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	data, err := os.ReadFile("prometheus/rules/sluice-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExpr(t, "alert "+r.Alert, r.Expr)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a severity, a summary and a description", r.Alert)
			}
		}
	}
	for _, want := range []string{"SluiceDown", "SluiceRolloutAborted", "SluiceCandidateErrorRateRegression", "SluiceInstanceFlapping"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
	// Each alert has a unit test that makes it fire.
	tests, err := os.ReadFile("prometheus/tests/sluice-alerts.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if !regexp.MustCompile(`alertname: ` + a + `\n\s+exp_alerts:\n\s+- exp_labels:`).Match(tests) {
			t.Errorf("no promtool test makes %s fire", a)
		}
	}

	for _, file := range []string{"prometheus/prometheus.yml", "prometheus/prometheus-kubernetes.yml"} {
		var cfg struct {
			RuleFiles     []string `json:"rule_files"`
			ScrapeConfigs []struct {
				JobName string `json:"job_name"`
			} `json:"scrape_configs"`
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		jobs := map[string]bool{}
		for _, s := range cfg.ScrapeConfigs {
			jobs[s.JobName] = true
		}
		if !jobs["sluice"] {
			t.Errorf("%s: no scrape job named sluice, which the alerts select", file)
		}
		if !slices.Contains(cfg.RuleFiles, "rules/*.yml") {
			t.Errorf("%s: does not load rules/*.yml", file)
		}
	}
	// The Kubernetes scrape follows the annotations the manifests set.
	k8s, _ := os.ReadFile("prometheus/prometheus-kubernetes.yml")
	for _, a := range []string{"prometheus_io_scrape", "prometheus_io_port", "prometheus_io_path"} {
		if !strings.Contains(string(k8s), "__meta_kubernetes_pod_annotation_"+a) {
			t.Errorf("prometheus-kubernetes.yml does not read the %s annotation", a)
		}
	}
}
