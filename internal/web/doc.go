// Package web serves sluice's dashboard: server-rendered pages that show
// apps, rollouts, flags, secrets and the audit log, and let people steer
// rollouts and flags from a browser.
//
// The dashboard holds no state and no privileges of its own. A person signs
// in with an API token, which is kept in an HttpOnly, SameSite=Strict
// cookie (Secure under TLS); every page and every action is made of calls
// to sluice's own REST API, sent in process to the API's handler with that
// token and the browser's address. So the API's role checks, validation
// and audit log apply to the dashboard exactly as they apply to the CLI,
// and what a role may not do is refused there even if a page offered it
// (pages offer only what the signed-in role may do).
//
// Forms carry a CSRF token derived from the session, and each POST is also
// checked against the Origin header. Pages are sent with a strict
// Content-Security-Policy: scripts and styles come only from the embedded
// assets, never inline. Everything is readable and usable without
// JavaScript; the small script in static/app.js adds live updates (it
// follows the API's server-sent event stream and re-renders the live part
// of a page from the server) and confirmation-free refreshes.
package web
