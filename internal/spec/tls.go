package spec

import "strings"

// AppTLS serves an app's listener over HTTPS. The certificate files are
// read by the proxy, and read again when they change, so a renewed
// certificate is picked up without a restart and without dropping
// connections. The listener accepts TLS 1.2 and newer.
type AppTLS struct {
	// CertFile is a PEM file with the certificate and its chain. Required.
	// A relative path is relative to the server's working directory.
	CertFile string `json:"certFile"`
	// KeyFile is the PEM private key of CertFile. Required.
	KeyFile string `json:"keyFile"`
	// RedirectHTTP, when set, is a `host:port` whose plain HTTP requests
	// are redirected (308) to the app's HTTPS address.
	RedirectHTTP string `json:"redirectHTTP,omitempty"`
}

// validate reports the problems of an app's TLS settings; listen and
// preview are the app's other addresses, which the redirect must not take.
func (t *AppTLS) validate(p *problems, path, listen, preview string) {
	if t == nil {
		return
	}
	checkFile(p, join(path, "certFile"), t.CertFile)
	checkFile(p, join(path, "keyFile"), t.KeyFile)
	if t.CertFile != "" && t.CertFile == t.KeyFile {
		p.add(join(path, "keyFile"), "must differ from certFile: the key is its own file")
	}
	if t.RedirectHTTP == "" {
		return
	}
	rp := join(path, "redirectHTTP")
	switch msg := checkAddress(t.RedirectHTTP); {
	case msg != "":
		p.add(rp, "%s", msg)
	case t.RedirectHTTP == listen:
		p.add(rp, "must differ from spec.listen")
	case t.RedirectHTTP == preview:
		p.add(rp, "must differ from spec.strategy.blueGreen.previewListen")
	}
}

// previewListen is the blue-green preview address, or "".
func (a *App) previewListen() string {
	if a.Strategy != nil && a.Strategy.BlueGreen != nil {
		return a.Strategy.BlueGreen.PreviewListen
	}
	return ""
}

// checkFile reports a missing or unusable file path.
func checkFile(p *problems, path, file string) {
	switch {
	case file == "":
		p.add(path, "is required: the path of a PEM file")
	case len(file) > 4096:
		p.add(path, "is longer than 4096 characters")
	case strings.ContainsRune(file, 0):
		p.add(path, "must not contain a NUL byte")
	}
}
