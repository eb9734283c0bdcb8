package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "db.env")
	os.WriteFile(env, []byte("# database\nexport user=web\r\n\npassword=a=b c \nEMPTY=\n"), 0o600)
	got, err := readSecretFile(env, nil)
	if err != nil || len(got) != 3 || got["user"] != "web" || got["password"] != "a=b c " || got["EMPTY"] != "" {
		t.Fatalf("KEY=VALUE lines: %q, %v", got, err)
	}
	got, err = readSecretFile("-", strings.NewReader(`  {"tls.crt": "-----BEGIN\nCERT", "k": "v"}`))
	if err != nil || got["tls.crt"] != "-----BEGIN\nCERT" || got["k"] != "v" {
		t.Fatalf("JSON from stdin: %q, %v", got, err)
	}
	for name, content := range map[string]string{
		"no-equals": "user=web\nhunter2-is-the-password\n",
		"bad-json":  `{"k": 1, "p": "hunter2-is-the-password"}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		_, err := readSecretFile(p, nil)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v (want an error that quotes no value)", name, err)
		}
	}
	if _, err := readSecretFile(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("a missing file was read")
	}
}
