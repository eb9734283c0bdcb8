package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"sluice.dev/sluice/internal/analysis"
)

// ErrTooManySeries means an instant query returned more than one sample;
// a condition judges one number.
var ErrTooManySeries = errors.New("the query returned more than one series: aggregate it (sum, max, …) to one")

// Prometheus runs instant PromQL queries against a Prometheus server's
// HTTP API (or anything that speaks it: Thanos, Mimir, VictoriaMetrics).
type Prometheus struct {
	client *http.Client
}

// NewPrometheus returns a prometheus provider that queries over client.
func NewPrometheus(client *http.Client) *Prometheus {
	return &Prometheus{client: client}
}

// promAnswer is the envelope of every Prometheus API answer.
type promAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// promSample is one sample of an instant vector.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Measure implements analysis.Provider: it runs the metric's query at the
// server's current time, within the metric's timeout, with its headers
// (Authorization, a tenant ID), and returns the number: the scalar, or the
// value of the vector's single sample (a float64, possibly NaN or ±Inf).
func (p *Prometheus) Measure(ctx context.Context, req analysis.Request) (analysis.Result, error) {
	pp := req.Provider.Prometheus
	if pp == nil {
		return analysis.Result{}, fmt.Errorf("prometheus: metric %s/%s: %w", req.Template, req.Metric, ErrWrongProvider)
	}
	ctx, cancel := withTimeout(ctx, pp.Timeout)
	defer cancel()
	endpoint := strings.TrimSuffix(pp.Address, "/") + "/api/v1/query"
	form := url.Values{"query": {pp.Query}}
	if pp.Timeout != nil && pp.Timeout.Duration > 0 {
		form.Set("timeout", pp.Timeout.Duration.String())
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return analysis.Result{}, fmt.Errorf("prometheus query: %w", err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "application/json")
	setHeaders(r, pp.Headers)
	resp, err := p.client.Do(r)
	if err != nil {
		return analysis.Result{}, fmt.Errorf("prometheus query: %w", err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return analysis.Result{}, fmt.Errorf("prometheus query at %s: %w", endpoint, err)
	}
	v, err := parseAnswer(resp.StatusCode, body)
	if err != nil {
		if se := (*StatusError)(nil); errors.As(err, &se) {
			se.URL = endpoint
		}
		return analysis.Result{}, fmt.Errorf("prometheus query %q: %w", pp.Query, err)
	}
	return analysis.Result{Value: v}, nil
}

// parseAnswer reads the number out of an instant query's answer.
func parseAnswer(code int, body []byte) (float64, error) {
	var a promAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.Status == "" {
		if code/100 != 2 {
			return 0, &StatusError{Code: code, Body: snippet(body)}
		}
		return 0, fmt.Errorf("%w: not a Prometheus API answer: %s", ErrBadResponse, snippet(body))
	}
	if a.Status != "success" {
		return 0, &StatusError{Code: code, Body: a.ErrorType + ": " + a.Error}
	}
	switch a.Data.ResultType {
	case "scalar":
		var pair [2]any
		if err := json.Unmarshal(a.Data.Result, &pair); err != nil {
			return 0, fmt.Errorf("%w: scalar %s: %v", ErrBadResponse, snippet(a.Data.Result), err)
		}
		return sampleValue(pair)
	case "vector":
		var samples []promSample
		if err := json.Unmarshal(a.Data.Result, &samples); err != nil {
			return 0, fmt.Errorf("%w: vector %s: %v", ErrBadResponse, snippet(a.Data.Result), err)
		}
		switch len(samples) {
		case 0:
			return 0, fmt.Errorf("empty result: %w", analysis.ErrNoData)
		case 1:
			return sampleValue(samples[0].Value)
		}
		return 0, fmt.Errorf("%w: %d series, such as %s", ErrTooManySeries, len(samples), seriesNames(samples, 3))
	}
	return 0, fmt.Errorf("%w: the result is a %s; a condition needs a scalar or an instant vector", ErrBadResponse, a.Data.ResultType)
}

// sampleValue parses the value of a [timestamp, "value"] pair.
func sampleValue(pair [2]any) (float64, error) {
	s, ok := pair[1].(string)
	if !ok {
		return 0, fmt.Errorf("%w: sample value %v is not a string", ErrBadResponse, pair[1])
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: sample value %q: %v", ErrBadResponse, s, err)
	}
	return f, nil
}

// seriesNames writes the label sets of the first n samples.
func seriesNames(samples []promSample, n int) string {
	var names []string
	for _, s := range samples[:min(n, len(samples))] {
		keys := make([]string, 0, len(s.Metric))
		for k := range s.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%q", k, s.Metric[k]))
		}
		names = append(names, "{"+strings.Join(parts, ", ")+"}")
	}
	return strings.Join(names, ", ")
}
