package telemetry

import (
	"context"

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

	q *spanQueue[ProxySpan]
}

// NewProxySpans starts client and a goroutine that exports to it; Shutdown
// stops both. res is the resource the spans are exported with, sampler
// the sampling decision the proxy asks for through Sampler.
func NewProxySpans(ctx context.Context, client otlptrace.Client, res *resource.Resource, sampler Sampler, o BatchOptions) (*ProxySpans, error) {
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	p := &ProxySpans{client: client, sampler: sampler, o: o, res: resourceProto(res)}
	if res != nil {
		p.resURL = res.SchemaURL()
	}
	p.q = newSpanQueue(o, p.upload)
	return p, nil
}

// Sampler returns the sampler that decides which proxy spans are recorded.
func (p *ProxySpans) Sampler() Sampler { return p.sampler }

// End queues a sampled span for export; it copies s.
func (p *ProxySpans) End(s *ProxySpan) { p.q.add(s) }

// Dropped returns how many spans were dropped because the queue was full.
func (p *ProxySpans) Dropped() int64 { return p.q.dropped() }

// ForceFlush exports every span that ended before it was called.
func (p *ProxySpans) ForceFlush(ctx context.Context) error { return p.q.flush(ctx) }

// Shutdown exports the queued spans, stops the goroutine and the client.
// Spans that end later are dropped.
func (p *ProxySpans) Shutdown(ctx context.Context) error {
	return p.q.shutdown(ctx, p.client.Stop)
}

// upload sends a batch to the client as OTLP, from the queue's goroutine.
func (p *ProxySpans) upload(ctx context.Context, batch []ProxySpan) error {
	err := p.client.UploadTraces(ctx, p.resourceSpans(batch))
	for i := range batch {
		p.protos[i].clear() // let the strings be collected
	}
	return err
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
