package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"sluice.dev/sluice/internal/analysis"
)

// Webhook asks an HTTP endpoint for a measurement: a smoke test, a load
// test, a manual gate.
type Webhook struct {
	client *http.Client
}

// NewWebhook returns a webhook provider that calls over client.
func NewWebhook(client *http.Client) *Webhook {
	return &Webhook{client: client}
}

// WebhookRequest is the JSON body a webhook receives.
type WebhookRequest struct {
	// App is the app being rolled out.
	App string `json:"app"`
	// Candidate is the revision being rolled out.
	Candidate int `json:"candidate"`
	// Stable is the revision serving before it; 0 when there is none.
	Stable int `json:"stable"`
	// Template and Metric name the metric measured.
	Template string `json:"template"`
	Metric   string `json:"metric"`
	// Args are the template's arguments and their values.
	Args map[string]string `json:"args"`
}

// Measure implements analysis.Provider: it POSTs a WebhookRequest as JSON
// with the metric's headers, within its timeout. A 2xx answer's JSON body
// is the result; any other status is a *StatusError, and a body that is
// not JSON an error matching ErrBadResponse.
func (w *Webhook) Measure(ctx context.Context, req analysis.Request) (analysis.Result, error) {
	wp := req.Provider.Webhook
	if wp == nil {
		return analysis.Result{}, fmt.Errorf("webhook: metric %s/%s: %w", req.Template, req.Metric, ErrWrongProvider)
	}
	args := req.Args
	if args == nil {
		args = map[string]string{}
	}
	payload, err := json.Marshal(WebhookRequest{
		App: req.Target.App, Candidate: req.Target.Candidate, Stable: req.Target.Stable,
		Template: req.Template, Metric: req.Metric, Args: args,
	})
	if err != nil {
		return analysis.Result{}, fmt.Errorf("webhook: %w", err)
	}
	ctx, cancel := withTimeout(ctx, wp.Timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, wp.URL, bytes.NewReader(payload))
	if err != nil {
		return analysis.Result{}, fmt.Errorf("webhook: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	setHeaders(r, wp.Headers)
	resp, err := w.client.Do(r)
	if err != nil {
		return analysis.Result{}, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return analysis.Result{}, fmt.Errorf("webhook %s: %w", wp.URL, err)
	}
	if resp.StatusCode/100 != 2 {
		return analysis.Result{}, fmt.Errorf("webhook: %w", &StatusError{URL: wp.URL, Code: resp.StatusCode, Body: snippet(body)})
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return analysis.Result{}, fmt.Errorf("webhook %s: %w: the body is not JSON (%v): %s", wp.URL, ErrBadResponse, err, snippet(body))
	}
	return analysis.Result{Value: v}, nil
}
