package deploy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of a Kustomization or Component file these
// manifests use; anything else in one is an error.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Components []string `json:"components,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// strictDecoder decodes YAML into the registered Kubernetes types and fails
// on unknown or duplicated fields, as the API server's strict field
// validation does.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// manifests holds decoded objects by kind and name.
type manifests struct {
	namespaces   map[string]*corev1.Namespace
	accounts     map[string]*corev1.ServiceAccount
	claims       map[string]*corev1.PersistentVolumeClaim
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	budgets      map[string]*policyv1.PodDisruptionBudget
	autoscalers  map[string]*autoscalingv2.HorizontalPodAutoscaler
	decodedFiles int
}

func newManifests() *manifests {
	return &manifests{
		namespaces:  map[string]*corev1.Namespace{},
		accounts:    map[string]*corev1.ServiceAccount{},
		claims:      map[string]*corev1.PersistentVolumeClaim{},
		services:    map[string]*corev1.Service{},
		deployments: map[string]*appsv1.Deployment{},
		budgets:     map[string]*policyv1.PodDisruptionBudget{},
		autoscalers: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
	}
}

// add decodes every document of a YAML stream strictly.
func (m *manifests) add(t *testing.T, dec runtime.Decoder, name string, data []byte) {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufioReader(data))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Errorf("%s: document %d: %v", name, i, err)
			continue
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			m.namespaces[o.Name] = o
		case *corev1.ServiceAccount:
			m.accounts[o.Name] = o
		case *corev1.PersistentVolumeClaim:
			m.claims[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			m.budgets[o.Name] = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.autoscalers[o.Name] = o
		default:
			t.Errorf("%s: document %d: %s is not a kind this test checks; add it", name, i, gvk)
		}
	}
	m.decodedFiles++
}

// loadKustomization reads a kustomization directory strictly: the
// kustomization file itself, every resource it lists (following bases and
// components), and no manifest in the directory left unlisted.
func loadKustomization(t *testing.T, dec runtime.Decoder, dir string, into *manifests) kustomization {
	t.Helper()
	var k kustomization
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	listed := map[string]bool{"kustomization.yaml": true}
	for _, res := range append(slices.Clone(k.Resources), k.Components...) {
		path := filepath.Join(dir, res)
		info, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: lists %s: %v", dir, res, err)
			continue
		}
		if info.IsDir() {
			loadKustomization(t, dec, path, into)
			continue
		}
		listed[res] = true
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		into.add(t, dec, path, b)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is in %s but not listed in its kustomization", filepath.Base(f), dir)
		}
	}
	return k
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	dec := strictDecoder(t)
	// A field the API does not know fails, as it would on the server.
	bad := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n")
	if _, _, err := dec.Decode(bad, nil, nil); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("strict decoding accepted an unknown field: %v", err)
	}

	base := newManifests()
	k := loadKustomization(t, dec, "kubernetes/base", base)
	if k.Kind != "Kustomization" || k.Namespace != "sluice" {
		t.Errorf("base: kind %q namespace %q, want a Kustomization into namespace sluice", k.Kind, k.Namespace)
	}
	all := newManifests()
	over := loadKustomization(t, dec, "kubernetes/overlays/with-proxy", all)
	if !slices.Contains(over.Components, "../../components/proxy") {
		t.Errorf("with-proxy does not use the proxy component: %v", over.Components)
	}
	comp := newManifests()
	if k := loadKustomization(t, dec, "kubernetes/components/proxy", comp); k.Kind != "Component" {
		t.Errorf("components/proxy: kind %q, want Component", k.Kind)
	}

	// The base stands on its own: namespace, account, volume, server.
	if ns := base.namespaces["sluice"]; ns == nil {
		t.Error("base: no Namespace sluice")
	} else if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Error("base: the namespace does not enforce the restricted Pod Security Standard")
	}
	if sa := base.accounts["sluice"]; sa == nil || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("base: ServiceAccount sluice missing or mounting its token")
	}
	server := base.deployments["sluice"]
	if server == nil {
		t.Fatal("base: no Deployment sluice")
	}
	checkServer(t, server, base)
	checkService(t, base.services["sluice"], server)

	// The proxy role: a Deployment, its budget and its autoscaler.
	proxy := all.deployments["sluice-proxy"]
	if proxy == nil {
		t.Fatal("with-proxy: no Deployment sluice-proxy")
	}
	checkPod(t, proxy)
	checkBudget(t, all.budgets, proxy)
	checkAutoscaler(t, all.autoscalers, proxy)
	checkService(t, all.services["sluice-proxy"], proxy)
	if all.deployments["sluice"] == nil {
		t.Error("with-proxy: lost the server")
	}
}

