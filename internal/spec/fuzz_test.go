package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. It must not panic; it must
// either reject the input with a *ValidationError that lists problems, or
// return documents whose canonical specs decode again to themselves (so
// that what the store keeps can always be read back and applied again).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(canonical))
	f.Add([]byte(app(`tls: {certFile: c.pem, keyFile: k.pem, redirectHTTP: "127.0.0.1:80"}`)))
	f.Add([]byte(app("strategy: {canary: {steps: [{setWeight: 0.01}, {pause: {}}, {analysis: {templates: [{name: a}]}}]}}")))
	f.Add([]byte(`{"apiVersion":"sluice.dev/v1","kind":"FlagSet","metadata":{"name":"production"},"spec":{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}}}}`))
	f.Add([]byte("---\n---\nkind: App\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Decode(data)
		if err != nil {
			var ve *ValidationError
			if docs != nil || !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Decode: docs %v, error %v (%T)", docs, err, err)
			}
			return
		}
		if len(docs) == 0 {
			t.Fatal("Decode accepted input with no documents")
		}
		for _, d := range docs {
			if !json.Valid(d.Spec) {
				t.Fatalf("%s: the canonical spec is not JSON: %q", d.ID(), d.Spec)
			}
			again, err := json.Marshal(map[string]any{
				"apiVersion": APIVersion, "kind": d.Kind,
				"metadata": map[string]any{"name": d.Metadata.Name, "labels": d.Metadata.Labels},
				"spec":     d.Spec,
			})
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(again)
			if err != nil {
				t.Fatalf("%s: its canonical form is rejected: %v\n%s", d.ID(), err, again)
			}
			if !bytes.Equal(back[0].Spec, d.Spec) {
				t.Fatalf("%s: decoding the canonical spec changes it:\n%s\n%s", d.ID(), d.Spec, back[0].Spec)
			}
		}
	})
}
