package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	args string
}

// stage is one FROM … and the instructions up to the next FROM.
type stage struct {
	image, name string
	body        []instruction
}

// parseDockerfile splits a Dockerfile into stages. It knows what these
// Dockerfiles use: comments, parser directives, backslash continuations.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		stages  []stage
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		if strings.HasPrefix(line, "#") { // a comment inside a continuation
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		pending.Reset()
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			fields := strings.Fields(in.args)
			fields = slices.DeleteFunc(fields, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// all returns the arguments of every cmd instruction of the stage.
func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last returns the last cmd instruction of the stage, the one in effect.
func (s stage) last(cmd string) (instruction, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return instruction{}, false
	}
	return all[len(all)-1], true
}

// shells are programs whose presence in an exec form means a shell runs.
var shells = []string{"sh", "/bin/sh", "bash", "/bin/bash", "/busybox/sh"}

// checkRuntimeStage checks a stage that ships: a shell-free distroless
// static image, a non-root user, and exec-form entry point and health check.
func checkRuntimeStage(t *testing.T, file string, s stage, wantHealthcheck bool) {
	t.Helper()
	where := fmt.Sprintf("%s (stage %q)", file, s.name)
	if !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot(@sha256:[0-9a-f]{64})?$`).MatchString(s.image) {
		t.Errorf("%s: runs on %q, want distroless static :nonroot (no shell, no package manager)", where, s.image)
	}
	if len(s.all("RUN")) > 0 {
		t.Errorf("%s: RUN needs a shell, and the runtime image has none", where)
	}
	user, ok := s.last("USER")
	if !ok {
		t.Errorf("%s: no USER", where)
	} else if u, _, _ := strings.Cut(user.args, ":"); u == "0" || u == "root" || u == "" {
		t.Errorf("%s: runs as %q, want a non-root user", where, user.args)
	}
	entry, ok := s.last("ENTRYPOINT")
	if !ok {
		t.Errorf("%s: no ENTRYPOINT", where)
	} else {
		checkExecForm(t, where, "ENTRYPOINT", entry.args)
	}
	hc, ok := s.last("HEALTHCHECK")
	switch {
	case !wantHealthcheck:
	case !ok:
		t.Errorf("%s: no HEALTHCHECK", where)
	default:
		i := strings.Index(hc.args, "CMD ")
		if i < 0 {
			t.Errorf("%s: HEALTHCHECK %q has no CMD", where, hc.args)
			break
		}
		argv := checkExecForm(t, where, "HEALTHCHECK", strings.TrimSpace(hc.args[i+4:]))
		if len(argv) < 2 || argv[0] != "/usr/local/bin/sluice" || argv[1] != "healthcheck" {
			t.Errorf("%s: HEALTHCHECK runs %q, want sluice healthcheck", where, argv)
		}
	}
}

// checkExecForm checks that args is a JSON array (exec form, no shell) whose
// program is not a shell, and returns it.
func checkExecForm(t *testing.T, where, cmd, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		t.Errorf("%s: %s %s is in shell form; want exec form, a JSON array", where, cmd, args)
		return nil
	}
	if slices.Contains(shells, argv[0]) {
		t.Errorf("%s: %s runs a shell: %q", where, cmd, argv)
	}
	return argv
}

func TestDockerfile(t *testing.T) {
	const file = "docker/Dockerfile"
	stages := parseDockerfile(t, file)
	if len(stages) < 2 {
		t.Fatalf("%s: %d stages, want a multi-stage build", file, len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.image, "golang:") {
		t.Errorf("%s: the first stage builds on %q, want a golang image", file, build.image)
	}
	// The binary: static, trimmed, stamped with the version.
	var compile string
	for _, run := range build.all("RUN") {
		for _, cmd := range strings.Split(run.args, "&&") {
			if strings.Contains(cmd, "./cmd/sluice") {
				compile = cmd
			}
		}
	}
	if compile == "" {
		t.Fatalf("%s: no RUN builds ./cmd/sluice", file)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.date=${DATE}"} {
		if !strings.Contains(compile, want) {
			t.Errorf("%s: the build does not use %s: %s", file, want, compile)
		}
	}
	declared := map[string]bool{}
	for _, arg := range build.all("ARG") {
		name, _, _ := strings.Cut(arg.args, "=")
		declared[name] = true
	}
	for _, name := range []string{"VERSION", "COMMIT", "DATE", "TARGETOS", "TARGETARCH"} {
		if !declared[name] {
			t.Errorf("%s: the build stage does not declare ARG %s", file, name)
		}
	}

	// Every stage but the builder ships and must be hardened; the final one
	// is sluice itself.
	for i, s := range stages[1:] {
		checkRuntimeStage(t, file, s, i == len(stages)-2)
		for _, cp := range s.all("COPY") {
			if !strings.Contains(cp.args, "--from=build") {
				t.Errorf("%s:%d: stage %q copies from outside the builder: %s", file, cp.line, s.name, cp.args)
			}
		}
	}
	if final.name != "sluice" {
		t.Errorf("%s: the final stage is %q, want sluice (the default target)", file, final.name)
	}
	checkSluiceImage(t, file, final)
}

func TestReleaseDockerfile(t *testing.T) {
	const file = "docker/release.Dockerfile"
	stages := parseDockerfile(t, file)
	if len(stages) != 1 {
		t.Fatalf("%s: %d stages, want 1 (GoReleaser builds the binary)", file, len(stages))
	}
	checkRuntimeStage(t, file, stages[0], true)
	checkSluiceImage(t, file, stages[0])
}

// checkSluiceImage checks what both sluice images share: the settings for a
// container, the ports, and a data directory the non-root user owns.
func checkSluiceImage(t *testing.T, file string, s stage) {
	t.Helper()
	env := strings.Join(func() []string {
		var out []string
		for _, e := range s.all("ENV") {
			out = append(out, e.args)
		}
		return out
	}(), " ")
	for _, want := range []string{"SLUICE_LISTEN=0.0.0.0:7070", "SLUICE_DATA_DIR=/var/lib/sluice", "SLUICE_LOG_FORMAT=json"} {
		if !strings.Contains(env, want) {
			t.Errorf("%s: ENV lacks %s", file, want)
		}
	}
	expose, _ := s.last("EXPOSE")
	if ports := strings.Fields(expose.args); !slices.Contains(ports, "7070") || !slices.Contains(ports, "8080") {
		t.Errorf("%s: EXPOSE %q, want the API (7070) and a proxy port (8080)", file, expose.args)
	}
	owned := false
	for _, cp := range s.all("COPY") {
		if strings.Contains(cp.args, "--chown=65532:65532") && strings.HasSuffix(cp.args, " /var/lib/sluice") {
			owned = true
		}
	}
	if !owned {
		t.Errorf("%s: /var/lib/sluice is not created owned by the non-root user", file)
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, want := range []string{".git", "bin/", "dist/", "**/admin.token"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	// The build needs the module and the sources the Dockerfile compiles.
	for _, need := range []string{"go.mod", "go.sum", "cmd", "internal", "pkg", "examples"} {
		if slices.Contains(lines, need) || slices.Contains(lines, need+"/") {
			t.Errorf(".dockerignore excludes %s, which the build needs", need)
		}
	}
}

// TestImageSmoke builds the image and checks that its container answers
// /livez and that Docker reports it healthy through the HEALTHCHECK. It
// needs a Docker engine; without one it is skipped.
func TestImageSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no image build")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI: the image is checked by TestDockerfile only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine answers (%v: %s): the image is checked by TestDockerfile only", err, strings.TrimSpace(string(out)))
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, docker, args...)
		// The default builder loads what it builds into the engine, which a
		// docker-container builder (docker buildx use) would not.
		cmd.Env = append(os.Environ(), "BUILDX_BUILDER=default")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// SLUICE_SMOKE_IMAGE names an image built already (CI builds it once);
	// else the test builds one with a version it can recognise.
	tag, wantVersion := os.Getenv("SLUICE_SMOKE_IMAGE"), ""
	if tag == "" {
		tag, wantVersion = fmt.Sprintf("sluice-smoke:%d", time.Now().UnixNano()), "smoke"
		run("build", "-f", "docker/Dockerfile", "--build-arg", "VERSION="+wantVersion, "-t", tag, "..")
		t.Cleanup(func() { exec.Command(docker, "image", "rm", "-f", tag).Run() })
	}

	// The stamped version, straight from the binary.
	out := run("run", "--rm", tag, "version", "--client")
	if !strings.HasPrefix(out, "Client: ") || strings.HasPrefix(out, "Client: dev") || !strings.Contains(out, wantVersion) {
		t.Errorf("sluice version --client: %q, want a stamped version %s", out, wantVersion)
	}
	since := fmt.Sprint(time.Now().Add(-time.Second).Unix())
	// Run it as Compose and Kubernetes do: read-only, no capabilities, the
	// data directory on a volume (an anonymous one, removed with it).
	id := run("run", "-d", "--read-only", "--tmpfs", "/tmp", "--mount", "type=volume,target=/var/lib/sluice",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--health-interval", "1s", "-p", "127.0.0.1::7070", tag)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command(docker, "logs", id).CombinedOutput()
			t.Logf("container logs:\n%s", logs)
		}
		exec.Command(docker, "rm", "-f", "-v", id).Run()
	})
	if user := run("inspect", "--format", "{{.Config.User}}", id); user != "65532:65532" {
		t.Errorf("the container runs as %q", user)
	}
	// Docker's own health check (sluice healthcheck in the container) must
	// pass: wait for its event rather than polling.
	events := exec.CommandContext(ctx, docker, "events", "--since", since,
		"--filter", "container="+id, "--filter", "event=health_status", "--format", "{{.Status}}")
	stdout, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { events.Process.Kill(); events.Wait() }()
	health := "no health event before the deadline"
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		health = strings.TrimSpace(strings.TrimPrefix(sc.Text(), "health_status:"))
		if health == "healthy" || health == "unhealthy" {
			break
		}
	}
	if health != "healthy" {
		t.Fatalf("Docker reports the container %s; want healthy", health)
	}
	// And /livez answers from outside the container.
	addr := strings.Split(run("port", id, "7070/tcp"), "\n")[0]
	resp, err := http.Get("http://" + addr + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /livez: %s", resp.Status)
	}
}
