package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSealOpensOnlyWhereItWasSealed(t *testing.T) {
	master, other := NewKey(), NewKey()
	plain := []byte(`{"password":"hunter2"}`)
	env := seal(master, "web/db", 3, plain)
	if env.keyID != master.ID() {
		t.Fatalf("key ID %s, want %s", env.keyID, master.ID())
	}
	if bytes.Contains(env.ciphertext, []byte("hunter2")) || bytes.Contains(env.wrappedKey, master.b[:]) {
		t.Fatal("the envelope holds its plaintext or the master key")
	}
	got, err := open(master, "web/db", 3, env)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open = %q, %v", got, err)
	}
	swapped := seal(master, "web/db", 4, []byte(`{"password":"other"}`))
	cases := []struct {
		name    string
		key     Key
		path    string
		version int64
		env     sealed
	}{
		{"another master key", other, "web/db", 3, env},
		{"another path", master, "web/cache", 3, env},
		{"a path that only concatenates the same", master, "web/d", 3, env},
		{"another version", master, "web/db", 4, env},
		{"a data key from another version", master, "web/db", 3, sealed{wrappedKey: swapped.wrappedKey, ciphertext: env.ciphertext}},
		{"a ciphertext from another version", master, "web/db", 3, sealed{wrappedKey: env.wrappedKey, ciphertext: swapped.ciphertext}},
		{"a flipped ciphertext bit", master, "web/db", 3, sealed{wrappedKey: env.wrappedKey, ciphertext: flip(env.ciphertext, 20)}},
		{"a flipped wrapped key bit", master, "web/db", 3, sealed{wrappedKey: flip(env.wrappedKey, 15), ciphertext: env.ciphertext}},
		{"a truncated ciphertext", master, "web/db", 3, sealed{wrappedKey: env.wrappedKey, ciphertext: env.ciphertext[:10]}},
		{"nothing", master, "web/db", 3, sealed{}},
	}
	for _, c := range cases {
		if _, err := open(c.key, c.path, c.version, c.env); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: open = %v, want ErrSealed", c.name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i%len(out)] ^= 1
	return out
}

func TestSealUsesFreshKeysAndNonces(t *testing.T) {
	master := NewKey()
	a := seal(master, "p", 1, []byte("same"))
	b := seal(master, "p", 1, []byte("same"))
	if bytes.Equal(a.ciphertext, b.ciphertext) || bytes.Equal(a.wrappedKey, b.wrappedKey) {
		t.Fatal("two seals of the same data are equal: keys or nonces are reused")
	}
}

func TestRewrapKeepsTheData(t *testing.T) {
	old, next := NewKey(), NewKey()
	env := seal(old, "p/q", 7, []byte("data"))
	wrapped, err := rewrap(old, next, "p/q", 7, env.wrappedKey)
	if err != nil {
		t.Fatal(err)
	}
	moved := sealed{keyID: next.ID(), wrappedKey: wrapped, ciphertext: env.ciphertext}
	if got, err := open(next, "p/q", 7, moved); err != nil || string(got) != "data" {
		t.Fatalf("open under the new key = %q, %v", got, err)
	}
	if _, err := open(old, "p/q", 7, moved); !errors.Is(err, ErrSealed) {
		t.Fatalf("the old key still opens the re-wrapped data key: %v", err)
	}
	if _, err := rewrap(next, old, "p/q", 7, env.wrappedKey); !errors.Is(err, ErrSealed) {
		t.Fatalf("rewrap with the wrong key = %v", err)
	}
}

func TestKeyEncodingAndPrinting(t *testing.T) {
	k := NewKey()
	back, err := ParseKey(" " + k.Encode() + "\n")
	if err != nil || !back.Equal(k) || back.ID() != k.ID() {
		t.Fatalf("ParseKey(Encode) = %v, %v", back, err)
	}
	if NewKey().Equal(k) || NewKey().ID() == k.ID() {
		t.Fatal("two new keys are equal")
	}
	for _, bad := range []string{"", "not base64!", "AAAA", strings.Repeat("A", 44)} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted it", bad)
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "key", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %s %#v", k, k, k, k), logged.String()} {
		if strings.Contains(out, k.Encode()) || !strings.Contains(out, k.ID()) {
			t.Errorf("a key printed as %q", out)
		}
	}
}
