package main

import (
	"context"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// discardClient is an OTLP client that drops the spans it is given, so
// that the benchmark measures what tracing costs the proxy (making,
// queueing, ending spans and converting them to OTLP) without a
// collector's network cost.
type discardClient struct{}

func (discardClient) Start(context.Context) error { return nil }

func (discardClient) Stop(context.Context) error { return nil }

func (discardClient) UploadTraces(context.Context, []*tracepb.ResourceSpans) error { return nil }
