package main

import (
	"context"
	"fmt"
)

// measureAddedLatency measures what each proxy adds to the backend's
// latency at the moderate rate on a machine whose own noise moves the
// backend's p99 by milliseconds from one minute to the next: each of
// -latency-rounds rounds runs one moderate slice of every target, direct
// included, back to back in an order that rotates from round to round, and
// compares each proxy's p50 and p99 with the direct slice of the same
// round. Medians over the rounds are reported with their quartiles.
func measureAddedLatency(ctx context.Context, c config, targets []target) error {
	if c.latencyRounds == 0 || len(targets) < 2 {
		return nil
	}
	type sample struct{ p50, p99 float64 } // µs
	samples := map[string][]sample{}
	for round := range c.latencyRounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			r, err := runLoad(ctx, t.addr, c.moderateConn, c.moderateRate, c.latencySlice)
			if err != nil {
				return fmt.Errorf("latency round %d, %s: %w", round+1, t.name, err)
			}
			samples[t.name] = append(samples[t.name], sample{us(r.p50), us(r.p99)})
		}
	}
	direct := samples[targets[0].name]
	fmt.Printf("\nadded latency at %d req/s over %d connections: %d rounds of %v slices, targets alternated (order rotated each round), each proxy's slice compared with the direct slice of its round; median [quartiles]\n\n",
		c.moderateRate, c.moderateConn, c.latencyRounds, c.latencySlice)
	fmt.Println("| target | p50 | added p50 | p99 | added p99 |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	for _, t := range targets {
		var p50, p99, add50, add99 []float64
		for i, s := range samples[t.name] {
			p50, p99 = append(p50, s.p50), append(p99, s.p99)
			add50 = append(add50, s.p50-direct[i].p50)
			add99 = append(add99, s.p99-direct[i].p99)
		}
		if t.name == targets[0].name {
			fmt.Printf("| %s | %.0f µs | – | %.0f µs | – |\n", t.name, median(p50), median(p99))
			continue
		}
		fmt.Printf("| %s | %.0f µs | %s | %.0f µs | %s |\n", t.name, median(p50), quartiles(add50, "%+.0f µs"), median(p99), quartiles(add99, "%+.0f µs"))
	}
	return nil
}
