package deploy_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// readUnit returns a unit file's settings by section and key, in order.
func readUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			unit[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a setting: %q", path, n, line)
			}
			unit[section][k] = append(unit[section][k], v)
		}
	}
	return unit
}

// TestSystemdUnitHardening checks the unit's sandbox; systemd-analyze verify
// (make lint-deploy) checks that systemd accepts every line.
func TestSystemdUnitHardening(t *testing.T) {
	unit := readUnit(t, "systemd/sluice.service")
	svc := unit["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	last := func(k string) string {
		if v := svc[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	for key, want := range map[string]string{
		"DynamicUser":           "yes",
		"StateDirectory":        "sluice",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"PrivateTmp":            "yes",
		"PrivateDevices":        "yes",
		"ProtectKernelTunables": "yes",
		"ProtectKernelModules":  "yes",
		"ProtectControlGroups":  "yes",
		"RestrictSUIDSGID":      "yes",
		"CapabilityBoundingSet": "",
		"Restart":               "on-failure",
	} {
		if _, ok := svc[key]; !ok {
			t.Errorf("%s is not set", key)
		} else if got := last(key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	if got := last("ExecStart"); got != "/usr/local/bin/sluice server" {
		t.Errorf("ExecStart=%s", got)
	}
	env := strings.Join(svc["Environment"], " ")
	if !strings.Contains(env, "SLUICE_DATA_DIR=/var/lib/sluice") {
		t.Errorf("the data directory is not the state directory: %s", env)
	}
	if got := unit["Install"]["WantedBy"]; len(got) == 0 || got[0] != "multi-user.target" {
		t.Errorf("WantedBy=%v", got)
	}
}
