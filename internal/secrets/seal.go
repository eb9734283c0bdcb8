package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// KeySize is the size of master and data keys in bytes: AES-256.
const KeySize = 32

// ErrSealed means sealed bytes could not be opened: the master key is not
// the one they were sealed under, or they were altered or moved.
var ErrSealed = errors.New("cannot open sealed secret: wrong master key, or the data was altered or moved")

// Key is a 256-bit master key. It prints and logs as its ID only; Encode
// is the one way to get its bytes out.
type Key struct {
	b [KeySize]byte
}

// NewKey returns a fresh random key.
func NewKey() Key {
	var k Key
	_, _ = rand.Read(k.b[:]) // crypto/rand.Read never fails on supported platforms
	return k
}

// ParseKey reads a key written by Encode: the standard base64 of 32 bytes,
// surrounding white space ignored.
func ParseKey(s string) (Key, error) {
	var k Key
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return k, fmt.Errorf("a master key is the base64 of %d random bytes: %w", KeySize, err)
	}
	if len(b) != KeySize {
		return k, fmt.Errorf("a master key is the base64 of %d random bytes, got %d bytes", KeySize, len(b))
	}
	copy(k.b[:], b)
	return k, nil
}

// Encode returns the key as standard base64, for a key file or the
// environment. Treat the result as the secret it is.
func (k Key) Encode() string { return base64.StdEncoding.EncodeToString(k.b[:]) }

// ID is a public fingerprint of the key: the first 8 bytes of a SHA-256
// over a fixed label and the key, in hex. Stored beside each wrapped data
// key, it tells which master key opens it.
func (k Key) ID() string {
	h := sha256.New()
	h.Write([]byte("sluice master key id\x00"))
	h.Write(k.b[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Equal reports whether two keys are the same, in constant time.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k.b[:], o.b[:]) == 1 }

// String names the key by its ID, never its bytes.
func (k Key) String() string { return "master key " + k.ID() }

// GoString names the key by its ID for %#v too.
func (k Key) GoString() string { return k.String() }

// LogValue keeps the key's bytes out of logs.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// sealed is one version's envelope: the data ciphertext and its wrapped
// data key. Each is a random 12-byte nonce followed by the GCM output.
type sealed struct {
	keyID      string
	wrappedKey []byte
	ciphertext []byte
}

// associatedData binds a seal to its purpose, path and version.
func associatedData(purpose, path string, version int64) []byte {
	return []byte("sluice/secrets/v1\x00" + purpose + "\x00" + path + "\x00" + strconv.FormatInt(version, 10))
}

// seal encrypts plaintext for path at version under a fresh data key, and
// wraps that key under master.
func seal(master Key, path string, version int64, plaintext []byte) sealed {
	var dataKey [KeySize]byte
	_, _ = rand.Read(dataKey[:])
	defer clear(dataKey[:])
	return sealed{
		keyID:      master.ID(),
		wrappedKey: gcmSeal(master.b[:], dataKey[:], associatedData("data-key", path, version)),
		ciphertext: gcmSeal(dataKey[:], plaintext, associatedData("data", path, version)),
	}
}

// open unwraps the data key with master and decrypts the data.
func open(master Key, path string, version int64, s sealed) ([]byte, error) {
	dataKey, err := gcmOpen(master.b[:], s.wrappedKey, associatedData("data-key", path, version))
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	return gcmOpen(dataKey, s.ciphertext, associatedData("data", path, version))
}

// rewrap moves a wrapped data key from one master key to another without
// touching the data it protects.
func rewrap(from, to Key, path string, version int64, wrapped []byte) ([]byte, error) {
	ad := associatedData("data-key", path, version)
	dataKey, err := gcmOpen(from.b[:], wrapped, ad)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	return gcmSeal(to.b[:], dataKey, ad), nil
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("secrets: " + err.Error()) // keys are always KeySize bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("secrets: " + err.Error())
	}
	return aead
}

// gcmSeal returns nonce || AES-GCM(key, plaintext, ad) with a random nonce.
// Every data key seals one message, and a master key wraps one data key
// per version, far below the 2^32 messages a random 96-bit nonce allows.
func gcmSeal(key, plaintext, ad []byte) []byte {
	aead := newGCM(key)
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(out)
	return aead.Seal(out, out, plaintext, ad)
}

// gcmOpen reverses gcmSeal; any failure is ErrSealed.
func gcmOpen(key, sealed, ad []byte) ([]byte, error) {
	aead := newGCM(key)
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrSealed
	}
	out, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrSealed
	}
	return out, nil
}
