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
//   - [Analysis.Due] is the scheduler: which metrics to measure now
//     (initialDelay, interval) and when the next one is due.
//
// Providers live in the providers subpackage behind the one-method
// [Provider] interface; this package never imports the proxy. A caller (the
// rollout controller) compiles an analysis when a step or rollout starts,
// asks Due on each wake-up, takes the due measurements, stores them
// (see [NewRecord]) and acts on Evaluate's verdict.
package analysis
