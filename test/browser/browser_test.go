package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// laptopWidth and laptopHeight are every page's viewport: a laptop's screen.
const laptopWidth, laptopHeight = 1280, 900

// actionTimeout bounds one browser action (a navigation, a click, a read).
const actionTimeout = 20 * time.Second

// chromium returns the browser to drive: $SLUICE_CHROMIUM, else Debian's
// chromium (or another Chromium-based browser) on the PATH. Without one
// the test is skipped, or fails under CI, which must install it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SLUICE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		t.Fatal("chromium is not installed; CI must have it (.ci/run: apt-get install chromium)")
	}
	t.Skip("skipping the browser tests: chromium is not installed (apt-get install chromium, or set SLUICE_CHROMIUM to a Chromium binary)")
	return ""
}

// startBrowser starts a headless Chromium with a fresh profile for the
// test and returns its context; the test's cleanup closes it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	out := &syncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// A closed network makes Chromium wait on its background
		// services; none of them is needed.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(laptopWidth, laptopHeight),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", tail(out.String(), 4000))
		}
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start %s: %v\n%s", exe, err, out)
	}
	t.Logf("chromium started in %s", time.Since(start).Round(time.Millisecond))
	return ctx
}

// page is one tab, in a browser context of its own (its own cookies), on
// a sluice server's dashboard. It records what the page writes to the
// console; at the end of the test any Content-Security-Policy violation,
// uncaught exception or error fails the test.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	console  []string // every message, for the log of a failed test
	problems []string
	// refusals are paths whose 4xx answers the test expects: the browser
	// logs those as errors too.
	refusals []string
}

// newPage opens a tab in a new browser context of the browser at bctx,
// with a laptop-sized viewport, on the dashboard at base.
func newPage(t *testing.T, bctx context.Context, base string) *page {
	t.Helper()
	p := &page{t: t, base: base}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.observe))
	p.ctx = ctx
	t.Cleanup(func() {
		defer cancel()
		p.finish()
	})
	// The first run opens the tab and binds its life (and the listener's)
	// to its context: that one must have no deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	p.do(chromedp.EmulateViewport(laptopWidth, laptopHeight))
	return p
}

// observe records console messages, exceptions and browser log entries.
// It runs in the tab's event loop, in the order the browser sent them.
func (p *page) observe(ev any) {
	var kind, text, url string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		kind = string(ev.Type)
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
		}
		text = strings.Join(parts, " ")
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			url = st.CallFrames[0].URL
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		kind, text, url = "exception", d.Text, d.URL
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		kind, text, url = string(ev.Entry.Level), ev.Entry.Text, ev.Entry.URL
		if ev.Entry.Source != "" {
			kind += "/" + string(ev.Entry.Source)
		}
	default:
		return
	}
	line := fmt.Sprintf("%s: %s", kind, text)
	if url != "" {
		line += " (" + url + ")"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.console = append(p.console, line)
	if p.isProblem(kind, text, url) {
		p.problems = append(p.problems, line)
	}
}

// refusedStatus matches the browser's line about a resource answered with
// an error status.
var refusedStatus = regexp.MustCompile(`status of 4\d\d`)

// isProblem reports whether a console line shows a broken page: a CSP
// violation, an exception, an error the page logged, or a request that
// failed, except the refusals the test expects.
func (p *page) isProblem(kind, text, url string) bool {
	if strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Content-Security-Policy") {
		return true
	}
	if kind != "exception" && kind != "error" && !strings.HasPrefix(kind, "error/") && kind != "assert" {
		return false
	}
	if refusedStatus.MatchString(text) {
		for _, r := range p.refusals {
			if strings.HasPrefix(strings.TrimPrefix(url, p.base), r) {
				return false
			}
		}
	}
	return true
}

// expectRefusal tells the page that 4xx answers for paths starting with
// prefix are what the test wants.
func (p *page) expectRefusal(prefix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusals = append(p.refusals, prefix)
}

