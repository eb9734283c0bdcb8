package browser

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// docsImages is where the documentation's screenshots live.
const docsImages = "../../docs/images"

// maxScreenshotBytes keeps the committed images small.
const maxScreenshotBytes = 300 << 10

// TestDocumentationScreenshots regenerates docs/images/*.png, the
// dashboard's pages as docs/dashboard.md shows them, at a laptop's size:
//
//	SLUICE_UPDATE_SCREENSHOTS=1 go test -run TestDocumentationScreenshots ./test/browser/
//
// It sets up a small but busy server first: three apps, one of them in the
// middle of a canary with its analysis measured; a FlagSet with a few
// flags, one rolled out to a share of users through the flag's page;
// secrets; and the audit entries all of that made.
func TestDocumentationScreenshots(t *testing.T) {
	if os.Getenv("SLUICE_UPDATE_SCREENSHOTS") != "1" {
		t.Skip("set SLUICE_UPDATE_SCREENSHOTS=1 to regenerate docs/images")
	}
	b := startBrowser(t) // first: without a browser the test is skipped at once
	s := startServer(t)
	ctx := t.Context()
	shop, api, billing := freePort(t), freePort(t), freePort(t)
	s.apply(docsApp("shop", shop, `      steps:
        - setWeight: 20
        - analysis: {templates: [{name: smoke}]}
        - setWeight: 50
        - pause: {}
      analysis: {templates: [{name: golden-signals}]}
`) + "---\n" + docsApp("api", api, "") + "---\n" + docsApp("billing", billing, "") + docsTemplates + "---\n" + docsFlags)
	for _, app := range []string{"shop", "api", "billing"} {
		s.waitStatus(app, app+" serves", 30*time.Second, stableAt(1))
	}
	for _, addr := range []string{shop, api, billing} {
		startLoad(t, addr)
	}
	for path, data := range map[string]map[string]string{
		"shop/db":     {"user": "shop", "password": "not-shown-1"},
		"shop/stripe": {"api-key": "not-shown-2"},
		"api/jwt":     {"signing-key": "not-shown-3"},
	} {
		if _, err := s.client().PutSecret(ctx, path, data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.client().PutSecret(ctx, "shop/db", map[string]string{"user": "shop", "password": "not-shown-4"}); err != nil {
		t.Fatal(err)
	}
	s.createToken(apiv1.TokenRequest{Name: "web-frontend", Role: "sdk", Env: "production"})
	s.deployV2("shop")

	p := newPage(t, b, s.url)
	p.signIn(s.token)

	// A flag rolled out to a quarter of the users, through its page.
	p.open("/ui/flags/production/flag/new-checkout")
	p.do(chromedp.SetValue(chromedp.CSS("#percent"), "25"))
	p.submit(`form.rollout button[type=submit]`)
	if n := p.text(".notice"); n != "Saved the rollout of new-checkout." {
		t.Fatalf("the rollout form answered %q: %s", n, p.text(".error"))
	}

	// The canary: at 50 % after its analysis step, with the background
	// analysis measured for a while.
	s.waitStatus("shop", "the canary pauses at 50 % with its analysis measured", 90*time.Second, func(st apiv1.AppStatus) bool {
		if st.Phase == apiv1.PhaseAborted {
			t.Fatalf("the canary was aborted: %s", st.Message)
		}
		if st.Phase != apiv1.PhasePaused || st.Weight != 5000 {
			return false
		}
		ms, err := s.client().Measurements(ctx, "shop", client.MeasurementQuery{})
		return err == nil && len(ms) >= 30
	})

	shots := []struct{ file, path, ready string }{
		{"overview", "/ui/", `document.querySelectorAll("table.apps tbody tr").length === 3`},
		{"app-canary", "/ui/apps/shop", `document.querySelectorAll(".chart .point").length >= 12`},
		{"flags", "/ui/flags/production", `document.querySelector("table.flags") !== null`},
		{"flag", "/ui/flags/production/flag/new-checkout", `document.querySelector("#percent").value === "25"`},
		{"audit", "/ui/audit", `document.querySelectorAll("tbody tr").length > 5`},
		{"secrets", "/ui/secrets", `document.querySelectorAll("tbody tr").length === 3`},
	}
	for _, shot := range shots {
		p.open(shot.path)
		p.waitFor(10*time.Second, shot.file+" is ready", shot.ready)
		png := p.screenshot("docs-" + shot.file)
		b, err := os.ReadFile(png)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxScreenshotBytes {
			t.Errorf("%s is %d KB, over %d KB", shot.file, len(b)>>10, maxScreenshotBytes>>10)
		}
		file := filepath.Join(docsImages, shot.file+".png")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KB)", file, len(b)>>10)
	}
}

// docsApp is an App of examples/hello with two instances and a little
// latency jitter, so its charts have something to show.
func docsApp(name, listen, canary string) string {
	return helloAppWith(name, listen, 2, "        - {name: LATENCY_JITTER, value: 15ms}\n", canary)
}

// docsTemplates are the analysis templates of the documentation's canary.
const docsTemplates = `---
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: smoke
spec:
  metrics:
    - name: success-rate
      interval: 1s
      count: 5
      inconclusiveLimit: 5
      provider:
        builtin: {window: 5s, minRequests: 10}
      successCondition: candidate.successRate >= stable.successRate - 0.01
---
apiVersion: sluice.dev/v1
kind: AnalysisTemplate
metadata:
  name: golden-signals
spec:
  metrics:
    - name: success-rate
      interval: 1s
      inconclusiveLimit: 5
      provider:
        builtin: {window: 10s, minRequests: 10}
      successCondition: candidate.successRate >= stable.successRate - 0.01
    - name: latency
      interval: 1s
      inconclusiveLimit: 5
      provider:
        builtin: {window: 10s, minRequests: 10}
      failureLimit: 3
      successCondition: candidate.p99 <= stable.p99 * 1.5 + 0.02
`

// docsFlags is the documentation's production FlagSet.
const docsFlags = `apiVersion: sluice.dev/v1
kind: FlagSet
metadata:
  name: production
spec:
  flags:
    new-checkout:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "off"
    dark-mode:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "on"
    search-v2:
      state: DISABLED
      variants: {"on": true, "off": false}
      defaultVariant: "off"
    banner-text:
      state: ENABLED
      variants: {"plain": "Welcome", "sale": "Summer sale: 20 % off"}
      defaultVariant: "plain"
      targeting:
        if: [{"starts_with": [{"var": "email"}, "staff@"]}, "sale", null]
`
