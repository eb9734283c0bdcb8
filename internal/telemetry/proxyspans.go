package telemetry

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// ProxyScope is the instrumentation scope of proxy spans, the name the
// proxy's tracer had when its spans went through the SDK.
const ProxyScope = "sluice.dev/sluice/internal/proxy"

// ProxySpans records the spans of proxied requests outside the SDK and
// exports them in batches through an OTLP client, with the resource and
// instrumentation scope the SDK's spans carry. Ending a span copies it
// into a bounded queue under a lock (no allocation); a goroutine turns
// full batches, or what waited for the delay, into OTLP protobuf and
// uploads them, as the Batcher does for the SDK's spans and with the same
// options. When the queue is full, spans are dropped and counted.
type ProxySpans struct {
	client  otlptrace.Client
	sampler Sampler
	o       BatchOptions
	res     *resourcepb.Resource
	resURL  string

	// The export goroutine's: the OTLP messages of the last batch, kept
	// for the next.
	protos []protoSpan
	out    []*tracepb.Span
	rs     []*tracepb.ResourceSpans

	mu      sync.Mutex
	queue   []ProxySpan // ended spans waiting, oldest first
	spare   []ProxySpan // the other queue, swapped in by take
	stopped bool
	dropped int64

	full    chan struct{}      // a batch is ready; capacity 1
	flushes chan chan struct{} // ForceFlush: export all, then close
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewProxySpans starts client and a goroutine that exports to it; Shutdown
// stops both. res is the resource the spans are exported with, sampler
// the sampling decision the proxy asks for through Sampler.
func NewProxySpans(ctx context.Context, client otlptrace.Client, res *resource.Resource, sampler Sampler, o BatchOptions) (*ProxySpans, error) {
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	p := &ProxySpans{
		client: client, sampler: sampler, o: o,
		res:     resourceProto(res),
		queue:   make([]ProxySpan, 0, o.MaxBatch),
		spare:   make([]ProxySpan, 0, o.MaxBatch),
		full:    make(chan struct{}, 1),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if res != nil {
		p.resURL = res.SchemaURL()
	}
	go p.run()
	return p, nil
}

// Sampler returns the sampler that decides which proxy spans are recorded.
func (p *ProxySpans) Sampler() Sampler { return p.sampler }

// End queues a sampled span for export; it copies s.
func (p *ProxySpans) End(s *ProxySpan) {
	p.mu.Lock()
	if p.stopped || len(p.queue) >= p.o.MaxQueue {
		if !p.stopped {
			p.dropped++
		}
		p.mu.Unlock()
		return
	}
	p.queue = append(p.queue, *s)
	ready := len(p.queue) == p.o.MaxBatch
	p.mu.Unlock()
	if ready {
		select {
		case p.full <- struct{}{}:
		default:
		}
	}
}

// Dropped returns how many spans were dropped because the queue was full.
func (p *ProxySpans) Dropped() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// ForceFlush exports every span that ended before it was called.
func (p *ProxySpans) ForceFlush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case p.flushes <- done:
	case <-p.done:
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

// Shutdown exports the queued spans, stops the goroutine and the client.
// Spans that end later are dropped.
func (p *ProxySpans) Shutdown(ctx context.Context) error {
	var err error
	p.once.Do(func() {
		p.mu.Lock()
		p.stopped = true
		p.mu.Unlock()
		close(p.stop)
		select {
		case <-p.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		err = errors.Join(err, p.client.Stop(ctx))
	})
	return err
}

// run exports a batch when one is full or the delay since the last export
// is up, everything on a flush, and what is left at shutdown.
func (p *ProxySpans) run() {
	defer close(p.done)
	t := time.NewTimer(p.o.Delay)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			p.export(0)
			return
		case <-p.full:
			p.export(p.o.MaxBatch)
		case <-t.C:
			p.export(0)
		case done := <-p.flushes:
			p.export(0)
			close(done)
		}
		t.Reset(p.o.Delay)
	}
}

// export uploads queued spans in batches of at most MaxBatch, while at
// least least of them (at least one, for 0) are queued.
func (p *ProxySpans) export(least int) {
	least = max(least, 1)
	for {
		batch := p.take(least)
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.o.ExportTimeout)
		if err := p.client.UploadTraces(ctx, p.resourceSpans(batch)); err != nil {
			otel.Handle(err)
		}
		cancel()
		for i := range batch {
			p.protos[i].clear()
		}
		clear(batch) // let the strings be collected
		p.mu.Lock()
		p.spare = batch[:0]
		p.mu.Unlock()
	}
}

// resourceSpans converts a batch to OTLP, one resource and one scope, in
// messages reused from the last batch.
func (p *ProxySpans) resourceSpans(batch []ProxySpan) []*tracepb.ResourceSpans {
	if len(p.protos) < len(batch) {
		p.protos = make([]protoSpan, p.o.MaxBatch)
		p.out = make([]*tracepb.Span, p.o.MaxBatch)
	}
	for i := range batch {
		p.out[i] = p.protos[i].fill(&batch[i])
	}
	if p.rs == nil {
		p.rs = []*tracepb.ResourceSpans{{
			Resource:   p.res,
			SchemaUrl:  p.resURL,
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: ProxyScope}}},
		}}
	}
	p.rs[0].ScopeSpans[0].Spans = p.out[:len(batch)]
	return p.rs
}

// take removes up to MaxBatch of the oldest queued spans, or nothing when
// fewer than least are queued. When they are all the queue holds (the
// usual case), the queue is swapped for the spare one rather than copied.
func (p *ProxySpans) take(least int) []ProxySpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.queue)
	if n < least {
		return nil
	}
	if n <= p.o.MaxBatch {
		batch := p.queue
		p.queue, p.spare = p.spare[:0], nil
		return batch
	}
	batch := append(make([]ProxySpan, 0, p.o.MaxBatch), p.queue[:p.o.MaxBatch]...)
	rest := copy(p.queue, p.queue[p.o.MaxBatch:])
	clear(p.queue[rest:])
	p.queue = p.queue[:rest]
	return batch
}
