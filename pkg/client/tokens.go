package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"sluice.dev/sluice/pkg/apiv1"
)

// CreateToken makes a token; the answer holds its secret, shown this once.
func (c *Client) CreateToken(ctx context.Context, req apiv1.TokenRequest) (apiv1.TokenCreated, error) {
	var out apiv1.TokenCreated
	body, err := json.Marshal(req)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPost, "/api/v1/tokens", nil, body, "application/json", &out)
	return out, err
}

// Tokens lists every token (never their secrets).
func (c *Client) Tokens(ctx context.Context) ([]apiv1.Token, error) {
	var out apiv1.TokenList
	err := c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, nil, "", &out)
	return out.Items, err
}

// RevokeToken deletes a token by ID or name.
func (c *Client) RevokeToken(ctx context.Context, idOrName string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(idOrName), nil, nil, "", nil)
}
