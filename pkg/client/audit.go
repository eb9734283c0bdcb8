package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"sluice.dev/sluice/pkg/apiv1"
)

// AuditQuery selects audit entries.
type AuditQuery struct {
	// Since is a duration before now (`90m`, `7d`) or an RFC 3339 time.
	Since string
	// Resource keeps entries about this resource or anything under it
	// (`apps/web`, `secrets/hello`).
	Resource string
	// After keeps entries with a greater ID.
	After int64
	// Limit caps how many, newest kept (1–10000); 0 lets the server choose.
	Limit int
}

// Audit returns audit entries, oldest first. Only admin tokens may.
func (c *Client) Audit(ctx context.Context, q AuditQuery) ([]apiv1.AuditEntry, error) {
	v := url.Values{}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Resource != "" {
		v.Set("resource", q.Resource)
	}
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out apiv1.AuditList
	err := c.do(ctx, http.MethodGet, "/api/v1/audit", v, nil, "", &out)
	return out.Items, err
}
