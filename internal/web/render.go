package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strings"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// view is what every page template gets.
type view struct {
	// Title is the page's title; Nav marks the current section.
	Title, Nav string
	// S is the signed-in session; nil on the login and error pages.
	S *session
	// Version is the server's version.
	Version string
	// Notice is a line of feedback after an action; Error one after a
	// refused action or a failed call.
	Notice, Error string
	// Data is the page's own.
	Data any
}

// parsePages parses every page template together with the layout, so each
// page is one template set that renders "layout".
func parsePages(now func() time.Time) (map[string]*template.Template, error) {
	funcs := templateFuncs(now)
	base, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/parts/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page, or a plain 500 if its template fails (the page is
// rendered into a buffer first, so a failure never sends half a page).
func (d *Dashboard) render(w http.ResponseWriter, status int, name string, v view) {
	d.execute(w, status, name, "layout", v)
}

// renderLive writes only the live part of a page (its "live" template),
// which the page's script swaps in when something changed.
func (d *Dashboard) renderLive(w http.ResponseWriter, name string, v view) {
	d.execute(w, http.StatusOK, name, "live", v)
}

func (d *Dashboard) execute(w http.ResponseWriter, status int, name, entry string, v view) {
	t, ok := d.pages[name]
	if !ok {
		http.Error(w, "no such page template: "+name, http.StatusInternalServerError)
		return
	}
	v.Version = d.opts.Version
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, entry, v); err != nil {
		d.log.Error("web: render", "page", name, "error", err)
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// refuse renders the error page with a status and a message for people.
func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	d.render(w, status, "error", view{Title: http.StatusText(status), S: s, Error: msg})
}

// fail renders what went wrong with an API call: the API's own words for a
// refusal (403, 404, 409, 422), a generic line for anything else.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if p, ok := problemOf(err); ok && p.Status >= 400 && p.Status < 500 {
		d.refuse(w, r, s, p.Status, problemText(p))
		return
	}
	if r.Context().Err() != nil {
		return // the browser went away
	}
	d.log.Error("web: API call failed", "path", r.URL.Path, "error", err)
	d.refuse(w, r, s, http.StatusBadGateway, "sluice could not answer: "+err.Error())
}

// problemText is an API problem as one readable message.
func problemText(p *apiv1.Problem) string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	for _, f := range p.Errors {
		msg += "; " + f.Field + ": " + f.Message
	}
	if p.Status == http.StatusForbidden {
		msg = "Your role may not do this: " + msg
	}
	return msg
}

// templateFuncs are the helpers templates format values with.
func templateFuncs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"percent":  formatBasisPoints,
		"ago":      func(t time.Time) string { return formatAgo(now(), t) },
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"latency":  formatSeconds,
		"rate":     func(f float64) string { return formatNumber(f) + "/s" },
		"ratio":    func(f float64) string { return formatNumber(100*f) + " %" },
		"pretty":   prettyJSON,
		"lower":    strings.ToLower,
		"subtract": func(a, b int) int { return a - b },
	}
}

// formatBasisPoints writes a weight: 100 → "1 %", 1 → "0.01 %".
func formatBasisPoints(bp int) string {
	if bp%100 == 0 {
		return fmt.Sprintf("%d %%", bp/100)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", float64(bp)/100), "0"), ".") + " %"
}

// formatAgo says how long ago t was, coarsely.
func formatAgo(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + roundDuration(-d)
	case d < time.Second:
		return "just now"
	}
	return roundDuration(d) + " ago"
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// formatSeconds writes a latency: 0.0123 → "12.3 ms".
func formatSeconds(s float64) string {
	switch {
	case s == 0:
		return "–"
	case s < 0.001:
		return formatNumber(s*1e6) + " µs"
	case s < 1:
		return formatNumber(s*1e3) + " ms"
	}
	return formatNumber(s) + " s"
}

// formatNumber writes a number with three significant digits at most.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return fmt.Sprint(f)
	case f == math.Trunc(f) && math.Abs(f) < 1e9:
		return fmt.Sprintf("%.0f", f)
	case math.Abs(f) >= 100:
		return fmt.Sprintf("%.0f", f)
	case math.Abs(f) >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3g", f), "0"), ".")
}

// prettyJSON indents a JSON value for reading; what is not JSON is shown as
// it is.
func prettyJSON(v any) string {
	var raw []byte
	switch x := v.(type) {
	case json.RawMessage:
		raw = x
	case []byte:
		raw = x
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		raw = b
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}
