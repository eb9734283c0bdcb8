package store

import "time"

// SecretPath is what the store keeps about a secret's path besides its
// versions: the highest version ever written (so numbers are never reused,
// not even after the secret is removed) and whether it was removed.
type SecretPath struct {
	// Path names the secret, such as `hello/db`.
	Path string
	// Latest is the highest version ever written under Path.
	Latest int64
	// CreatedAt is when the first version was written; UpdatedAt when the
	// latest was.
	CreatedAt time.Time
	UpdatedAt time.Time
	// DeletedAt is set when the secret was removed: its versions are gone
	// and only this tombstone remains. A new version revives the path.
	DeletedAt *time.Time
}

// SecretVersion is one sealed version of a secret. The store never sees a
// value: Ciphertext is the version's key/values sealed under its own data
// key, and WrappedKey is that data key sealed under a master key that the
// store never holds.
type SecretVersion struct {
	// Path names the secret.
	Path string
	// Version numbers the secret's versions from 1.
	Version int64
	// KeyID identifies the master key that wrapped the data key (a
	// fingerprint, not the key).
	KeyID string
	// WrappedKey is the version's data key, sealed by the master key.
	WrappedKey []byte
	// Ciphertext is the version's data, sealed by the data key.
	Ciphertext []byte
	// Actor names who wrote the version (a token's name).
	Actor string
	// RestoredFrom is the version whose data this one copies (a rollback);
	// 0 otherwise.
	RestoredFrom int64
	// CreatedAt is when the version was written; set by the caller.
	CreatedAt time.Time
}
