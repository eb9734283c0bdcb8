package process

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

// The test binary doubles as the programs the driver runs: with
// TEST_ROLE set, TestMain plays that role instead of running tests.
const roleEnv = "TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "child":
		runChild()
	case "grandchild":
		runGrandchild()
	case "driver":
		runDriverRole()
	default:
		os.Exit(m.Run())
	}
}

// runChild is a small web app driven by its environment:
//
//	IGNORE_TERM=1            ignore SIGTERM
//	PID_FILE=path            write its PID there
//	GRANDCHILD_PID_FILE=path start a grandchild (ignoring SIGTERM) that writes its PID there
//
// and by HTTP: /env answers its environment and working directory as JSON,
// /crash?code=N exits with code N, /print?bytes=N&marker=M writes N bytes
// and then M to standard output.
func runChild() {
	if os.Getenv("IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	writePID(os.Getenv("PID_FILE"), os.Getpid())
	if path := os.Getenv("GRANDCHILD_PID_FILE"); path != "" {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), roleEnv+"=grandchild", "PID_FILE="+path)
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "start grandchild:", err)
			os.Exit(2)
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(2)
	}
	fmt.Println("child stdout: listening on", l.Addr())
	fmt.Fprintln(os.Stderr, "child stderr: pid", os.Getpid())

	mux := http.NewServeMux()
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		wd, _ := os.Getwd()
		env["_CWD"] = wd
		json.NewEncoder(w).Encode(env)
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		os.Exit(code)
	})
	mux.HandleFunc("/print", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
		line := strings.Repeat("x", 99) + "\n"
		for ; n >= len(line); n -= len(line) {
			os.Stdout.WriteString(line)
		}
		os.Stdout.WriteString(strings.Repeat("y", n) + r.URL.Query().Get("marker") + "\n")
	})
	http.Serve(l, mux)
	os.Exit(2)
}

// runGrandchild writes its PID and waits to be killed, ignoring SIGTERM.
func runGrandchild() {
	signal.Ignore(syscall.SIGTERM)
	writePID(os.Getenv("PID_FILE"), os.Getpid())
	select {}
}

// runDriverRole stands in for a sluice server: it runs a Driver with one
// child instance (whose PID the child writes to PID_FILE) until killed.
func runDriverRole() {
	d, err := New(Config{LogDir: os.Getenv("LOG_DIR")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go d.Run(context.Background())
	w := childWorkload("pd", 1, 1, "PID_FILE="+os.Getenv("PID_FILE"))
	if err := d.Ensure(context.Background(), w); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	select {}
}

func writePID(path string, pid int) {
	if path == "" {
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err == nil {
		os.Rename(tmp, path)
	}
}

// childWorkload runs the test binary as a child with extra env.
func childWorkload(app string, revision, replicas int, env ...string) runtime.Workload {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return runtime.Workload{
		App:      app,
		Revision: revision,
		Replicas: replicas,
		Process: &runtime.Process{
			Command:         []string{self},
			Env:             append([]string{roleEnv + "=child"}, env...),
			StopGracePeriod: 5 * time.Second,
		},
	}
}

// startSelf runs the test binary in a role, killing it at the end of the test.
func startSelf(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}
