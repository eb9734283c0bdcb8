package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/internal/audit"
	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/pkg/apiv1"
)

// AuditLog appends audit entries and reads them back; *audit.Log is the
// implementation.
type AuditLog interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
	List(ctx context.Context, q audit.Query) ([]audit.Entry, error)
}

// auditTimeout bounds recording one entry, which happens after the answer
// and outlives a caller that hung up.
const auditTimeout = 5 * time.Second

// auditNote collects what the route's inner handlers learn about the
// caller, for the audit entry written when the call ends.
type auditNote struct {
	identity      auth.Identity
	authenticated bool
}

// noteIdentity tells the audit middleware who the caller is.
func noteIdentity(r *http.Request, id auth.Identity) {
	if n, ok := r.Context().Value(keyAudit).(*auditNote); ok {
		n.identity, n.authenticated = id, true
	}
}

// digestingBody hashes what is read through it.
type digestingBody struct {
	io.ReadCloser
	hash hash.Hash
	read int64
}

func (d *digestingBody) Read(p []byte) (int, error) {
	n, err := d.ReadCloser.Read(p)
	d.hash.Write(p[:n])
	d.read += int64(n)
	return n, err
}

// audited records calls of one route, which needs perm, in the audit log,
// as audit.Recorded decides: who (token name and role), from where, what (method and route
// pattern), about which resource, the answer's status, and the SHA-256 of
// the request body. Bodies of secret routes hold values and get no digest.
func (a *API) audited(pattern string, perm auth.Permission, next http.Handler) http.Handler {
	if a.opts.Audit == nil {
		return next
	}
	limit := bodyLimit(pattern)
	sensitive := holdsSecretValues(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note := &auditNote{}
		var body *digestingBody
		if r.Body != nil && r.Body != http.NoBody && !sensitive {
			body = &digestingBody{ReadCloser: r.Body, hash: sha256.New()}
			r.Body = body
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), keyAudit, note)))
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		call := audit.Call{Method: r.Method, Status: status, SecretRead: readsSecretValue(r.Method, pattern),
			Privileged: perm == auth.PermWrite || perm == auth.PermAdmin}
		if !audit.Recorded(call) {
			return
		}
		e := audit.Entry{
			Source: sourceOf(r), Action: pattern, Resource: resourceOf(r, pattern),
			Status: status, RequestID: requestID(r),
		}
		if note.authenticated {
			// Reading what the handler left of a body costs up to the
			// route's limit: worth it for a known caller, not for anyone.
			e.BodyDigest = finishDigest(body, limit)
		}
		if note.authenticated {
			e.Actor, e.Role = note.identity.Name, string(note.identity.Role)
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
		defer cancel()
		if _, err := a.opts.Audit.Record(ctx, e); err != nil {
			a.log.ErrorContext(ctx, "audit entry not recorded", append(requestAttrs(r), "action", e.Action,
				"resource", e.Resource, "status", e.Status, "error", err)...)
		}
	})
}

// finishDigest reads what the handler left of the body (up to the route's
// limit) and returns the hex SHA-256 of the whole body; "" when there was
// none, or it was over the limit. Calls refused before their caller was
// known get no digest.
func finishDigest(body *digestingBody, limit int64) string {
	if body == nil {
		return ""
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(body, limit+1-body.read)); err != nil || body.read > limit {
		return ""
	}
	if body.read == 0 {
		return ""
	}
	return hex.EncodeToString(body.hash.Sum(nil))
}

// holdsSecretValues reports routes whose request bodies carry secret
// values, which must not even be digested: a digest of a short value can
// be checked against guesses.
func holdsSecretValues(pattern string) bool {
	return strings.Contains(pattern, " /api/v1/secrets/")
}

// readsSecretValue reports the routes that answer with secret values.
func readsSecretValue(method, pattern string) bool {
	return method == http.MethodGet && pattern == "GET /api/v1/secrets/data"
}

// resourceOf names what a call is about: the URL path under /api/v1/
// (`apps/web`, `tokens/ci`), with secret routes named `secrets/<path>`
// after their ?path=, whatever their verb segment.
func resourceOf(r *http.Request, pattern string) string {
	if p := secretPath(r); p != "" && strings.Contains(pattern, " /api/v1/secrets/") {
		return "secrets/" + p
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/"); ok {
		return strings.TrimSuffix(rest, "/")
	}
	return strings.TrimPrefix(r.URL.Path, "/")
}

// auditRoutes reads the audit log; nothing changes it.
func (a *API) auditRoutes() []Route {
	return []Route{{"GET /api/v1/audit", auth.PermAdmin, http.HandlerFunc(a.listAudit)}}
}

// listAudit serves GET /api/v1/audit?since=&resource=&limit=&after=.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	if a.opts.Audit == nil {
		writeProblem(w, r, http.StatusNotFound, "this server keeps no audit log", nil)
		return
	}
	q := r.URL.Query()
	since, err := audit.ParseSince(q.Get("since"), a.opts.Now())
	if err != nil {
		a.writeError(w, r, invalidField("since", err.Error()))
		return
	}
	f := audit.Query{Since: since, Resource: strings.Trim(q.Get("resource"), "/")}
	if f.Limit, err = queryInt(q.Get("limit"), 1, audit.MaxLimit); err != nil {
		a.writeError(w, r, invalidField("limit", err.Error()))
		return
	}
	after, err := queryInt(q.Get("after"), 0, 1<<62)
	if err != nil {
		a.writeError(w, r, invalidField("after", err.Error()))
		return
	}
	f.AfterID = int64(after)
	entries, err := a.opts.Audit.List(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := apiv1.AuditList{Items: make([]apiv1.AuditEntry, 0, len(entries))}
	for _, e := range entries {
		out.Items = append(out.Items, apiv1.AuditEntry{
			ID: e.ID, Time: e.Time, Actor: e.Actor, Role: e.Role, Source: e.Source, Action: e.Action,
			Resource: e.Resource, Status: e.Status, BodyDigest: e.BodyDigest, RequestID: e.RequestID,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// queryInt reads an optional integer query value in [lo, hi]; "" is 0.
func queryInt(s string, lo, hi int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
	}
	return n, nil
}
