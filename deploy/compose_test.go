package deploy_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"sluice.dev/sluice/internal/spec"
)

// loadCompose loads compose.yaml the way `docker compose` does: the
// Compose Specification's schema, interpolation with an empty environment,
// and the consistency checks (dependencies, volumes and networks that
// exist).
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose/compose.yaml"},
		cli.WithWorkingDirectory("compose"),
		cli.WithEnv(nil),
		cli.WithDiscardEnvFile,
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

func TestComposeStack(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"sluice", "sluicectl", "hello-v1", "hello-v2", "prometheus", "grafana", "jaeger"} {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("compose.yaml: %v", err)
		}
	}
	sluice, err := p.GetService("sluice")
	if err != nil {
		t.Fatal(err)
	}
	if sluice.Build == nil || sluice.Build.Dockerfile != "deploy/docker/Dockerfile" || sluice.Build.Target != "sluice" {
		t.Errorf("sluice is not built from deploy/docker/Dockerfile's sluice stage: %+v", sluice.Build)
	}
	env := sluice.Environment
	dataDir := deref(env["SLUICE_DATA_DIR"])
	if !hasVolume(sluice, types.VolumeTypeVolume, dataDir) {
		t.Errorf("sluice's data directory %q is not on a named volume", dataDir)
	}
	for _, port := range []uint32{7070, 8080} {
		if !slices.ContainsFunc(sluice.Ports, func(p types.ServicePortConfig) bool { return p.Target == port }) {
			t.Errorf("sluice does not publish port %d", port)
		}
	}
	if got := deref(env["OTEL_EXPORTER_OTLP_ENDPOINT"]); !strings.HasPrefix(got, "http://jaeger:") {
		t.Errorf("traces go to %q, want the jaeger service", got)
	}
	if !sluice.ReadOnly || !slices.Contains(sluice.CapDrop, "ALL") {
		t.Error("sluice should run with a read-only root and no capabilities")
	}

	// sluicectl reads the admin token from the same volume, after sluice
	// reports healthy.
	ctl, _ := p.GetService("sluicectl")
	if dep, ok := ctl.DependsOn["sluice"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Error("sluicectl must wait for sluice to be healthy")
	}
	if !hasVolume(ctl, types.VolumeTypeVolume, deref(ctl.Environment["SLUICE_DATA_DIR"])) {
		t.Error("sluicectl does not mount sluice's data volume where SLUICE_DATA_DIR points")
	}

	// Every file the stack mounts is in the repository.
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
		}
	}
	prom, _ := p.GetService("prometheus")
	if !hasVolume(prom, types.VolumeTypeBind, "/etc/prometheus/rules") {
		t.Error("prometheus does not load the alerting rules")
	}
	graf, _ := p.GetService("grafana")
	if !hasVolume(graf, types.VolumeTypeBind, "/etc/grafana/provisioning") || !hasVolume(graf, types.VolumeTypeBind, "/var/lib/grafana/dashboards") {
		t.Error("grafana is not provisioned with the dashboard")
	}
}

// TestComposeAppSpecs decodes the stack's app specs with sluice's own spec
// package (shape, defaults, validation), and checks that each static address
// names a service of the stack.
func TestComposeAppSpecs(t *testing.T) {
	p := loadCompose(t)
	files, _ := filepath.Glob("compose/*/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d app spec files, want apps/ and rollout/", len(files))
	}
	apps := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := spec.Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, d := range docs {
			if d.App == nil || d.App.Runtime.Static == nil {
				continue
			}
			apps++
			for _, addr := range d.App.Runtime.Static.Addresses {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				if _, err := p.GetService(host); err != nil {
					t.Errorf("%s: address %s: %v", f, addr, err)
				}
			}
		}
	}
	if apps < 2 {
		t.Errorf("found %d apps with static addresses, want v1 and v2", apps)
	}
}

func hasVolume(s types.ServiceConfig, typ, target string) bool {
	return target != "" && slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == typ && v.Target == target
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestCIExampleAppSpec decodes the app of examples/ci, which a user's
// pipeline deploys, with sluice's own spec package.
func TestCIExampleAppSpec(t *testing.T) {
	data, err := os.ReadFile("../examples/ci/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := spec.Decode(data)
	if err != nil {
		t.Fatalf("examples/ci/app.yaml: %v", err)
	}
	if len(docs) != 2 || docs[0].App == nil || docs[0].App.Runtime.Process == nil {
		t.Fatalf("examples/ci/app.yaml: want an App run as processes and its AnalysisTemplate, got %d documents", len(docs))
	}
}
