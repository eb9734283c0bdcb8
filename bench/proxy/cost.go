package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// costBase is the variant the others are compared with; the variants of a
// -baseline build are compared with baselineBase.
const (
	costBase     = "sluice (metrics off)"
	baselineBase = "baseline (metrics off)"
)

// baseOf returns the variant that name is compared with.
func baseOf(name string) string {
	if strings.HasPrefix(name, "baseline") {
		return baselineBase
	}
	return costBase
}

// costSample is one short saturation slice of one sluice variant.
type costSample struct {
	rps float64
	cpu time.Duration // proxy CPU per request
}

// measureCost measures what metrics, traces and the access log cost on a
// machine that is shared and noisy. Each round runs one short saturation
// slice of every sluice variant, back to back, in an order that rotates
// from round to round; each variant's slice is then compared with the
// "metrics off" slice of its build in the same round, which ran seconds
// apart and so met about the same load from elsewhere. Medians over the
// rounds are reported with their quartiles.
func measureCost(ctx context.Context, c config, targets []target) error {
	var variants []target // the sluice variants, then nginx
	var nginx *target
	for _, t := range targets {
		switch {
		case t.name == "nginx":
			nginx = &t
		case t.pid != 0:
			variants = append(variants, t)
		}
	}
	if len(variants) < 2 || c.costRounds == 0 {
		return nil
	}
	measured := variants
	if nginx != nil {
		measured = append(slices.Clone(variants), *nginx)
	}
	samples := map[string][]costSample{}
	for round := range c.costRounds {
		for i := range measured {
			t := measured[(i+round)%len(measured)]
			before := cpuTime(t.pid)
			r, err := runLoad(ctx, t.addr, c.conns, 0, c.costSlice)
			if err != nil {
				return fmt.Errorf("cost round %d, %s: %w", round+1, t.name, err)
			}
			if r.requests == 0 {
				return fmt.Errorf("cost round %d, %s: no request answered", round+1, t.name)
			}
			samples[t.name] = append(samples[t.name], costSample{rps: r.rps, cpu: (cpuTime(t.pid) - before) / time.Duration(r.requests)})
		}
	}
	fmt.Printf("\nobservability cost: %d rounds of %v saturation slices over %d connections, variants alternated (order rotated each round), each compared with the metrics-off slice of its build in the same round; median [quartiles]\n\n",
		c.costRounds, c.costSlice, c.conns)
	fmt.Println("| variant | req/s | req/s vs metrics off | proxy CPU per request | CPU per request vs metrics off |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	for _, t := range variants {
		s, base := samples[t.name], samples[baseOf(t.name)]
		var rps, ratio, cpu, delta []float64
		for i, x := range s {
			rps = append(rps, x.rps)
			cpu = append(cpu, us(x.cpu))
			ratio = append(ratio, x.rps/base[i].rps)
			delta = append(delta, us(x.cpu)-us(base[i].cpu))
		}
		fmt.Printf("| %s | %.0f | %s | %.1f µs | %s |\n", t.name, median(rps), quartiles(ratio, "%.3f"), median(cpu), quartiles(delta, "%+.1f µs"))
	}
	if nginx == nil {
		return nil
	}
	fmt.Printf("\nagainst nginx in the same rounds (each slice compared with nginx's slice of its round); median [quartiles]\n\n")
	fmt.Println("| variant | req/s vs nginx | proxy CPU per request vs nginx |")
	fmt.Println("| --- | --- | --- |")
	base := samples[nginx.name]
	var cpu []float64
	for _, x := range base {
		cpu = append(cpu, us(x.cpu))
	}
	fmt.Printf("| nginx | 1 | %.1f µs |\n", median(cpu))
	for _, t := range variants {
		var ratio, cpuRatio []float64
		for i, x := range samples[t.name] {
			ratio = append(ratio, x.rps/base[i].rps)
			cpuRatio = append(cpuRatio, float64(x.cpu)/float64(base[i].cpu))
		}
		fmt.Printf("| %s | %s | %s |\n", t.name, quartiles(ratio, "%.3f"), quartiles(cpuRatio, "%.2f×"))
	}
	return nil
}

// us converts d to microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// median returns the median of v (which it sorts).
func median(v []float64) float64 {
	slices.Sort(v)
	return quantile(v, 0.5)
}

// quartiles formats the median of v and its first and third quartiles.
func quartiles(v []float64, format string) string {
	slices.Sort(v)
	return fmt.Sprintf(format+" ["+format+", "+format+"]", quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75))
}

// quantile returns the q-quantile of sorted v, interpolated.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[i]
	}
	return v[i] + (pos-float64(i))*(v[i+1]-v[i])
}
