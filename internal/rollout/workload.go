package rollout

import (
	"context"
	"errors"
	"fmt"

	"sluice.dev/sluice/internal/runtime"
	"sluice.dev/sluice/internal/spec"
)

// ErrNoSecretVersion means a revision recorded that a secret its env
// refers to had no live version when the revision was made (see
// spec.Workload.SecretVersions). Such a revision cannot run; a later
// version of the secret makes a new revision.
var ErrNoSecretVersion = errors.New("the secret had no version when this revision was made")

// ErrNoSecrets means an app's env references a secret (valueFrom.secret)
// but sluice has no secrets store to read it from. Such a revision cannot
// run: its rollout fails with the reason InvalidWorkload.
var ErrNoSecrets = errors.New("no secrets store is configured to resolve it")

// workload turns revision number of app, as stored, into what its driver
// runs, with replicas instances, and returns that driver. Secret
// references in env are resolved now, so values never enter the store.
func (c *Controller) workload(ctx context.Context, app string, number int, w spec.Workload, replicas int) (runtime.Workload, Runner, error) {
	out := runtime.Workload{App: app, Revision: number, Replicas: replicas}
	r, err := c.runnerFor(w)
	if err != nil {
		return out, nil, fmt.Errorf("revision %d: %w", number, err)
	}
	switch {
	case w.Runtime.Process != nil:
		p := w.Runtime.Process
		env, err := resolveEnv(ctx, p.Env, w.SecretVersions, c.opts.Secrets)
		if err != nil {
			return out, nil, err
		}
		out.Process = &runtime.Process{Command: p.Command, Args: p.Args, Env: env, Dir: p.WorkingDir,
			StopGracePeriod: durationOf(p.StopGracePeriod, 0)}
	case w.Runtime.Static != nil:
		out.Static = &runtime.Static{Addresses: w.Runtime.Static.Addresses}
	}
	return out, r, nil
}

// resolveEnv renders env as KEY=VALUE strings, reading secret references
// through secrets: at the version the revision recorded for the path in
// versions, else the newest.
func resolveEnv(ctx context.Context, vars []spec.EnvVar, versions map[string]int64, secrets SecretResolver) ([]string, error) {
	out := make([]string, 0, len(vars))
	for _, v := range vars {
		value := v.Value
		if ref := secretOf(v); ref != nil {
			version, pinned := versions[ref.Path]
			var err error
			switch {
			case secrets == nil:
				err = ErrNoSecrets
			case pinned && version == 0:
				err = ErrNoSecretVersion
			default:
				value, err = secrets.ResolveVersion(ctx, ref.Path, version, ref.Key)
			}
			if err != nil {
				return nil, fmt.Errorf("env %s: secret %s key %s: %w", v.Name, ref.Path, ref.Key, err)
			}
		}
		out = append(out, v.Name+"="+value)
	}
	return out, nil
}

func secretOf(v spec.EnvVar) *spec.SecretKeyRef {
	if v.ValueFrom == nil {
		return nil
	}
	return v.ValueFrom.Secret
}

// errNoRunner means sluice was started without the driver a revision needs.
var errNoRunner = errors.New("no driver for this runtime")

// runnerFor returns the driver of a workload.
func (c *Controller) runnerFor(w spec.Workload) (Runner, error) {
	switch {
	case w.Runtime.Process != nil && c.opts.Process != nil:
		return c.opts.Process, nil
	case w.Runtime.Static != nil && c.opts.Static != nil:
		return c.opts.Static, nil
	}
	return nil, errNoRunner
}

// runners lists the drivers sluice runs.
func (c *Controller) runners() []Runner {
	var out []Runner
	for _, r := range []Runner{c.opts.Process, c.opts.Static} {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}
