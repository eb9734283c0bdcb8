package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"sluice.dev/sluice/pkg/apiv1"
)

// secretQuery is the query naming a secret and, when not 0, a version.
func secretQuery(path string, version int64) url.Values {
	q := url.Values{"path": {path}}
	if version > 0 {
		q.Set("version", strconv.FormatInt(version, 10))
	}
	return q
}

// PutSecret writes data as the secret's next version; data replaces the
// previous version's key/values as a whole.
func (c *Client) PutSecret(ctx context.Context, path string, data map[string]string) (apiv1.SecretVersion, error) {
	var out apiv1.SecretVersion
	body, err := json.Marshal(apiv1.SecretWrite{Data: data})
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPut, "/api/v1/secrets/data", secretQuery(path, 0), body, "application/json", &out)
	clear(body)
	return out, err
}

// Secret returns one version of a secret with its values (0: the newest).
// Only admin tokens may; others get a 403 problem.
func (c *Client) Secret(ctx context.Context, path string, version int64) (apiv1.Secret, error) {
	var out apiv1.Secret
	err := c.do(ctx, http.MethodGet, "/api/v1/secrets/data", secretQuery(path, version), nil, "", &out)
	return out, err
}

// SecretMetadata describes a secret: its versions, and the keys of one
// version (0: the newest) with masked values. Any reader may.
func (c *Client) SecretMetadata(ctx context.Context, path string, version int64) (apiv1.SecretMetadata, error) {
	var out apiv1.SecretMetadata
	err := c.do(ctx, http.MethodGet, "/api/v1/secrets/metadata", secretQuery(path, version), nil, "", &out)
	return out, err
}

// Secrets lists every live secret, by path.
func (c *Client) Secrets(ctx context.Context) ([]apiv1.SecretInfo, error) {
	var out apiv1.SecretList
	err := c.do(ctx, http.MethodGet, "/api/v1/secrets", nil, nil, "", &out)
	return out.Items, err
}

// RollbackSecret writes the data of version as the secret's next version.
func (c *Client) RollbackSecret(ctx context.Context, path string, version int64) (apiv1.SecretVersion, error) {
	var out apiv1.SecretVersion
	body, err := json.Marshal(apiv1.SecretRollback{Version: version})
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPost, "/api/v1/secrets/rollback", secretQuery(path, 0), body, "application/json", &out)
	return out, err
}

// DeleteSecret destroys every version of a secret.
func (c *Client) DeleteSecret(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/secrets/metadata", secretQuery(path, 0), nil, "", nil)
}

// RotateMasterKey makes a new master key and re-wraps every data key under
// it. When the old key came from the environment, the answer holds the new
// key, shown this once.
func (c *Client) RotateMasterKey(ctx context.Context) (apiv1.MasterKeyRotation, error) {
	var out apiv1.MasterKeyRotation
	err := c.do(ctx, http.MethodPost, "/api/v1/secrets/rotate-master-key", nil, nil, "", &out)
	return out, err
}
