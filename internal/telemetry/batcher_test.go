package telemetry

import (
	"context"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// countingExporter keeps every exported span and the size of each batch.
type countingExporter struct {
	*tracetest.InMemoryExporter
	mu      sync.Mutex
	batches []int
}

func newCountingExporter() *countingExporter {
	return &countingExporter{InMemoryExporter: tracetest.NewInMemoryExporter()}
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	e.batches = append(e.batches, len(spans))
	e.mu.Unlock()
	return e.InMemoryExporter.ExportSpans(ctx, spans)
}

func (e *countingExporter) batchSizes() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.batches...)
}

// spans ends n spans named name through tp.
func spans(tp *sdktrace.TracerProvider, name string, n int) {
	tr := tp.Tracer("test")
	for range n {
		_, s := tr.Start(context.Background(), name)
		s.End()
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatcherExportsAFullBatchAtOnce(t *testing.T) {
	exp := newCountingExporter()
	b := NewBatcher(exp, BatchOptions{Delay: time.Hour, MaxBatch: 10})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	defer tp.Shutdown(context.Background())
	spans(tp, "x", 25)
	eventually(t, 5*time.Second, "two full batches exported", func() bool { return len(exp.GetSpans()) == 20 })
	if got := exp.batchSizes(); len(got) != 2 || got[0] != 10 || got[1] != 10 {
		t.Fatalf("batches %v, want [10 10] before the delay", got)
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 25 {
		t.Fatalf("%d spans after ForceFlush, want 25", n)
	}
}

func TestBatcherExportsAfterTheDelay(t *testing.T) {
	exp := newCountingExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(NewBatcher(exp, BatchOptions{Delay: 20 * time.Millisecond})))
	defer tp.Shutdown(context.Background())
	spans(tp, "x", 3)
	eventually(t, 5*time.Second, "the spans are exported without a full batch", func() bool { return len(exp.GetSpans()) == 3 })
}

func TestBatcherShutdownExportsWhatIsQueued(t *testing.T) {
	exp := newCountingExporter()
	b := NewBatcher(exp, BatchOptions{Delay: time.Hour, MaxBatch: 4})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	spans(tp, "x", 3)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := exp.batchSizes(); len(got) != 1 || got[0] != 3 {
		t.Fatalf("batches %v at shutdown, want [3]", got)
	}
	// A span that ends after Shutdown is dropped.
	late := tracetest.SpanStub{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled,
	})}.Snapshot()
	b.OnEnd(late)
	if err := b.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := exp.batchSizes(); len(got) != 1 {
		t.Fatalf("batches %v: a span was exported after Shutdown", got)
	}
}

func TestBatcherDropsWhenTheQueueIsFull(t *testing.T) {
	release := make(chan struct{})
	exp := &blockingExporter{countingExporter: newCountingExporter(), release: release}
	b := NewBatcher(exp, BatchOptions{Delay: time.Hour, MaxQueue: 4, MaxBatch: 2})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	spans(tp, "x", 2) // a full batch: the export starts and blocks
	eventually(t, 5*time.Second, "the first export started", func() bool { return len(exp.batchSizes()) == 1 })
	spans(tp, "x", 6) // 4 fit in the queue, 2 are dropped
	if d := b.Dropped(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	close(release)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := exp.total(); n != 6 {
		t.Fatalf("%d spans exported, want 6", n)
	}
}

// blockingExporter holds every export until release is closed.
type blockingExporter struct {
	*countingExporter
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (e *blockingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	e.n += len(spans)
	e.mu.Unlock()
	err := e.countingExporter.ExportSpans(ctx, spans)
	<-e.release
	return err
}

func (e *blockingExporter) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

func TestBatcherSkipsUnsampledSpans(t *testing.T) {
	exp := newCountingExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()),
		sdktrace.WithSpanProcessor(NewBatcher(exp, BatchOptions{})))
	spans(tp, "x", 5)
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d unsampled spans exported", n)
	}
	_ = tp.Shutdown(context.Background())
}

func TestBatchOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		"OTEL_BSP_SCHEDULE_DELAY":        "100",
		"OTEL_BSP_EXPORT_TIMEOUT":        "nonsense",
		"OTEL_BSP_MAX_QUEUE_SIZE":        "64",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512",
	}
	o := batchOptionsFromEnv(func(k string) string { return env[k] }).withDefaults()
	want := BatchOptions{Delay: 100 * time.Millisecond, ExportTimeout: 30 * time.Second, MaxQueue: 64, MaxBatch: 64}
	if o != want {
		t.Fatalf("options %+v, want %+v", o, want)
	}
}
