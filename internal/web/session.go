package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// Cookies of the dashboard.
const (
	// SessionCookie holds the signed-in person's API token.
	SessionCookie = "sluice_session"
	// loginCookie holds the login form's one-time CSRF value (a
	// double-submit token: there is no session to derive one from yet).
	loginCookie = "sluice_login"
	// csrfField is the form field that carries the CSRF token.
	csrfField = "csrf"
)

// session is a signed-in person: their token, who it names, and an API
// client that presents it.
type session struct {
	id   apiv1.Identity
	api  *client.Client
	csrf string
}

// role is the session's role.
func (s *session) role() auth.Role { return auth.Role(s.id.Role) }

// CanWrite reports whether the role may change apps, rollouts and flags.
func (s *session) CanWrite() bool { return s.role().Allows(auth.PermWrite) }

// IsAdmin reports whether the role may read the audit log and manage
// secrets and tokens.
func (s *session) IsAdmin() bool { return s.role().Allows(auth.PermAdmin) }

// Name is the token's name.
func (s *session) Name() string { return s.id.Name }

// Role is the token's role, for display.
func (s *session) Role() string { return s.id.Role }

// CSRF is the form token of the session.
func (s *session) CSRF() string { return s.csrf }

// csrfToken derives a session's form token from its API token: only a page
// that was given the session's cookie can know it, and it needs no state on
// the server (it survives restarts, and works with several servers).
func csrfToken(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("sluice dashboard form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// errNoSession means the request carries no usable session.
var errNoSession = errors.New("not signed in")

// session reads the session cookie and asks the API who it names. A token
// that was revoked or expired since the sign-in ends the session.
func (d *Dashboard) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	api := d.client(c.Value)
	id, err := api.Whoami(withClientAddr(r.Context(), r.RemoteAddr))
	if err != nil {
		var p *apiv1.Problem
		if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
			return nil, errNoSession
		}
		return nil, err
	}
	return &session{id: id, api: api, csrf: csrfToken(c.Value)}, nil
}

// client returns an API client that presents token, in process.
func (d *Dashboard) client(token string) *client.Client {
	c, _ := client.New("http://sluice.dashboard", token, client.WithHTTPClient(&http.Client{Transport: handlerTransport{d.opts.API}}))
	return c
}

// setSession starts a session with token.
func setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// endSession clears the session cookie.
func endSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// newLoginNonce sets the login form's one-time cookie and returns its value.
func newLoginNonce(w http.ResponseWriter, r *http.Request) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	v := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v, Path: Prefix + "login", MaxAge: 600, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return v
}

// sameOrigin refuses a cross-site POST: the browser's Origin (or, without
// one, Sec-Fetch-Site) must name this server.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == "" // no Origin: an old browser or a non-browser client
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// validCSRF checks a form's CSRF token against the expected one.
func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// safeNext is where to go after signing in: a dashboard path, never
// another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}
