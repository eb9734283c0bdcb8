package web

import "net/http"

// events streams the API's event log to the browser as server-sent events,
// with the session's token: the page's script re-renders its live part on
// each event. The stream is the API's own, passed through as it is written.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	in := r.Clone(r.Context())
	q := in.URL.Query()
	out := in.URL.Query()
	for k := range out {
		if k != "app" && k != "after" {
			out.Del(k)
		}
	}
	out.Set("watch", "true")
	if q.Get("after") == "" && r.Header.Get("Last-Event-ID") == "" {
		out.Set("limit", "1") // only what happens from now on, after the latest
	}
	in.URL.Path, in.URL.RawQuery = "/api/v1/events", out.Encode()
	in.RequestURI = in.URL.RequestURI()
	in.Header.Set("Authorization", "Bearer "+c.Value)
	in.Header.Del("Cookie")
	d.opts.API.ServeHTTP(w, in)
}
