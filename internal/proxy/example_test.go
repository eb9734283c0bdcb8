package proxy_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/internal/proxy"
)

// A controller feeds the proxy one table per app, moves weight to the
// candidate step by step, reads the measurements for analysis, and drains
// instances before it stops them.
func Example() {
	srv, err := proxy.New(proxy.Options{
		Registerer: prometheus.NewRegistry(),
		OnEject: func(e proxy.Ejection) {
			log.Printf("instance %s of %s ejected until %s: %s", e.Instance, e.App, e.Until, e.Reason)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Run(ctx) }()
	defer func() {
		cancel() // Run shuts the listeners down gracefully and returns
		<-stopped
	}()

	stable := proxy.Revision{Name: "1", Instances: []proxy.Instance{{ID: "hello-1-a", Addr: "127.0.0.1:9001"}}}
	candidate := proxy.Revision{Name: "2", Instances: []proxy.Instance{{ID: "hello-2-a", Addr: "127.0.0.1:9002"}}}
	for _, weight := range []int{100, 500, 2500} { // 1 %, 5 %, 25 %
		t, err := proxy.NewTable(proxy.TableSpec{
			App:        "hello",
			Listen:     "127.0.0.1:0",
			Stable:     stable,
			Candidate:  &candidate,
			Weight:     weight,
			Stickiness: proxy.Stickiness{Header: "X-User-ID"},
			Overrides:  []proxy.Override{{Header: "X-Canary", Value: "always", Target: proxy.TargetCandidate}},
		})
		if err != nil {
			log.Fatal(err)
		}
		if err := srv.Apply(t); err != nil {
			log.Fatal(err)
		}
		s, err := srv.Stats("hello", "2", 30*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("weight %d: %d requests, success rate %.3f, p99 %.3fs\n", weight, s.Requests, s.SuccessRate, s.P99)
	}

	// Promote: the candidate becomes the stable revision; the old one's
	// instance leaves the table, drains, and can then be stopped.
	t, err := proxy.NewTable(proxy.TableSpec{App: "hello", Listen: "127.0.0.1:0", Stable: candidate})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Apply(t); err != nil {
		log.Fatal(err)
	}
	if err := srv.Drain(ctx, "hello", "hello-1-a"); err != nil {
		log.Printf("drain: %v", err)
	}
	// Output:
	// weight 100: 0 requests, success rate 0.000, p99 0.000s
	// weight 500: 0 requests, success rate 0.000, p99 0.000s
	// weight 2500: 0 requests, success rate 0.000, p99 0.000s
}
