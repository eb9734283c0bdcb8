package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// Prefix is where the dashboard is served.
const Prefix = "/ui/"

//go:embed templates static
var assets embed.FS

// Options wires the dashboard to the API.
type Options struct {
	// API serves sluice's REST API; every page and action is made of calls
	// to it. Required.
	API http.Handler
	// Logger receives errors the dashboard could not show to anyone.
	Logger *slog.Logger
	// Now is the clock of relative times on pages; nil: time.Now.
	Now func() time.Time
	// Version is the server's version, shown in the footer.
	Version string
}

// Dashboard serves the web dashboard.
type Dashboard struct {
	opts   Options
	log    *slog.Logger
	pages  map[string]*template.Template
	static http.Handler
}

// Route is one path of the dashboard. The dashboard authenticates its own
// requests (with the session cookie), so its routes need no API permission.
type Route struct {
	// Pattern is a net/http ServeMux pattern.
	Pattern string
	// Handler serves it.
	Handler http.Handler
}

// New builds the dashboard. It fails only if its embedded templates do not
// parse.
func New(opts Options) (*Dashboard, error) {
	if opts.API == nil {
		return nil, errors.New("web: Options.API is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Dashboard{opts: opts, log: opts.Logger}
	var err error
	if d.pages, err = parsePages(opts.Now); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(assets, "static")
	d.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	return d, nil
}

// Routes lists the dashboard's routes.
func (d *Dashboard) Routes() []Route {
	h := func(f http.HandlerFunc) http.Handler { return secured(f) }
	return []Route{
		{"GET /{$}", http.RedirectHandler(Prefix, http.StatusFound)},
		{"GET /ui", http.RedirectHandler(Prefix, http.StatusMovedPermanently)},
		{"GET /ui/static/", cached(d.static)},
		{"GET /ui/login", h(d.loginPage)},
		{"POST /ui/login", h(d.login)},
		{"POST /ui/logout", h(d.action(d.logout))},
		{"GET /ui/{$}", h(d.page(d.overview))},
		{"GET /ui/apps/{name}", h(d.page(d.appPage))},
		{"GET /ui/apps/{name}/confirm/{action}", h(d.page(d.confirmPage))},
		{"POST /ui/apps/{name}/rollout/{action}", h(d.action(d.rolloutAction))},
		{"GET /ui/events", h(d.events)},
		{"GET /ui/flags", h(d.page(d.flagSets))},
		{"GET /ui/flags/{env}", h(d.page(d.flagSet))},
		{"GET /ui/flags/{env}/history", h(d.page(d.flagHistory))},
		{"POST /ui/flags/{env}/revert", h(d.action(d.flagRevert))},
		{"GET /ui/flags/{env}/flag/{key}", h(d.page(d.flagPage))},
		{"POST /ui/flags/{env}/flag/{key}/state", h(d.action(d.flagState))},
		{"POST /ui/flags/{env}/flag/{key}/rollout", h(d.action(d.flagRollout))},
		{"POST /ui/flags/{env}/flag/{key}/targeting", h(d.action(d.flagTargeting))},
		{"GET /ui/audit", h(d.page(d.auditPage))},
		{"GET /ui/secrets", h(d.page(d.secretsPage))},
		{"GET /ui/secrets/{path...}", h(d.page(d.secretPage))},
	}
}

// contentSecurityPolicy allows the dashboard's own scripts, styles and
// server-sent events, and nothing else: no inline script or style, no
// framing, no form posted elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secured sets the headers every dashboard answer carries.
func secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// cached serves the embedded assets with the security headers; they may be
// cached briefly, since a new build may change them.
func cached(next http.Handler) http.Handler {
	return secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	}))
}

// pageFunc renders one page for a signed-in person.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session)

// page makes a GET handler that needs a session: without one the browser
// is sent to the login page, and back here after it.
func (d *Dashboard) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.session(r)
		if errors.Is(err, errNoSession) {
			endSession(w, r)
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err != nil {
			d.fail(w, r, nil, err)
			return
		}
		fn(w, r.WithContext(withClientAddr(r.Context(), r.RemoteAddr)), s)
	}
}

// action makes a POST handler that needs a session, a same-origin request
// and the session's CSRF token; anything else changes nothing.
func (d *Dashboard) action(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if !sameOrigin(r) {
			d.refuse(w, r, nil, http.StatusForbidden, "This form was sent from another site; nothing was changed.")
			return
		}
		s, err := d.session(r)
		if errors.Is(err, errNoSession) {
			endSession(w, r)
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.fail(w, r, nil, err)
			return
		}
		if !validCSRF(r, s.csrf) {
			d.refuse(w, r, s, http.StatusForbidden, "The form has expired or did not come from this dashboard; nothing was changed. Reload the page and try again.")
			return
		}
		fn(w, r.WithContext(withClientAddr(r.Context(), r.RemoteAddr)), s)
	}
}

// maxFormBytes bounds a form's body: a flag's targeting rule is the largest
// thing a form sends.
const maxFormBytes = 256 << 10

// isInvalid reports whether the API refused what was sent as invalid (400
// or 422): the person's to fix, shown with the form.
func isInvalid(p *apiv1.Problem) bool {
	return p.Status == http.StatusBadRequest || p.Status == http.StatusUnprocessableEntity
}

// problemOf returns the API's problem behind err, if any.
func problemOf(err error) (*apiv1.Problem, bool) {
	var p *apiv1.Problem
	ok := errors.As(err, &p)
	return p, ok
}
