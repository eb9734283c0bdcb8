package telemetry

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestSpanQueueBatchesInOrder holds the first export, queues more than a
// batch behind it, and checks what add reports, the batches the rest is
// split into, and that every exported batch was cleared.
func TestSpanQueueBatchesInOrder(t *testing.T) {
	gate := make(chan struct{})
	var (
		mu      sync.Mutex
		batches [][]int
		kept    [][]*int // the batches themselves, to see them cleared
	)
	q := newSpanQueue(BatchOptions{MaxQueue: 5, MaxBatch: 2, Delay: time.Hour},
		func(_ context.Context, batch []*int) error {
			if len(batches) == 0 {
				<-gate
			}
			mu.Lock()
			defer mu.Unlock()
			var b []int
			for _, p := range batch {
				b = append(b, *p)
			}
			batches = append(batches, b)
			kept = append(kept, batch)
			return nil
		})
	add := func(i int) bool { p := &i; return q.add(&p) }
	for i := range 2 { // a full batch: the goroutine takes it and waits on the gate
		if !add(i) {
			t.Fatalf("span %d not queued", i)
		}
	}
	eventually(t, 10*time.Second, "the first batch was taken", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.queue) == 0
	})
	for i := 2; i < 8; i++ {
		if got, want := add(i), i < 7; got != want {
			t.Fatalf("add(%d) = %v, want %v", i, got, want)
		}
	}
	if n := q.dropped(); n != 1 {
		t.Fatalf("dropped %d, want 1", n)
	}
	close(gate)
	if err := q.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := [][]int{{0, 1}, {2, 3}, {4, 5}, {6}}
	if !slices.EqualFunc(batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	for i := range kept {
		for _, p := range kept[i] {
			if p != nil {
				t.Fatalf("batch %d not cleared after its export", i)
			}
		}
	}
}

// TestSpanQueueGivesUpWithTheContext blocks an export and checks that
// flush and shutdown return when their context ends, that shutdown still
// stops what it was given, once, and that nothing is queued after it.
func TestSpanQueueGivesUpWithTheContext(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	q := newSpanQueue(BatchOptions{MaxBatch: 1, Delay: time.Hour},
		func(context.Context, []int) error { <-gate; return nil })
	one := 1
	q.add(&one) // a full batch: the export starts and blocks
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush: %v, want the deadline", err)
	}
	stops := 0
	stop := func(context.Context) error { stops++; return nil }
	if err := q.shutdown(ctx, stop); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v, want the deadline", err)
	}
	if err := q.shutdown(context.Background(), stop); err != nil || stops != 1 {
		t.Fatalf("second shutdown: %v, %d stops, want nil and 1", err, stops)
	}
	if q.add(&one) || q.dropped() != 0 {
		t.Fatalf("a span was queued or counted as dropped after shutdown")
	}
}
