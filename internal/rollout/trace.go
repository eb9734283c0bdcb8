package rollout

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer returns the controller's tracer, or nil when tracing is off.
func (c *Controller) tracer() trace.Tracer {
	if c.opts.TracerProvider == nil {
		return nil
	}
	return c.opts.TracerProvider.Tracer("sluice.dev/sluice/internal/rollout")
}

// traceStep starts a span for a reconcile pass that moved a rollout (one
// that recorded events), from when planning began; passes that change
// nothing make no span. The caller ends the span.
func (c *Controller) traceStep(ctx context.Context, app string, began time.Time, d Decision) (context.Context, trace.Span) {
	t := c.tracer()
	if t == nil || len(d.Events) == 0 {
		return ctx, nil
	}
	reasons := make([]string, len(d.Events))
	warning := false
	for i, e := range d.Events {
		reasons[i] = e.Reason
		warning = warning || e.Warning
	}
	ctx, span := t.Start(ctx, "rollout "+app, trace.WithTimestamp(began), trace.WithAttributes(
		attribute.String("sluice.app", app),
		attribute.String("sluice.phase", d.Status.Phase),
		attribute.Int("sluice.weight_basis_points", d.Status.Weight),
		attribute.Int("sluice.step", d.Status.Step),
		attribute.Int("sluice.stable_revision", d.Status.StableRevision),
		attribute.Int("sluice.candidate_revision", d.Status.CandidateRevision),
		attribute.String("sluice.events", strings.Join(reasons, ",")),
	))
	if warning {
		span.SetStatus(codes.Error, strings.Join(reasons, ","))
	}
	return ctx, span
}

// traceMeasure starts a span for one round of analysis measurements.
func (c *Controller) traceMeasure(ctx context.Context, app, run string, due int) (context.Context, trace.Span) {
	t := c.tracer()
	if t == nil {
		return ctx, nil
	}
	return t.Start(ctx, "analysis "+app, trace.WithAttributes(
		attribute.String("sluice.app", app),
		attribute.String("sluice.analysis_run", run),
		attribute.Int("sluice.metrics_due", due),
	))
}
