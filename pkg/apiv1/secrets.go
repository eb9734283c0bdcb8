package apiv1

import "time"

// SecretInfo describes a secret without its values.
type SecretInfo struct {
	Path string `json:"path"`
	// LatestVersion is the newest version; versions count from 1 and are
	// never reused, not even after the secret is removed.
	LatestVersion int64     `json:"latestVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// SecretList is every live secret, by path.
type SecretList struct {
	Items []SecretInfo `json:"items"`
}

// SecretVersion describes one version of a secret.
type SecretVersion struct {
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	// Actor is the name of the token that wrote the version.
	Actor string `json:"actor,omitempty"`
	// RestoredFrom is the version a rollback copied; absent otherwise.
	RestoredFrom int64 `json:"restoredFrom,omitempty"`
	// Rollouts, in the answer to a put or a rollback, are the revisions
	// the new version made, of apps with rolloutOnSecretChange that refer
	// to the secret; absent when none.
	Rollouts []SecretRollout `json:"rollouts,omitempty"`
}

// SecretRollout is a revision that sluice made because a secret the app
// refers to changed.
type SecretRollout struct {
	App      string `json:"app"`
	Revision int    `json:"revision"`
}

// Secret is one version of a secret with its key/values. Only admins get
// values; everyone else gets every value replaced by "********" and Masked
// set.
type Secret struct {
	Path string `json:"path"`
	SecretVersion
	Data   map[string]string `json:"data"`
	Masked bool              `json:"masked,omitempty"`
}

// SecretMetadata is what any reader may know about a secret: its versions,
// and one version's keys with masked values.
type SecretMetadata struct {
	SecretInfo
	Versions []SecretVersion `json:"versions"`
	// Secret is the asked-for version (the newest by default), masked.
	Secret Secret `json:"secret"`
}

// SecretWrite is the body of PUT /api/v1/secrets/data?path=: the complete
// key/values of the new version.
type SecretWrite struct {
	Data map[string]string `json:"data"`
}

// SecretRollback is the body of POST /api/v1/secrets/rollback?path=: the
// version whose data becomes the newest version.
type SecretRollback struct {
	Version int64 `json:"version"`
}

// Master key sources.
const (
	// MasterKeyFromFile: the master key is kept in a file the server owns.
	MasterKeyFromFile = "file"
	// MasterKeyFromEnv: the master key came from SLUICE_MASTER_KEY.
	MasterKeyFromEnv = "env"
)

// MasterKeyRotation reports a rotation of the master key.
type MasterKeyRotation struct {
	// KeyID is the new master key's public fingerprint.
	KeyID string `json:"keyId"`
	// Rewrapped counts the data keys now wrapped by the new master key.
	Rewrapped int `json:"rewrapped"`
	// Source is MasterKeyFromFile or MasterKeyFromEnv.
	Source string `json:"source"`
	// KeyFile is where the new key was written, for the file source.
	KeyFile string `json:"keyFile,omitempty"`
	// NewKey is the new master key (base64), given only when it came from
	// the environment: put it in SLUICE_MASTER_KEY before the next start.
	// It is shown this once.
	NewKey string `json:"newKey,omitempty"`
}