// checkServer checks the single-writer server: one replica replaced with
// Recreate, its store on the claim, the master key from a Secret.
func checkServer(t *testing.T, d *appsv1.Deployment, m *manifests) {
	t.Helper()
	checkPod(t, d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Error("server: the embedded store has one writer; want replicas: 1")
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("server: strategy %q, want Recreate so two pods never share the store", d.Spec.Strategy.Type)
	}
	spec := d.Spec.Template.Spec
	if spec.ServiceAccountName == "" || m.accounts[spec.ServiceAccountName] == nil {
		t.Errorf("server: service account %q is not in the base", spec.ServiceAccountName)
	}
	var claim string
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
			if m.claims[claim] == nil {
				t.Errorf("server: claim %q is not in the base", claim)
			}
		}
	}
	if claim == "" {
		t.Error("server: no PersistentVolumeClaim for the store")
	}
	c := spec.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if mk := env["SLUICE_MASTER_KEY"]; mk.ValueFrom == nil || mk.ValueFrom.SecretKeyRef == nil || mk.Value != "" {
		t.Error("server: SLUICE_MASTER_KEY must come from a Secret")
	}
	if got := env["SLUICE_LISTEN"].Value; got != "0.0.0.0:7070" {
		t.Errorf("server: SLUICE_LISTEN %q, want 0.0.0.0:7070 (reachable by probes and the Service)", got)
	}
	dataDir := env["SLUICE_DATA_DIR"].Value
	mounted := false
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && v.PersistentVolumeClaim != nil && vm.MountPath == dataDir {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("server: the claim is not mounted at SLUICE_DATA_DIR %q", dataDir)
	}
}

// checkPod checks what every sluice pod needs: probes on /livez and
// /readyz, requests and limits, the restricted security context, and the
// scrape annotations.
func checkPod(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	name := d.Name
	sel := d.Spec.Selector
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Fatalf("%s: no selector", name)
	}
	for k, v := range sel.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("%s: the selector %s=%s does not match the pod template", name, k, v)
		}
	}
	spec := d.Spec.Template.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: the pod must run as a non-root user", name)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: want the RuntimeDefault seccomp profile", name)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token it does not use", name)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, "ghcr.io/") {
		t.Errorf("%s: image %q", name, c.Image)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: no container securityContext", name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation is allowed", name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: the root filesystem is writable", name)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("%s: capabilities must drop ALL and add none: %+v", name, sc.Capabilities)
	case sc.Privileged != nil && *sc.Privileged:
		t.Errorf("%s: privileged", name)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() {
			t.Errorf("%s: %s request and limit must be set", name, r)
		} else if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", name, r, req.String(), lim.String())
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probe := func(kind string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", name, kind)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s: %s probe on %q, want %q", name, kind, p.HTTPGet.Path, path)
		}
		if port := p.HTTPGet.Port; port.StrVal != "api" || ports["api"] != 7070 {
			t.Errorf("%s: %s probe on port %s, want the api port 7070", name, kind, port.String())
		}
	}
	probe("liveness", c.LivenessProbe, "/livez")
	probe("readiness", c.ReadinessProbe, "/readyz")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/livez")
	}
	// A read-only root needs a writable /tmp.
	tmp := false
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/tmp" {
			tmp = true
		}
	}
	if !tmp {
		t.Errorf("%s: no writable /tmp beside the read-only root filesystem", name)
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != fmt.Sprint(ports["api"]) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: scrape annotations %v, want scrape=true, port=%d, path=/metrics", name, ann, ports["api"])
	}
}

