package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"net"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// checkAddresses rejects documents whose addresses (listen, preview,
// HTTP redirect) are taken by another app, stored or in the same request,
// or by another address of the same app. Addresses on all interfaces
// (`:8080`) clash with any host on that port.
func checkAddresses(ctx context.Context, tx store.Tx, docs []spec.Document) error {
	stored, err := tx.List(ctx, spec.KindApp)
	if err != nil {
		return err
	}
	incoming := map[string]bool{}
	for _, d := range docs {
		if d.App != nil {
			incoming[d.Metadata.Name] = true
		}
	}
	apps := map[string]*spec.App{}
	for _, o := range stored {
		if incoming[o.Name] {
			continue // replaced by this request
		}
		var a spec.App
		if err := json.Unmarshal(o.Spec, &a); err != nil {
			return fmt.Errorf("decode app %q: %w", o.Name, err)
		}
		apps[o.Name] = &a
	}
	if problems := addressConflicts(apps, docs); len(problems) > 0 {
		return &spec.ValidationError{Problems: problems}
	}
	return nil
}

// claim is an address held by an app, and the field that holds it.
type claim struct{ app, path string }

// addressConflicts finds the addresses of docs that clash with those of
// the stored apps (by name), of the documents before them, or of their own
// other fields.
func addressConflicts(stored map[string]*spec.App, docs []spec.Document) []spec.FieldError {
	owners := map[string]claim{}
	for name, a := range stored {
		for _, addr := range addresses(a) {
			owners[addr.value] = claim{name, addr.path}
		}
	}
	var problems []spec.FieldError
	for _, d := range docs {
		if d.App == nil {
			continue
		}
		for _, addr := range addresses(d.App) {
			if owner, clash := clashes(owners, addr.value); clash {
				msg := fmt.Sprintf("%s is already used by app %q", addr.value, owner.app)
				if owner.app == d.Metadata.Name {
					msg = fmt.Sprintf("%s is already used by %s", addr.value, owner.path)
				}
				problems = append(problems, spec.FieldError{Resource: d.ID(), Path: addr.path, Message: msg})
				continue
			}
			owners[addr.value] = claim{d.Metadata.Name, addr.path}
		}
	}
	return problems
}

type address struct{ path, value string }

// addresses lists what an app listens on: its listen address, its preview
// address, and its HTTP→HTTPS redirect address.
func addresses(a *spec.App) []address {
	out := []address{{"spec.listen", a.Listen}}
	if bg := a.Strategy; bg != nil && bg.BlueGreen != nil && bg.BlueGreen.PreviewListen != "" {
		out = append(out, address{"spec.strategy.blueGreen.previewListen", bg.BlueGreen.PreviewListen})
	}
	if a.TLS != nil && a.TLS.RedirectHTTP != "" {
		out = append(out, address{"spec.tls.redirectHTTP", a.TLS.RedirectHTTP})
	}
	return out
}

// clashes finds an owner of addr, treating an empty host as every host.
func clashes(owners map[string]claim, addr string) (claim, bool) {
	if owner, ok := owners[addr]; ok {
		return owner, true
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return claim{}, false
	}
	for other, owner := range owners {
		oh, op, err := net.SplitHostPort(other)
		if err == nil && op == port && (anyHost(host) || anyHost(oh)) {
			return owner, true
		}
	}
	return claim{}, false
}

// anyHost reports whether a listen host means every interface.
func anyHost(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
