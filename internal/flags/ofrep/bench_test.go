package ofrep_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags/ofrep"
)

// benchBody is a typical server-side evaluation context.
const benchBody = `{"context":{"targetingKey":"user-42","email":"ada@example.com","plan":"pro","country":"CA","age":37}}`

// BenchmarkEvaluateInProcess measures the handler alone: request decoding,
// evaluation and encoding, without a network.
func BenchmarkEvaluateInProcess(b *testing.B) {
	for _, path := range []string{flagPath("beta-users"), ofrep.FlagsPath} {
		b.Run(benchName(path), func(b *testing.B) {
			f := newFixture(b)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(benchBody))
				req.Header.Set("Authorization", "Bearer "+prodKey)
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkEvaluateLoopback measures evaluations over real HTTP on
// 127.0.0.1 from 50 concurrent clients, and reports the latency
// percentiles each request saw.
func BenchmarkEvaluateLoopback(b *testing.B) {
	const clients = 50
	for _, path := range []string{flagPath("beta-users"), ofrep.FlagsPath} {
		b.Run(benchName(path), func(b *testing.B) {
			f := newFixture(b)
			transport := &http.Transport{MaxIdleConnsPerHost: clients}
			defer transport.CloseIdleConnections()
			client := &http.Client{Transport: transport}
			url := f.srv.URL + path

			var next atomic.Int64
			latencies := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						start := time.Now()
						if err := postOnce(client, url); err != nil {
							b.Error(err)
							return
						}
						latencies[w] = append(latencies[w], time.Since(start))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			reportPercentiles(b, slices.Concat(latencies...))
		})
	}
}

// postOnce sends one evaluation and drains the answer.
func postOnce(c *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(benchBody))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+prodKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// BenchmarkPropagation measures the time from Publish until each of 1,000
// event-stream clients, each on its own HTTP connection, has read the
// refetchEvaluation event. It reports the p50 and p99 of every client's
// delay and the slowest "all notified" time over the iterations.
func BenchmarkPropagation(b *testing.B) {
	const subscribers = 1000
	f := newFixture(b, ofrep.WithKeepAlive(time.Minute))
	uri := f.advertisedStream(b, prodKey)
	transport := &http.Transport{MaxIdleConnsPerHost: subscribers, MaxConnsPerHost: 0}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	ctx, cancel := context.WithCancel(b.Context())
	type arrival struct {
		version string
		at      time.Time
	}
	arrivals := make(chan arrival, subscribers)
	var readers sync.WaitGroup
	defer func() {
		cancel()
		readers.Wait()
	}()
	for range subscribers {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+uri, nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatalf("connect subscriber: %v", err)
		}
		readers.Go(func() {
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
					arrivals <- arrival{id, time.Now()}
				}
			}
		})
	}
	waitFor(b, "every subscriber to connect", func() bool { return f.feed.Subscribers() == subscribers })

	var delays, allNotified []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		version := fmt.Sprintf("v%d", i)
		start := time.Now()
		f.feed.Publish("production", f.set, version)
		for got := 0; got < subscribers; {
			a := <-arrivals
			if a.version == version {
				delays = append(delays, a.at.Sub(start))
				got++
			}
		}
		allNotified = append(allNotified, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, delays)
	b.ReportMetric(float64(slices.Max(allNotified).Microseconds())/1000, "all-notified-max-ms")
}

// reportPercentiles reports the p50 and p99 of latencies in milliseconds.
func reportPercentiles(b *testing.B, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// benchName names a sub-benchmark after the operation at path.
func benchName(path string) string {
	if path == ofrep.FlagsPath {
		return "bulk"
	}
	return "single"
}
