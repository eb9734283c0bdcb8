package otlptest

import (
	"context"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Discard is an OTLP client that drops what it is given, for benchmarks
// that measure what recording spans costs without a collector.
type Discard struct{}

// Start does nothing.
func (Discard) Start(context.Context) error { return nil }

// Stop does nothing.
func (Discard) Stop(context.Context) error { return nil }

// UploadTraces drops the spans.
func (Discard) UploadTraces(context.Context, []*tracepb.ResourceSpans) error { return nil }
