package spec

import "slices"

// SecretPaths returns the secret paths the app's env refers to
// (valueFrom.secret), sorted, each once.
func (a *App) SecretPaths() []string {
	p := a.Runtime.Process
	if p == nil {
		return nil
	}
	var paths []string
	for _, e := range p.Env {
		if e.ValueFrom != nil && e.ValueFrom.Secret != nil {
			paths = append(paths, e.ValueFrom.Secret.Path)
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// validateSecretRollout reports rolloutOnSecretChange on an app that has
// no env to take secrets into.
func (a *App) validateSecretRollout(p *problems, path string) {
	if a.RolloutOnSecretChange && a.Runtime.Static != nil {
		p.add(path, "needs a process runtime: static instances take no env from sluice")
	}
}
