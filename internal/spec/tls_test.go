package spec

import (
	"strings"
	"testing"
)

func TestAppTLS(t *testing.T) {
	docs, err := Decode([]byte(app(`tls: {certFile: /etc/sluice/web.crt, keyFile: /etc/sluice/web.key, redirectHTTP: "127.0.0.1:8079"}`)))
	if err != nil {
		t.Fatal(err)
	}
	got := docs[0].App.TLS
	if got == nil || got.CertFile != "/etc/sluice/web.crt" || got.KeyFile != "/etc/sluice/web.key" || got.RedirectHTTP != "127.0.0.1:8079" {
		t.Fatalf("tls = %+v", got)
	}
	if !strings.Contains(string(docs[0].Spec), `"tls":{"certFile":"/etc/sluice/web.crt"`) {
		t.Fatalf("the stored spec lost tls: %s", docs[0].Spec)
	}
	a, _ := Decode([]byte(app()))
	if !docs[0].App.Workload().Equal(a[0].App.Workload()) {
		t.Fatal("TLS settings changed the workload: they must not make a revision")
	}

	cases := []struct {
		tls, field string
	}{
		{`tls: {keyFile: k}`, "spec.tls.certFile"},
		{`tls: {certFile: c}`, "spec.tls.keyFile"},
		{`tls: {certFile: same, keyFile: same}`, "spec.tls.keyFile"},
		{`tls: {certFile: c, keyFile: k, redirectHTTP: nope}`, "spec.tls.redirectHTTP"},
		{`tls: {certFile: c, keyFile: k, redirectHTTP: "127.0.0.1:8080"}`, "spec.tls.redirectHTTP"},
		{`tls: {certFile: c, keyFile: k, redirectHTTP: "127.0.0.1:8081"}` + "\n  strategy: {blueGreen: {previewListen: \"127.0.0.1:8081\"}}", "spec.tls.redirectHTTP"},
		{`tls: {certFile: c, keyFile: k, minVersion: "1.0"}`, "spec.tls.minVersion"},
		{`tls: {certFile: "c\u0000", keyFile: k}`, "spec.tls.certFile"},
	}
	for _, c := range cases {
		_, err := Decode([]byte(app(c.tls)))
		ve, ok := AsValidationError(err)
		if !ok || len(ve.Problems) == 0 || ve.Problems[0].Path != c.field {
			t.Errorf("%s: %v, want a problem at %s", c.tls, err, c.field)
		}
	}
}
