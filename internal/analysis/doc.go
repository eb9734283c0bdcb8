// Package analysis turns measurements into verdicts: it decides, from
// numbers and the conditions of an AnalysisTemplate, whether a candidate
// revision is as good as its stable one.
//
// Everything here is pure except [Take], which calls a [Provider]:
//
//   - [Compile] resolves a rollout's templates for one analysis run: it
//     substitutes `{{args.NAME}}` (and `{{app}}`, `{{candidate}}`,
//     `{{stable}}`) into queries, URLs and headers, and compiles each
//     metric's successCondition and failureCondition once, with
//     github.com/expr-lang/expr, against the variables its provider offers
//     (`candidate` and `stable` for builtin, `result` for prometheus and
//     webhook), so a misspelt variable is an error before anything is
//     measured.
//   - [Metric.Judge] turns one provider [Result] (or its error) into a
//     [Measurement] with a [Verdict]: Inconclusive when the candidate served
//     fewer requests than minRequests in the window (never a failure),
//     Failed when successCondition is false or failureCondition is true,
//     Error when the provider or a condition failed, Successful otherwise.
//     Its message carries the numbers that decided it.
//   - [Analysis.Evaluate] folds the measurements taken so far into a
//     [State]: each metric's verdict under its failureLimit,
//     inconclusiveLimit, consecutiveErrorLimit and count, and the analysis'
//     verdict across metrics (any Failed wins, then Error, then
//     Inconclusive; Successful when every metric is done).
//     [Analysis.Observe] folds more measurements into a state the caller
//     kept, so nothing has to be read twice.
//   - [Analysis.Due] (and [Analysis.Schedule], from a kept state) is the
//     scheduler: which metrics to measure now (initialDelay, interval) and
//     when the next one is due.
//   - [DefaultTemplate] is the analysis canary steps run when they name no
//     template: error rate and latency against stable from the proxy's
//     counters.
//
// Providers live in the providers subpackage behind the one-method
// [Provider] interface; this package never imports the proxy. [Run] is the
// thin shell a caller (the rollout controller) drives: on each wake-up
// [Run.Advance] takes the due measurements through a Provider, appends them
// to the store (see [NewRecord]) and returns the new state and when to wake
// again; [Run.Load] reads a run's measurements back after a restart.
package analysis
