// Package ofrep serves feature flags over the OpenFeature Remote Evaluation
// Protocol (OFREP) 0.3.0, so that any OpenFeature SDK with an OFREP provider
// can read sluice's flags unchanged.
//
// [NewHandler] returns an [http.Handler] for everything under [PathPrefix]:
//
//	POST /ofrep/v1/evaluate/flags/{key}   evaluate one flag (server-side providers)
//	POST /ofrep/v1/evaluate/flags         evaluate every flag (client-side providers)
//	GET  /ofrep/v1/events                 server-sent events: refetchEvaluation
//
// The handler reads flag sets from a [Source] (a *feed.Feed satisfies it)
// and learns which environment a request may read from an [Authenticate]
// function that the server supplies; it owns neither.
//
// # Choices the specification leaves open
//
// Status codes. A flag that does not exist answers 404 FLAG_NOT_FOUND. A
// request that cannot be read answers 400: PARSE_ERROR when the body is not
// a JSON object, is empty or is larger than the limit (default 64 KiB, see
// [WithMaxBodyBytes]; OFREP defines no 413, and its providers understand
// 400 with an error code); INVALID_CONTEXT when "context" is missing, null
// or not an object, when targetingKey is neither a string nor null, or when
// the body nests deeper than the limit (default 32, see [WithMaxDepth]). The
// depth is checked by a linear scan before decoding, so no input recurses
// deeply. A flag whose evaluation fails answers 400 with the evaluator's
// error code; 500 means the handler itself failed. 401 and 403 come from
// [ErrUnauthenticated] and [ErrForbidden]; 429 from an optional [Limiter],
// with Retry-After in whole seconds. Error bodies other than 400 and 404
// carry {"errorDetails": "..."}.
//
// The targetingKey is optional although the schema marks it required: a
// flag without targeting needs none, and fractional targeting without one
// gives the default variant, as flagd does.
//
// Reasons. OFREP 0.3.0 allows STATIC, TARGETING_MATCH, SPLIT, DISABLED and
// UNKNOWN. The evaluator's DEFAULT (targeting ran and chose nothing) has no
// OFREP counterpart and is sent as UNKNOWN rather than STATIC, because a
// client may cache a STATIC answer across contexts. A flag with no value
// (disabled, or no default variant) is answered without "value", so the
// provider uses its code default. Error codes outside the failure enum
// (TYPE_MISMATCH) are sent as GENERAL. Metadata entries that are not a
// boolean, string or number are left out, as the schema requires.
//
// Caching. The bulk response's ETag is a hash of the environment, the flag
// set's version and the request's context (keys sorted), so it changes when
// either changes; If-None-Match with a matching tag answers 304. Flags whose
// targeting reads $flagd.timestamp can change without a new version; such
// clients should not rely on 304 alone. "*" is not honoured.
//
// Event streams. The bulk response advertises one "sse" event stream as an
// endpoint relative to the provider's configured base URL (or as an
// absolute url, see [WithStreamOrigin]). Browsers' EventSource cannot send
// headers, so the stream's URL carries a channel token: the environment
// signed with HMAC-SHA256 under a key (see [WithStreamKey]). The token
// grants only change notifications, never flag values. The stream sends
// "refetchEvaluation" events with the new version as id and etag, a
// keep-alive comment every 15 s (see [WithKeepAlive]), and a missed change
// at once when the client reconnects with a stale Last-Event-ID. A stream
// ends when the client goes away, when its request context ends, or when
// [Handler.CloseStreams] is called (register it with
// http.Server.RegisterOnShutdown so shutdown does not wait for streams).
//
// Browsers. With [WithAllowedOrigins] the handler answers CORS preflights
// and exposes the ETag header, so web providers on other origins work.
package ofrep
