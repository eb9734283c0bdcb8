package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// Rollout applies a rollout action (apiv1.ActionPromote,
// ActionPromoteFull, ActionAbort, ActionUndo, ActionPause, ActionResume or
// ActionRetry) to an app and returns the app as it is then. An action that does not apply (nothing to promote) is a
// 409 problem.
func (c *Client) Rollout(ctx context.Context, app, action string) (apiv1.Object, error) {
	var out apiv1.Object
	err := c.do(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(app)+"/rollout/"+url.PathEscape(action), nil, nil, "", &out)
	return out, err
}

// Deploy makes a new revision of an app from its current spec with the
// changes in req.
func (c *Client) Deploy(ctx context.Context, app string, req apiv1.DeployRequest) (apiv1.DeployResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return apiv1.DeployResult{}, fmt.Errorf("encode deploy request: %w", err)
	}
	var out apiv1.DeployResult
	err = c.do(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(app)+"/deploy", nil, body, "application/json", &out)
	return out, err
}

// AppStatus returns an app's status.
func (c *Client) AppStatus(ctx context.Context, app string) (apiv1.AppStatus, error) {
	o, err := c.Get(ctx, "apps", app)
	if err != nil {
		return apiv1.AppStatus{}, err
	}
	var st apiv1.AppStatus
	if len(o.Status) > 0 {
		if err := json.Unmarshal(o.Status, &st); err != nil {
			return st, fmt.Errorf("decode the status of app %q: %w", app, err)
		}
	}
	return st, nil
}

// LogQuery selects instance logs.
type LogQuery struct {
	// Revision keeps one revision's instances, when set.
	Revision int
	// Instance keeps one instance, when set; its lines are then not
	// prefixed with its ID.
	Instance string
	// Follow keeps streaming new output until ctx ends.
	Follow bool
}

// Logs copies the logs of an app's instances to w. With q.Follow it
// returns when ctx ends (with ctx's error) or the stream breaks.
func (c *Client) Logs(ctx context.Context, app string, q LogQuery, w io.Writer) error {
	v := url.Values{}
	if q.Revision > 0 {
		v.Set("revision", strconv.Itoa(q.Revision))
	}
	if q.Instance != "" {
		v.Set("instance", q.Instance)
	}
	if q.Follow {
		v.Set("follow", "true")
	}
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(app)+"/logs", v, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("read logs of %q: %w", app, err)
	}
	return nil
}

// MeasurementQuery selects analysis measurements.
type MeasurementQuery struct {
	// Run keeps one analysis run (AnalysisRun.Name), when set.
	Run string
	// Candidate keeps one candidate revision, when not 0.
	Candidate int
	// Limit keeps the newest Limit (at most 1000, the default).
	Limit int
}

// Measurements lists an app's stored analysis measurements, oldest first.
func (c *Client) Measurements(ctx context.Context, app string, q MeasurementQuery) ([]apiv1.StoredMeasurement, error) {
	v := url.Values{}
	if q.Run != "" {
		v.Set("run", q.Run)
	}
	if q.Candidate > 0 {
		v.Set("candidate", strconv.Itoa(q.Candidate))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out apiv1.MeasurementList
	err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(app)+"/measurements", v, nil, "", &out)
	return out.Items, err
}

// Traffic returns what the proxy measured of each of an app's revisions
// over the last window (zero: the server's default of one minute).
func (c *Client) Traffic(ctx context.Context, app string, window time.Duration) (apiv1.AppTraffic, error) {
	q := url.Values{}
	if window > 0 {
		q.Set("window", window.String())
	}
	var out apiv1.AppTraffic
	err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(app)+"/traffic", q, nil, "", &out)
	return out, err
}
