package telemetry

import (
	"context"
	"strconv"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BatchOptions configure a Batcher. Zero fields take the defaults of the
// OpenTelemetry SDK's batch span processor.
type BatchOptions struct {
	// Delay is the longest an ended span waits before it is exported
	// (OTEL_BSP_SCHEDULE_DELAY). Default 5s.
	Delay time.Duration
	// ExportTimeout bounds one export (OTEL_BSP_EXPORT_TIMEOUT). Default
	// 30s.
	ExportTimeout time.Duration
	// MaxQueue is how many ended spans may wait; more are dropped
	// (OTEL_BSP_MAX_QUEUE_SIZE). Default 2048.
	MaxQueue int
	// MaxBatch is the most spans one export carries, and how many make
	// a batch worth exporting before the delay is up
	// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). Default 512, at most MaxQueue.
	MaxBatch int
}

// batchOptionsFromEnv reads the OTEL_BSP_* variables through getenv, as
// the SDK's batch span processor does: times in milliseconds, and a value
// that is not a positive integer leaves the default.
func batchOptionsFromEnv(getenv func(string) string) BatchOptions {
	ms := func(key string) time.Duration { return time.Duration(positive(getenv(key))) * time.Millisecond }
	return BatchOptions{
		Delay:         ms("OTEL_BSP_SCHEDULE_DELAY"),
		ExportTimeout: ms("OTEL_BSP_EXPORT_TIMEOUT"),
		MaxQueue:      positive(getenv("OTEL_BSP_MAX_QUEUE_SIZE")),
		MaxBatch:      positive(getenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")),
	}
}

// positive parses s as a positive integer, or returns 0.
func positive(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// withDefaults fills in the zero fields.
func (o BatchOptions) withDefaults() BatchOptions {
	if o.Delay <= 0 {
		o.Delay = 5 * time.Second
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 30 * time.Second
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = sdktrace.DefaultMaxQueueSize
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = sdktrace.DefaultMaxExportBatchSize
	}
	o.MaxBatch = min(o.MaxBatch, o.MaxQueue)
	return o
}

// Batcher is a span processor that exports sampled spans in batches, in
// the background, like the SDK's batch span processor (sdktrace.
// NewBatchSpanProcessor) and with the same options, but with a cheaper
// hand-off on the request path. The SDK's processor passes every ended
// span through a channel to its goroutine, so each span readies that
// goroutine and often wakes an idle thread to run it; a Batcher appends
// the span to its queue under a mutex and wakes its goroutine only when a
// batch is full, when the delay is up, or to flush. When the queue is
// full, spans are dropped rather than holding up requests.
type Batcher struct {
	exp sdktrace.SpanExporter
	q   *spanQueue[sdktrace.ReadOnlySpan]
}

// NewBatcher returns a Batcher exporting to exp and starts its goroutine,
// which Shutdown stops.
func NewBatcher(exp sdktrace.SpanExporter, o BatchOptions) *Batcher {
	return &Batcher{exp: exp, q: newSpanQueue(o, exp.ExportSpans)}
}

// OnStart does nothing: spans are handled when they end.
func (b *Batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span for export.
func (b *Batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	b.q.add(&s)
}

// Dropped returns how many spans were dropped because the queue was full.
func (b *Batcher) Dropped() int64 { return b.q.dropped() }

// ForceFlush exports every span that ended before it was called.
func (b *Batcher) ForceFlush(ctx context.Context) error { return b.q.flush(ctx) }

// Shutdown exports the queued spans, stops the goroutine and shuts the
// exporter down. Spans that end later are dropped.
func (b *Batcher) Shutdown(ctx context.Context) error {
	return b.q.shutdown(ctx, b.exp.Shutdown)
}
