package telemetry

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

// spanQueue is the bounded queue of ended spans behind Batcher and
// ProxySpans, and the goroutine that exports them in batches. Adding a
// span appends it under a mutex and wakes the goroutine only when a batch
// is full; the goroutine also exports when the delay is up, on a flush
// and at shutdown. When the queue is full, spans are dropped and counted.
type spanQueue[T any] struct {
	o      BatchOptions // with defaults
	export func(ctx context.Context, batch []T) error

	mu      sync.Mutex
	queue   []T // ended spans waiting, oldest first
	spare   []T // the other queue, swapped in by take
	stopped bool
	drops   int64

	full    chan struct{}      // a batch is ready; capacity 1
	flushes chan chan struct{} // flush: export all, then close
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// newSpanQueue returns a queue that hands batches to export and starts
// its goroutine, which shutdown stops. export is called from that
// goroutine only, one batch at a time, and must not keep the batch: it is
// cleared and reused once export returns.
func newSpanQueue[T any](o BatchOptions, export func(ctx context.Context, batch []T) error) *spanQueue[T] {
	o = o.withDefaults()
	q := &spanQueue[T]{
		o: o, export: export,
		queue:   make([]T, 0, o.MaxBatch),
		spare:   make([]T, 0, o.MaxBatch),
		full:    make(chan struct{}, 1),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go q.run()
	return q
}

// add queues a copy of *s and reports whether it was queued: it is not
// when the queue is full, which counts as a drop, or after shutdown,
// which does not.
func (q *spanQueue[T]) add(s *T) bool {
	q.mu.Lock()
	if q.stopped || len(q.queue) >= q.o.MaxQueue {
		if !q.stopped {
			q.drops++
		}
		q.mu.Unlock()
		return false
	}
	q.queue = append(q.queue, *s)
	ready := len(q.queue) == q.o.MaxBatch
	q.mu.Unlock()
	if ready {
		select {
		case q.full <- struct{}{}:
		default:
		}
	}
	return true
}

// dropped returns how many spans were dropped because the queue was full.
func (q *spanQueue[T]) dropped() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.drops
}

// flush exports every span added before it was called.
func (q *spanQueue[T]) flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case q.flushes <- done:
	case <-q.done:
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

// shutdown exports the queued spans, stops the goroutine and then calls
// stop, the first time it is called; later calls do nothing. Spans added
// later are dropped.
func (q *spanQueue[T]) shutdown(ctx context.Context, stop func(context.Context) error) error {
	var err error
	q.once.Do(func() {
		q.mu.Lock()
		q.stopped = true
		q.mu.Unlock()
		close(q.stop)
		select {
		case <-q.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		err = errors.Join(err, stop(ctx))
	})
	return err
}

// run exports a batch when one is full or the delay since the last export
// is up, everything on a flush, and what is left at shutdown.
func (q *spanQueue[T]) run() {
	defer close(q.done)
	t := time.NewTimer(q.o.Delay)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			q.exportQueued(0)
			return
		case <-q.full:
			q.exportQueued(q.o.MaxBatch)
		case <-t.C:
			q.exportQueued(0)
		case done := <-q.flushes:
			q.exportQueued(0)
			close(done)
		}
		t.Reset(q.o.Delay)
	}
}

// exportQueued exports queued spans in batches of at most MaxBatch, while
// at least least of them (at least one, for 0) are queued.
func (q *spanQueue[T]) exportQueued(least int) {
	least = max(least, 1)
	for {
		batch := q.take(least)
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), q.o.ExportTimeout)
		if err := q.export(ctx, batch); err != nil {
			otel.Handle(err)
		}
		cancel()
		clear(batch) // let the spans be collected
		q.mu.Lock()
		q.spare = batch[:0]
		q.mu.Unlock()
	}
}

// take removes up to MaxBatch of the oldest queued spans, or nothing when
// fewer than least are queued. When they are all the queue holds (the
// usual case), the queue is swapped for the spare one rather than copied.
func (q *spanQueue[T]) take(least int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.queue)
	if n < least {
		return nil
	}
	if n <= q.o.MaxBatch {
		batch := q.queue
		q.queue, q.spare = q.spare[:0], nil
		return batch
	}
	batch := append(make([]T, 0, q.o.MaxBatch), q.queue[:q.o.MaxBatch]...)
	rest := copy(q.queue, q.queue[q.o.MaxBatch:])
	clear(q.queue[rest:])
	q.queue = q.queue[:rest]
	return batch
}
