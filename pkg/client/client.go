package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"sluice.dev/sluice/pkg/apiv1"
)

// Client talks to one sluice server.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client (which has no overall
// timeout, since watches stream; requests are bounded by their contexts).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the server at baseURL (such as
// http://127.0.0.1:7070) that presents token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server address %q is not an http(s) URL", baseURL)
	}
	c := &Client{base: u, token: token, http: &http.Client{Transport: http.DefaultTransport}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the server's address.
func (c *Client) BaseURL() string { return c.base.String() }

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsConflict reports whether err is the server's 409.
func IsConflict(err error) bool { return statusIs(err, http.StatusConflict) }

func statusIs(err error, status int) bool {
	var p *apiv1.Problem
	return errors.As(err, &p) && p.Status == status
}

// request sends one request and returns the response for 2xx answers;
// other answers become *apiv1.Problem errors.
func (c *Client) request(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, problemOf(resp)
}

// problemOf decodes an error answer; a body that is not problem+json still
// becomes a Problem with the status.
func problemOf(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	p := &apiv1.Problem{}
	if err := json.Unmarshal(b, p); err != nil || p.Status == 0 {
		p = &apiv1.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(b))}
	}
	return p
}

// do sends a request and decodes a JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	resp, err := c.request(ctx, method, path, query, r, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Apply creates or updates every resource in documents (YAML or JSON, one
// or more separated by ---), all or none.
func (c *Client) Apply(ctx context.Context, documents []byte) (apiv1.ApplyResult, error) {
	var res apiv1.ApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/apply", nil, documents, "application/yaml", &res)
	return res, err
}

// List returns every resource in a collection ("apps", "analysistemplates").
func (c *Client) List(ctx context.Context, collection string) ([]apiv1.Object, error) {
	var out apiv1.ObjectList
	err := c.do(ctx, http.MethodGet, "/api/v1/"+url.PathEscape(collection), nil, nil, "", &out)
	return out.Items, err
}

// Get returns one resource.
func (c *Client) Get(ctx context.Context, collection, name string) (apiv1.Object, error) {
	var out apiv1.Object
	err := c.do(ctx, http.MethodGet, "/api/v1/"+url.PathEscape(collection)+"/"+url.PathEscape(name), nil, nil, "", &out)
	return out, err
}

// Delete removes one resource.
func (c *Client) Delete(ctx context.Context, collection, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/"+url.PathEscape(collection)+"/"+url.PathEscape(name), nil, nil, "", nil)
}

// Revisions returns an app's revisions, oldest first.
func (c *Client) Revisions(ctx context.Context, app string) ([]apiv1.Revision, error) {
	var out apiv1.RevisionList
	err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(app)+"/revisions", nil, nil, "", &out)
	return out.Items, err
}

// EventQuery selects events.
type EventQuery struct {
	// App keeps only this app's events, when set.
	App string
	// After keeps only events with a greater ID.
	After int64
	// Limit caps how many (1–1000); 0 lets the server choose.
	Limit int
}

func (q EventQuery) values() url.Values {
	v := url.Values{}
	if q.App != "" {
		v.Set("app", q.App)
	}
	if q.After > 0 {
		v.Set("after", fmt.Sprint(q.After))
	}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	return v
}

// Events returns events, oldest first.
func (c *Client) Events(ctx context.Context, q EventQuery) ([]apiv1.Event, error) {
	var out apiv1.EventList
	err := c.do(ctx, http.MethodGet, "/api/v1/events", q.values(), nil, "", &out)
	return out.Items, err
}

// Version returns the server's build.
func (c *Client) Version(ctx context.Context) (apiv1.VersionInfo, error) {
	var out apiv1.VersionInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/version", nil, nil, "", &out)
	return out, err
}

// Ready returns the server's readiness; a 503 is not an error here.
func (c *Client) Ready(ctx context.Context) (apiv1.Readiness, error) {
	var out apiv1.Readiness
	resp, err := c.request(ctx, http.MethodGet, "/readyz", nil, nil, "")
	var p *apiv1.Problem
	if errors.As(err, &p) && p.Status == http.StatusServiceUnavailable {
		err = json.Unmarshal([]byte(p.Detail), &out)
		return out, err
	}
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// Status returns the server's build, uptime and readiness checks.
func (c *Client) Status(ctx context.Context) (apiv1.ServerStatus, error) {
	var out apiv1.ServerStatus
	err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, nil, "", &out)
	return out, err
}

// Whoami returns the identity the client's token names.
func (c *Client) Whoami(ctx context.Context) (apiv1.Identity, error) {
	var out apiv1.Identity
	err := c.do(ctx, http.MethodGet, "/api/v1/whoami", nil, nil, "", &out)
	return out, err
}
