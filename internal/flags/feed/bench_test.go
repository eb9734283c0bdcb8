package feed_test

import (
	"context"
	"fmt"
	"testing"

	"sluice.dev/sluice/internal/flags/feed"
)

// BenchmarkCurrent measures the evaluation hot path's read of the live set,
// from all procs at once.
func BenchmarkCurrent(b *testing.B) {
	f := feed.New()
	for i := range 20 {
		f.Publish(fmt.Sprintf("env-%d", i), newSet(b, true), "1")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := f.Current("env-7"); !ok {
				b.Fatal("env-7 missing")
			}
		}
	})
}

// BenchmarkPublish measures one Publish that fans out to many subscribers
// who do not read (the worst case: every offer replaces a pending change).
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			f := feed.New()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for range n {
				f.Subscribe(ctx, "production")
			}
			set := newSet(b, true)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.Publish("production", set, fmt.Sprint(i))
				i++
			}
		})
	}
}
