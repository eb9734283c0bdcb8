package web

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"sluice.dev/sluice/pkg/apiv1"
	"sluice.dev/sluice/pkg/client"
)

// auditLimit is how many entries the audit page lists.
const auditLimit = 200

// auditPage lists the newest audit entries, optionally for one resource
// and since a time. Only admins may read the audit log; the API says so
// to anyone else, and the page passes that on.
func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := client.AuditQuery{Since: r.URL.Query().Get("since"), Resource: r.URL.Query().Get("resource"), Limit: auditLimit}
	if !s.IsAdmin() {
		d.refuse(w, r, s, http.StatusForbidden, fmt.Sprintf("Your role (%s) may not read the audit log; admins may.", s.Role()))
		return
	}
	entries, err := s.api.Audit(r.Context(), q)
	if err != nil {
		if p, ok := problemOf(err); ok && isInvalid(p) {
			d.render(w, http.StatusUnprocessableEntity, "audit", view{Title: "Audit log", Nav: "audit", S: s, Error: problemText(p),
				Data: auditData{Query: q}})
			return
		}
		d.fail(w, r, s, err)
		return
	}
	slices.Reverse(entries)
	d.render(w, http.StatusOK, "audit", view{Title: "Audit log", Nav: "audit", S: s, Data: auditData{Query: q, Entries: entries}})
}

// auditData is the audit page's.
type auditData struct {
	Query   client.AuditQuery
	Entries []apiv1.AuditEntry
}

// secretsPage lists the secrets: paths, versions and when they changed.
func (d *Dashboard) secretsPage(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := s.api.Secrets(r.Context())
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "secrets", view{Title: "Secrets", Nav: "secrets", S: s, Data: list})
}

// secretData is a secret's page: its versions and key names, never a
// value.
type secretData struct {
	Path     string
	Info     apiv1.SecretInfo
	Versions []apiv1.SecretVersion
	// Keys are the latest version's key names.
	Keys []string
}

// secretPage shows one secret's versions and who wrote each. The API's
// metadata route never holds values (they come masked); the page shows
// only the key names in any case.
func (d *Dashboard) secretPage(w http.ResponseWriter, r *http.Request, s *session) {
	path := r.PathValue("path")
	md, err := s.api.SecretMetadata(r.Context(), path, 0)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	data := secretData{Path: path, Info: md.SecretInfo, Versions: slices.Clone(md.Versions)}
	slices.Reverse(data.Versions)
	data.Keys = slices.Sorted(maps.Keys(md.Secret.Data))
	d.render(w, http.StatusOK, "secret", view{Title: "Secret " + path, Nav: "secrets", S: s, Data: data})
}
