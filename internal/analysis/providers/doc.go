// Package providers takes the measurements that package analysis judges.
// Each provider implements [analysis.Provider] for one kind of metric:
//
//   - [Builtin] reads the proxy's per-revision counters through the small
//     [Counters] interface it owns, for the candidate and the stable
//     revision over the metric's window. [ProxyCounters] adapts an
//     in-process *proxy.Server; a separate data plane will satisfy the same
//     interface with the counters it reports.
//   - [Prometheus] runs an instant PromQL query over the HTTP API
//     (POST /api/v1/query) and returns a scalar or the value of a single
//     sample. An empty result wraps [analysis.ErrNoData], so it is
//     Inconclusive rather than an error; several series are an error.
//   - [Webhook] POSTs a JSON description of the measurement (app,
//     revisions, template, metric, args) and returns the JSON body of a 2xx
//     answer as the result; any other status is an error.
//
// [Set] dispatches a metric to the provider its spec names. Providers hold
// no state between calls and start no goroutines; every call is bounded by
// its context and the metric's timeout.
package providers