// finish fails the test for any problem the console showed, and on a
// failed test saves a screenshot and logs the console.
func (p *page) finish() {
	// A round trip: every event the browser sent before its answer has
	// been observed when it returns.
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	cancel()
	p.mu.Lock()
	problems, console := p.problems, p.console
	p.mu.Unlock()
	for _, pr := range problems {
		p.t.Errorf("the page reported a problem: %s", pr)
	}
	if p.t.Failed() {
		p.t.Logf("page %s; console:\n  %s", loc, strings.Join(console, "\n  "))
		p.screenshot("failed")
	}
}

// do runs actions in the tab, failing the test on an error.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// run runs one action in the tab and returns its value.
func run[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	return run(p, chromedp.Evaluate[T](expr))
}

// open navigates to a dashboard path and returns the HTTP status of the
// answer the browser ended on.
func (p *page) open(path string) int64 {
	p.t.Helper()
	resp := run(p, chromedp.NavigateResponse(p.base+path))
	if resp == nil {
		return 0
	}
	return resp.Status
}

// path is the page's current path and query.
func (p *page) path() string {
	p.t.Helper()
	return eval[string](p, `location.pathname + location.search`)
}

// submit clicks a form's button (or a link) and waits for the page it
// leads to.
func (p *page) submit(sel string) {
	p.t.Helper()
	run(p, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

// text is the trimmed text of the first element matching a CSS selector,
// "" when none does.
func (p *page) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%s) || {textContent: ""}).textContent.trim()`, jsString(sel)))
}

// html is the whole document as the browser holds it now.
func (p *page) html() string {
	p.t.Helper()
	return eval[string](p, `document.documentElement.outerHTML`)
}

// waitFor polls a JavaScript expression in the page every 50ms until it
// is truthy, without reloading the page; fails the test after within.
// (chromedp.Poll would compile the predicate with new Function, which the
// dashboard's CSP rightly refuses.)
func (p *page) waitFor(within time.Duration, what, expr string) {
	p.t.Helper()
	p.pollJS(within, what, expr, func(v json.RawMessage) bool {
		var b bool
		return json.Unmarshal(v, &b) == nil && b
	})
}

// pollJS evaluates expr every 50ms and passes its JSON value to done
// until done returns true.
func (p *page) pollJS(within time.Duration, what, expr string, done func(json.RawMessage) bool) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	var last json.RawMessage
	for {
		ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
		cancel()
		if err == nil {
			last = v
			if done(v) {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %s waiting until %s; last value %s, error %v", within, what, last, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slowAnswers delays the browser's requests for URLs matching a
// URLPattern (relative to the server) by latency before their answers
// arrive, as a dashboard far away from its user would see them.
func (p *page) slowAnswers(pattern string, latency time.Duration) {
	p.t.Helper()
	p.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{URLPattern: p.base + pattern, Latency: float64(latency.Milliseconds()),
				DownloadThroughput: -1, UploadThroughput: -1}},
		})
		return err
	}))
}

// screenshot saves a full-page PNG in the test's artifacts directory.
func (p *page) screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	file := filepath.Join(artifactsDir(p.t), name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("screenshot: %s", file)
	return file
}

// login signs in with a token on the login page the browser is on, and
// waits for the page it leads to.
func (p *page) login(token string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), token))
	p.submit(`form[action="/ui/login"] button[type=submit]`)
}

// signIn opens the login page and signs in with a token.
func (p *page) signIn(token string) {
	p.t.Helper()
	p.open("/ui/login")
	p.login(token)
	if got := p.path(); strings.HasPrefix(got, "/ui/login") {
		p.t.Fatalf("still on the login page after signing in: %s: %s", got, p.text(".error"))
	}
}

// nodeCount counts the elements matching a CSS selector.
func (p *page) nodeCount(sel string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel)))
}

// artifactsDir is where a test keeps its screenshots:
// $SLUICE_TEST_ARTIFACTS/<test>, by default under the system's temporary
// directory. Earlier files of the same test are replaced.
func artifactsDir(t *testing.T) string {
	base := os.Getenv("SLUICE_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "sluice-test-artifacts")
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
