package web

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"sluice.dev/sluice/internal/auth"
)

// loginData is the login page's.
type loginData struct {
	Next, Nonce string
}

// loginPage shows the sign-in form; someone already signed in goes on.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := d.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d.render(w, http.StatusOK, "login", view{Title: "Sign in", Data: loginData{Next: next, Nonce: newLoginNonce(w, r)}})
}

// login checks a token with the API and starts a session with it.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	next := safeNext(r.PostFormValue("next"))
	again := func(status int, msg string) {
		d.render(w, status, "login", view{Title: "Sign in", Error: msg, Data: loginData{Next: next, Nonce: newLoginNonce(w, r)}})
	}
	c, err := r.Cookie(loginCookie)
	if !sameOrigin(r) || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		again(http.StatusForbidden, "The sign-in form expired or came from another site. Try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		again(http.StatusBadRequest, "Enter an API token.")
		return
	}
	id, err := d.client(token).Whoami(withClientAddr(r.Context(), r.RemoteAddr))
	if err != nil {
		if p, ok := problemOf(err); ok {
			switch p.Status {
			case http.StatusUnauthorized:
				again(http.StatusUnauthorized, "That token is unknown, revoked or expired.")
				return
			case http.StatusTooManyRequests:
				again(http.StatusTooManyRequests, "Too many failed sign-ins from this address; wait a little and try again.")
				return
			}
		}
		d.fail(w, r, nil, err)
		return
	}
	if auth.Role(id.Role) == auth.RoleSDK {
		again(http.StatusForbidden, "SDK keys evaluate flags only; they cannot sign in to the dashboard.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: Prefix + "login", MaxAge: -1})
	setSession(w, r, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	endSession(w, r)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
