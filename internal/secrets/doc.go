// Package secrets keeps versioned key/values sealed, the way Vault's KV v2
// does: every write makes a new version, any version can be read or
// restored, and removing a secret destroys every version.
//
// Values are sealed by envelope encryption. Each version's key/values are
// encrypted with AES-256-GCM under a data key made for that version alone;
// the data key is encrypted (wrapped) with AES-256-GCM under the master key.
// The master key never enters the store: the server reads it from the
// environment or a key file. Both seals carry the secret's path and version
// as associated data, so a sealed row moved to another path or version no
// longer opens. Rotating the master key re-wraps every data key and leaves
// the data ciphertexts as they are.
//
// The package never logs, and its errors never carry a value.
package secrets
