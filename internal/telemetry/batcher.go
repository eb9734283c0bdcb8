package telemetry

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
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
	o   BatchOptions

	mu      sync.Mutex
	queue   []sdktrace.ReadOnlySpan // ended spans waiting, oldest first
	spare   []sdktrace.ReadOnlySpan // the other queue, swapped in by take
	stopped bool
	dropped int64

	full    chan struct{}      // a batch is ready; capacity 1
	flushes chan chan struct{} // ForceFlush: export all, then close
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewBatcher returns a Batcher exporting to exp and starts its goroutine,
// which Shutdown stops.
func NewBatcher(exp sdktrace.SpanExporter, o BatchOptions) *Batcher {
	o = o.withDefaults()
	b := &Batcher{
		exp: exp, o: o,
		queue:   make([]sdktrace.ReadOnlySpan, 0, o.MaxBatch),
		spare:   make([]sdktrace.ReadOnlySpan, 0, o.MaxBatch),
		full:    make(chan struct{}, 1),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go b.run()
	return b
}

// OnStart does nothing: spans are handled when they end.
func (b *Batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span for export.
func (b *Batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	b.mu.Lock()
	if b.stopped || len(b.queue) >= b.o.MaxQueue {
		if !b.stopped {
			b.dropped++
		}
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, s)
	ready := len(b.queue) == b.o.MaxBatch
	b.mu.Unlock()
	if ready {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
}

// Dropped returns how many spans were dropped because the queue was full.
func (b *Batcher) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// ForceFlush exports every span that ended before it was called.
func (b *Batcher) ForceFlush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case b.flushes <- done:
	case <-b.done:
		return nil // shut down: nothing is left
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports the queued spans, stops the goroutine and shuts the
// exporter down. Spans that end later are dropped.
func (b *Batcher) Shutdown(ctx context.Context) error {
	var err error
	b.once.Do(func() {
		b.mu.Lock()
		b.stopped = true
		b.mu.Unlock()
		close(b.stop)
		select {
		case <-b.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		err = errors.Join(err, b.exp.Shutdown(ctx))
	})
	return err
}

// run exports a batch when one is full or the delay since the last export
// is up, everything on a flush, and what is left at shutdown.
func (b *Batcher) run() {
	defer close(b.done)
	t := time.NewTimer(b.o.Delay)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			b.export(0)
			return
		case <-b.full:
			b.export(b.o.MaxBatch)
		case <-t.C:
			b.export(0)
		case done := <-b.flushes:
			b.export(0)
			close(done)
		}
		t.Reset(b.o.Delay)
	}
}

// export sends queued spans in batches of at most MaxBatch, while at least
// least of them (at least one, for 0) are queued.
func (b *Batcher) export(least int) {
	least = max(least, 1)
	for {
		batch := b.take(least)
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.o.ExportTimeout)
		if err := b.exp.ExportSpans(ctx, batch); err != nil {
			otel.Handle(err)
		}
		cancel()
		clear(batch) // let the spans be collected
		b.mu.Lock()
		b.spare = batch[:0]
		b.mu.Unlock()
	}
}

// take removes up to MaxBatch of the oldest queued spans, or nothing when
// fewer than least are queued. When they are all the queue holds (the
// usual case), the queue is swapped for the spare one rather than copied.
func (b *Batcher) take(least int) []sdktrace.ReadOnlySpan {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.queue)
	if n < least {
		return nil
	}
	if n <= b.o.MaxBatch {
		batch := b.queue
		b.queue, b.spare = b.spare[:0], nil
		return batch
	}
	batch := append(make([]sdktrace.ReadOnlySpan, 0, b.o.MaxBatch), b.queue[:b.o.MaxBatch]...)
	rest := copy(b.queue, b.queue[b.o.MaxBatch:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	return batch
}