func checkService(t *testing.T, s *corev1.Service, d *appsv1.Deployment) {
	t.Helper()
	if s == nil {
		t.Errorf("no Service for %s", d.Name)
		return
	}
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service %s selects %s=%s, which %s's pods do not carry", s.Name, k, v, d.Name)
		}
	}
	names := map[string]bool{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		names[p.Name] = true
	}
	for _, p := range s.Spec.Ports {
		if !names[p.TargetPort.StrVal] {
			t.Errorf("Service %s targets port %q, which %s does not name", s.Name, p.TargetPort.String(), d.Name)
		}
	}
}

func checkBudget(t *testing.T, budgets map[string]*policyv1.PodDisruptionBudget, d *appsv1.Deployment) {
	t.Helper()
	for _, b := range budgets {
		if b.Spec.Selector == nil || !labelsEqual(b.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
			continue
		}
		if b.Spec.MinAvailable == nil || b.Spec.MinAvailable.IntValue() < 1 {
			t.Errorf("PodDisruptionBudget %s: want minAvailable of at least 1", b.Name)
		}
		if d.Spec.Replicas != nil && b.Spec.MinAvailable != nil && int32(b.Spec.MinAvailable.IntValue()) >= *d.Spec.Replicas {
			t.Errorf("PodDisruptionBudget %s: minAvailable %d blocks every drain of %d replicas", b.Name, b.Spec.MinAvailable.IntValue(), *d.Spec.Replicas)
		}
		return
	}
	t.Errorf("no PodDisruptionBudget selects the pods of %s", d.Name)
}

func checkAutoscaler(t *testing.T, hpas map[string]*autoscalingv2.HorizontalPodAutoscaler, d *appsv1.Deployment) {
	t.Helper()
	for _, h := range hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != d.Name {
			continue
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas <= *h.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: want at least 2 replicas and room to grow", h.Name)
		}
		if len(h.Spec.Metrics) == 0 {
			t.Errorf("HorizontalPodAutoscaler %s: no metrics", h.Name)
		}
		if req := d.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; req.IsZero() {
			t.Errorf("HorizontalPodAutoscaler %s: CPU utilization needs a CPU request on %s", h.Name, d.Name)
		}
		return
	}
	t.Errorf("no HorizontalPodAutoscaler targets Deployment %s", d.Name)
}

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }

// stripComments drops YAML comment lines, to tell an empty document from one
// with content.
func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestKustomizeBuilds renders the base and the overlay with kubectl's
// built-in Kustomize, where kubectl is installed, and decodes the output
// strictly too: namespaces, labels and images as Kustomize sets them.
func TestKustomizeBuilds(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the kustomizations are checked file by file only (TestKubernetesManifestsDecodeStrictly)")
	}
	dec := strictDecoder(t)
	for _, dir := range []string{"kubernetes/base", "kubernetes/overlays/with-proxy"} {
		out, err := exec.Command(kubectl, "kustomize", dir).Output()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		m := newManifests()
		m.add(t, dec, dir, out)
		for _, d := range m.deployments {
			if d.Namespace != "sluice" {
				t.Errorf("%s: Deployment %s in namespace %q", dir, d.Name, d.Namespace)
			}
			if img := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, ":") {
				t.Errorf("%s: Deployment %s image %q has no tag after Kustomize", dir, d.Name, img)
			}
			checkPod(t, d)
		}
	}
}
