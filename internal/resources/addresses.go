package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"net"

	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// checkAddresses rejects documents whose listen or preview addresses are
// taken by another app, stored or in the same request. Addresses on all
// interfaces (`:8080`) clash with any host on that port.
func checkAddresses(ctx context.Context, tx store.Tx, docs []spec.Document) error {
	stored, err := tx.List(ctx, spec.KindApp)
	if err != nil {
		return err
	}
	owners := map[string]string{} // address → app
	incoming := map[string]bool{}
	for _, d := range docs {
		if d.App != nil {
			incoming[d.Metadata.Name] = true
		}
	}
	for _, o := range stored {
		if incoming[o.Name] {
			continue // replaced by this request
		}
		var a spec.App
		if err := json.Unmarshal(o.Spec, &a); err != nil {
			return fmt.Errorf("decode app %q: %w", o.Name, err)
		}
		for _, addr := range addresses(&a) {
			owners[addr.value] = o.Name
		}
	}
	var problems []spec.FieldError
	for _, d := range docs {
		if d.App == nil {
			continue
		}
		for _, addr := range addresses(d.App) {
			if owner, clash := clashes(owners, addr.value); clash {
				problems = append(problems, spec.FieldError{Resource: d.ID(), Path: addr.path,
					Message: fmt.Sprintf("%s is already used by app %q", addr.value, owner)})
				continue
			}
			owners[addr.value] = d.Metadata.Name
		}
	}
	if len(problems) > 0 {
		return &spec.ValidationError{Problems: problems}
	}
	return nil
}

type address struct{ path, value string }

func addresses(a *spec.App) []address {
	out := []address{{"spec.listen", a.Listen}}
	if bg := a.Strategy; bg != nil && bg.BlueGreen != nil && bg.BlueGreen.PreviewListen != "" {
		out = append(out, address{"spec.strategy.blueGreen.previewListen", bg.BlueGreen.PreviewListen})
	}
	return out
}

// clashes finds an owner of addr, treating an empty host as every host.
func clashes(owners map[string]string, addr string) (string, bool) {
	if owner, ok := owners[addr]; ok {
		return owner, true
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	for other, owner := range owners {
		oh, op, err := net.SplitHostPort(other)
		if err == nil && op == port && (host == "" || oh == "" || host == "0.0.0.0" || oh == "0.0.0.0") {
			return owner, true
		}
	}
	return "", false
}
