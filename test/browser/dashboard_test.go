package browser

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestSignInLandsOnTheOverview(t *testing.T) {
	b := startBrowser(t) // first: without a browser the test is skipped at once
	s := startServer(t)
	s.apply(helloApp("shop", freePort(t), ""))
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	p := newPage(t, b, s.url)

	p.open("/ui/")
	if got := p.path(); got != "/ui/login?next=%2Fui%2F" {
		t.Fatalf("/ui/ without a session went to %s, want the login page", got)
	}
	if h := p.text("h1"); h != "Sign in to sluice" {
		t.Fatalf("login page heading %q", h)
	}
	p.login(s.token)

	if got := p.path(); got != "/ui/" {
		t.Fatalf("signed in, landed on %s: %s", got, p.text(".error"))
	}
	row := `table.apps tbody tr:has(a[href="/ui/apps/shop"])`
	p.waitFor(10*time.Second, "the overview lists shop as healthy",
		fmt.Sprintf(`(document.querySelector(%s + " .phase") || {}).textContent === "Healthy"`, jsString(row)))
	if who := p.text("form.who"); !strings.Contains(who, "admin") {
		t.Errorf("the header does not name the admin: %q", who)
	}
	if p.nodeCount(`nav a[href="/ui/audit"]`) != 1 {
		t.Error("an admin has no Audit log link")
	}
	// The session cookie is HttpOnly (no script of the page can read it)
	// and SameSite=Strict.
	if c := eval[string](p, `document.cookie`); strings.Contains(c, "sluice_session") {
		t.Errorf("the page's script can read the session cookie: %q", c)
	}
	cookies := run(p, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url + "/ui/"}})
		return res.Cookies, err
	})
	var session *network.Cookie
	for _, c := range cookies {
		if c.Name == "sluice_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Path != "/ui/" || !session.Session {
		t.Errorf("session cookie %+v, want an HttpOnly, SameSite=Strict session cookie on /ui/", session)
	}
	p.screenshot("overview")
}

func TestCanaryAdvancesWithoutReload(t *testing.T) {
	b := startBrowser(t) // first: without a browser the test is skipped at once
	s := startServer(t)
	listen := freePort(t)
	s.apply(helloApp("shop", listen,
		"      steps: [{setWeight: 10}, {pause: {duration: 4s}}, {setWeight: 50}, {pause: {duration: 2s}}]\n"))
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	answered := startLoad(t, listen)

	p := newPage(t, b, s.url)
	p.signIn(s.token)
	p.open("/ui/apps/shop")
	if w := p.nodeCount(".split .weight"); w != 0 {
		t.Fatalf("before the deploy the split shows a candidate weight")
	}
	eval[int](p, `window.__marker = 1`)
	// The page's updates take a while, as from far away: a change that
	// happens while one is under way must still be shown.
	p.slowAnswers("/ui/apps/shop?part=1", 400*time.Millisecond)
	s.deployV2("shop")

	// Follow what the page shows as it changes by itself: the candidate's
	// weight in the split's caption, the current step, the phase.
	type view struct {
		Marker  int    `json:"marker"`
		Weight  string `json:"weight"`
		Current int    `json:"current"`
		Label   string `json:"label"`
		Done    int    `json:"done"`
		Phase   string `json:"phase"`
		Caption string `json:"caption"`
	}
	const probe = `(() => {
		const q = s => document.querySelector(s);
		const steps = [...document.querySelectorAll(".steps li")];
		const cur = steps.findIndex(li => li.getAttribute("aria-current") === "step");
		return {marker: window.__marker || 0, weight: (q(".split .weight") || {textContent: ""}).textContent.trim(),
			current: cur, label: cur >= 0 ? steps[cur].textContent.trim() : "",
			done: document.querySelectorAll(".steps li.step-done").length,
			phase: (q(".summary .phase") || {}).textContent, caption: (q(".split figcaption") || {}).textContent.replace(/\s+/g, " ").trim()};
	})()`
	var views []view
	midShot := false
	p.pollJS(60*time.Second, "the canary is promoted on the page", probe, func(raw json.RawMessage) bool {
		var v view
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("probe: %v: %s", err, raw)
		}
		if v.Marker != 1 {
			t.Fatalf("the page was reloaded (marker gone); views so far %+v", views)
		}
		if len(views) == 0 || views[len(views)-1] != v {
			views = append(views, v)
			t.Logf("page: weight %q, step %d %q (%d done), %s, %q", v.Weight, v.Current, v.Label, v.Done, v.Phase, v.Caption)
		}
		if v.Weight == "50 %" && !midShot {
			midShot = true
			p.screenshot("at-50")
		}
		return v.Weight == "" && v.Phase == apiv1.PhaseHealthy && strings.Contains(v.Caption, "revision 2")
	})
	p.screenshot("promoted")

	// The weights went up through the steps, each with its step marked.
	var weights []string
	lastStep := -1
	for _, v := range views {
		if v.Weight != "" && (len(weights) == 0 || weights[len(weights)-1] != v.Weight) {
			weights = append(weights, v.Weight)
		}
		if v.Weight != "" {
			if v.Current < 0 || v.Done != v.Current {
				t.Errorf("during the rollout no step is marked current, or the steps before it are not done: %+v", v)
			}
			if v.Current < lastStep {
				t.Errorf("the current step went back from %d: %+v", lastStep, v)
			}
			lastStep = v.Current
		}
		if v.Weight == "50 %" && v.Current < 2 {
			t.Errorf("at 50 %% the current step is %d %q, want setWeight 50%% or later", v.Current, v.Label)
		}
	}
	i10, i50 := slices.Index(weights, "10 %"), slices.Index(weights, "50 %")
	if i10 < 0 || i50 < i10 {
		t.Errorf("the page showed the weights %q, want 10 %% then 50 %%", weights)
	}
	for i := 1; i < len(weights); i++ {
		if percentOf(weights[i]) < percentOf(weights[i-1]) {
			t.Errorf("the weight went down on the page: %q", weights)
		}
	}
	if answered.Load() == 0 {
		t.Error("the load got no answer")
	}
}

