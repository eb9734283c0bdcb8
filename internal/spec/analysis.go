package spec

// AnalysisTemplate is a reusable set of metrics whose measurements decide
// whether a rollout goes on.
type AnalysisTemplate struct {
	// Args are the template's parameters, referenced in queries as
	// `{{args.NAME}}`; a Value is the default.
	Args []TemplateArg `json:"args,omitempty"`
	// Metrics are measured independently; any failed metric fails the
	// analysis.
	Metrics []Metric `json:"metrics"`
}

// TemplateArg declares a template parameter.
type TemplateArg struct {
	// Name is the argument's name.
	Name string `json:"name"`
	// Value is its default; without one the rollout must pass a value.
	Value *string `json:"value,omitempty"`
}

// Metric is one measurement, repeated, with the conditions that judge it.
type Metric struct {
	// Name identifies the metric within its template.
	Name string `json:"name"`
	// Interval is the time between measurements. Default 30s.
	Interval *Duration `json:"interval,omitempty"`
	// Count is how many measurements to take; 0 means until the step or
	// rollout ends.
	Count *int `json:"count,omitempty"`
	// InitialDelay waits before the first measurement. Default 0.
	InitialDelay *Duration `json:"initialDelay,omitempty"`
	// SuccessCondition is an expression over the result that must be true.
	SuccessCondition string `json:"successCondition,omitempty"`
	// FailureCondition is an expression over the result that must be false.
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is how many failed measurements are tolerated. Default 0.
	FailureLimit *int `json:"failureLimit,omitempty"`
	// InconclusiveLimit is how many inconclusive measurements are tolerated
	// before the rollout pauses for a human. Default 0.
	InconclusiveLimit *int `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit is how many measurement errors in a row are
	// tolerated. Default 4.
	ConsecutiveErrorLimit *int `json:"consecutiveErrorLimit,omitempty"`
	// Provider says where the numbers come from: exactly one of its fields.
	Provider MetricProvider `json:"provider"`
}

// MetricProvider holds exactly one source of measurements.
type MetricProvider struct {
	// Builtin reads the proxy's own per-revision counters and latencies.
	Builtin *BuiltinProvider `json:"builtin,omitempty"`
	// Prometheus runs an instant PromQL query.
	Prometheus *PrometheusProvider `json:"prometheus,omitempty"`
	// Webhook POSTs JSON to a URL and reads a JSON result.
	Webhook *WebhookProvider `json:"webhook,omitempty"`
}

// BuiltinProvider measures the candidate and stable from the proxy's view.
type BuiltinProvider struct {
	// Window is how far back each measurement looks. Default 1m.
	Window *Duration `json:"window,omitempty"`
	// MinRequests is the candidate's sample size below which a measurement
	// is inconclusive. Default 20.
	MinRequests *int `json:"minRequests,omitempty"`
}

// PrometheusProvider queries a Prometheus server's HTTP API.
type PrometheusProvider struct {
	// Address is the server's base URL, such as http://127.0.0.1:9090.
	Address string `json:"address"`
	// Query is an instant PromQL query returning one scalar or sample.
	Query string `json:"query"`
	// Timeout bounds the query. Default 10s.
	Timeout *Duration `json:"timeout,omitempty"`
	// Headers are sent with the query, e.g. Authorization.
	Headers []Header `json:"headers,omitempty"`
}

// WebhookProvider asks an HTTP endpoint for a measurement.
type WebhookProvider struct {
	// URL receives a POST with a JSON body describing the rollout.
	URL string `json:"url"`
	// Headers are sent with the request.
	Headers []Header `json:"headers,omitempty"`
	// Timeout bounds the call. Default 10s.
	Timeout *Duration `json:"timeout,omitempty"`
}

// Header is one HTTP header.
type Header struct {
	// Name is the header's name.
	Name string `json:"name"`
	// Value is the header's value.
	Value string `json:"value"`
}