// percentOf reads "12.5 %".
func percentOf(s string) float64 {
	var f float64
	fmt.Sscanf(s, "%g", &f)
	return f
}

func TestAbortFromTheAppPage(t *testing.T) {
	b := startBrowser(t) // first: without a browser the test is skipped at once
	s := startServer(t)
	listen := freePort(t)
	s.apply(helloApp("shop", listen, "      steps: [{setWeight: 20}, {pause: {}}]\n"))
	s.waitStatus("shop", "revision 1 serves", 30*time.Second, stableAt(1))
	startLoad(t, listen)
	s.deployV2("shop")
	s.waitStatus("shop", "the canary pauses at 20 %", 30*time.Second, func(st apiv1.AppStatus) bool {
		return st.CandidateRevision == 2 && st.Phase == apiv1.PhasePaused && st.Weight == 2000
	})

	p := newPage(t, b, s.url)
	p.signIn(s.token)
	p.open("/ui/apps/shop")
	if w := p.text(".split .weight"); w != "20 %" {
		t.Fatalf("the split shows the candidate at %q, want 20 %%", w)
	}
	p.submit(`.actions a[data-action="abort"]`)

	if got := p.path(); got != "/ui/apps/shop/confirm/abort" {
		t.Fatalf("the Abort button led to %s", got)
	}
	if h := p.text("h1"); h != "Abort shop?" {
		t.Errorf("confirmation heading %q", h)
	}
	effect := p.text(".effect")
	for _, want := range []string{"Revision 2 gets no more traffic at once", "from 20 % to 0", "revision 1 keeps serving"} {
		if !strings.Contains(effect, want) {
			t.Errorf("the confirmation does not say %q: %q", want, effect)
		}
	}
	p.screenshot("confirm")
	p.submit(`form.confirm button[type=submit]`)

	if got := p.path(); got != "/ui/apps/shop?done=abort" {
		t.Fatalf("after the abort the browser is on %s: %s", got, p.text(".error"))
	}
	if n := p.text(".notice"); n != "Aborted the rollout." {
		t.Errorf("notice %q", n)
	}
	p.waitFor(10*time.Second, "the page shows the rollout aborted, with no candidate weight",
		`document.querySelector(".summary .phase").textContent === "Aborted" &&
		 [...document.querySelectorAll(".split .weight")].every(w => w.textContent.trim() === "0 %")`)
	if label := eval[string](p, `document.querySelector(".split svg").getAttribute("aria-label")`); !strings.Contains(label, "revision 1 serves all traffic") && !strings.Contains(label, "revision 1: 100 %") {
		t.Errorf("the split reads %q, want revision 1 serving all traffic", label)
	}
	p.screenshot("aborted")

	st, err := s.client().AppStatus(t.Context(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != apiv1.PhaseAborted || st.Weight != 0 || st.StableRevision != 1 {
		t.Fatalf("API status after the abort: %s, weight %d, stable %d", st.Phase, st.Weight, st.StableRevision)
	}
}

// flagSet is the production FlagSet of the flag tests.
const flagSet = `apiVersion: sluice.dev/v1
kind: FlagSet
metadata:
  name: production
spec:
  flags:
    new-checkout:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "on"
`

// ofrepAnswer is an OFREP single-flag evaluation.
type ofrepAnswer struct {
	Key    string          `json:"key"`
	Value  json.RawMessage `json:"value"`
	Reason string          `json:"reason"`
}

// evaluate asks OFREP for a flag with an SDK key.
func (s *server) evaluate(sdkKey, flag string) ofrepAnswer {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.t.Context(), http.MethodPost, s.url+"/ofrep/v1/evaluate/flags/"+flag,
		strings.NewReader(`{"context": {"targetingKey": "user-1"}}`))
	req.Header.Set("Authorization", "Bearer "+sdkKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a ofrepAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &a) != nil {
		s.t.Fatalf("OFREP %s: %d %s", flag, resp.StatusCode, body)
	}
	return a
}

func TestFlagSwitchReachesOFREP(t *testing.T) {
	b := startBrowser(t) // first: without a browser the test is skipped at once
	s := startServer(t)
	s.apply(flagSet)
	sdkKey := s.createToken(apiv1.TokenRequest{Name: "web", Role: "sdk", Env: "production"})
	if a := s.evaluate(sdkKey, "new-checkout"); string(a.Value) != "true" {
		t.Fatalf("before the switch OFREP answers %+v", a)
	}

	p := newPage(t, b, s.url)
	p.signIn(s.token)
	p.open("/ui/flags/production")
	toggle := `#flag-new-checkout button.toggle`
	if got := p.text(toggle); got != "On" {
		t.Fatalf("the switch of new-checkout reads %q, want On", got)
	}

	for _, turn := range []struct {
		label, checked string
		done           func(ofrepAnswer) bool
		want           string
	}{
		{"Off", "false", func(a ofrepAnswer) bool { return a.Reason == "DISABLED" && len(a.Value) == 0 }, "reason DISABLED and no value"},
		{"On", "true", func(a ofrepAnswer) bool { return string(a.Value) == "true" && a.Reason != "DISABLED" }, "the value true"},
	} {
		p.submit(toggle)
		if got := p.path(); got != "/ui/flags/production?done=state&flag=new-checkout" {
			t.Fatalf("the switch led to %s: %s", got, p.text(".error"))
		}
		if got, checked := p.text(toggle), eval[string](p, fmt.Sprintf(`document.querySelector(%s).getAttribute("aria-checked")`, jsString(toggle))); got != turn.label || checked != turn.checked {
			t.Fatalf("after the click the switch reads %q (aria-checked %s), want %s", got, checked, turn.label)
		}
		var last ofrepAnswer
		eventually(t, 10*time.Second, "OFREP answers "+turn.want, func() bool {
			last = s.evaluate(sdkKey, "new-checkout")
			return turn.done(last)
		})
		t.Logf("switched %s: OFREP answers value %s, reason %s", turn.label, cmp.Or(string(last.Value), "(none)"), last.Reason)
		p.screenshot("switched-" + strings.ToLower(turn.label))
	}
}

func TestViewerSeesNoSecretValue(t *testing.T) {
	b := startBrowser(t) // first: without a browser the test is skipped at once
	s := startServer(t)
	random := make([]byte, 12)
	_, _ = rand.Read(random)
	value := "pw-" + hex.EncodeToString(random)
	for _, data := range []map[string]string{{"password": "first-" + value}, {"password": value, "user": "shop"}} {
		if _, err := s.client().PutSecret(t.Context(), "shop/db", data); err != nil {
			t.Fatal(err)
		}
	}
	viewer := s.createToken(apiv1.TokenRequest{Name: "ann", Role: "viewer"})

	p := newPage(t, b, s.url)
	p.signIn(viewer)
	noValue := func(where string) {
		t.Helper()
		if html := p.html(); strings.Contains(html, value) {
			t.Errorf("%s holds the secret's value", where)
		}
	}

	p.open("/ui/secrets")
	if got := p.text(`table a[href="/ui/secrets/shop/db"]`); got != "shop/db" {
		t.Fatalf("the secrets page does not list shop/db (%q)", got)
	}
	noValue("/ui/secrets")
	if p.nodeCount(`a[href="/ui/audit"]`) != 0 {
		t.Error("a viewer is offered the Audit log link")
	}
	if who := p.text("form.who"); !strings.Contains(who, "ann") || !strings.Contains(who, "viewer") {
		t.Errorf("the header does not name the viewer: %q", who)
	}

	p.submit(`table a[href="/ui/secrets/shop/db"]`)
	if h := p.text("h1"); h != "shop/db" {
		t.Fatalf("secret page heading %q", h)
	}
	keys := eval[[]string](p, `[...document.querySelectorAll("main > p code")].map(c => c.textContent)`)
	if !slices.Equal(keys, []string{"password", "user"}) {
		t.Errorf("key names %q, want password and user", keys)
	}
	if n := p.nodeCount("table tbody tr"); n != 2 {
		t.Errorf("%d versions listed, want 2", n)
	}
	noValue("/ui/secrets/shop/db")
	p.screenshot("secret")

	p.expectRefusal("/ui/audit")
	if status := p.open("/ui/audit"); status != http.StatusForbidden {
		t.Errorf("/ui/audit answers a viewer %d, want 403", status)
	}
	if msg := p.text(".error"); !strings.Contains(msg, "may not read the audit log") {
		t.Errorf("the refusal says %q", msg)
	}
	noValue("/ui/audit")
	p.screenshot("audit-refused")
}
