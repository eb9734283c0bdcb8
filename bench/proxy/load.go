package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// result is what one load phase measured.
type result struct {
	requests int
	rps      float64
	p50, p99 time.Duration
	// cpuPerRequest is the CPU time (user and system) the process between
	// client and backend spent per request, 0 when there is none.
	cpuPerRequest time.Duration
}

// request is the one request the load generator sends, over keep-alive.
var request = []byte("GET /hello HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: proxybench\r\n\r\n")

// runLoad sends requests to addr over conns keep-alive connections for d.
// With rate 0 each connection sends its next request as soon as the last
// response arrived (closed loop, saturation). With a rate, requests are
// scheduled at fixed intervals spread over the connections, and latency is
// measured from the scheduled time, so that a stall is not hidden by
// sending less (no coordinated omission).
func runLoad(ctx context.Context, addr string, conns, rate int, d time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	for i := range conns {
		wg.Go(func() {
			var interval time.Duration
			var offset time.Duration
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(conns) / float64(rate))
				offset = interval * time.Duration(i) / time.Duration(conns)
			}
			lat, err := connLoop(ctx, addr, start.Add(offset), interval)
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, lat...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	slices.Sort(latencies)
	return result{
		requests: len(latencies),
		rps:      float64(len(latencies)) / elapsed.Seconds(),
		p50:      percentile(latencies, 0.50),
		p99:      percentile(latencies, 0.99),
	}, nil
}

// connLoop runs one connection until ctx ends and returns its latencies.
func connLoop(ctx context.Context, addr string, first time.Time, interval time.Duration) ([]time.Duration, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReaderSize(conn, 16<<10)
	lat := make([]time.Duration, 0, 1<<14)
	next := first
	for ctx.Err() == nil {
		sent := time.Now()
		if interval > 0 {
			if wait := time.Until(next); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return lat, nil
				case <-t.C:
				}
			}
			sent = next
			next = next.Add(interval)
		}
		if _, err := conn.Write(request); err != nil {
			return lat, ignoreEnd(ctx, err)
		}
		if err := readResponse(br); err != nil {
			return lat, ignoreEnd(ctx, err)
		}
		lat = append(lat, time.Since(sent))
	}
	return lat, nil
}

// ignoreEnd hides the error of a connection cut by the phase's end.
func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// readResponse reads one response with a Content-Length and checks it is a
// 200.
func readResponse(br *bufio.Reader) error {
	status, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(status) < 12 || !bytes.Equal(status[9:12], []byte("200")) {
		return fmt.Errorf("unexpected status line %q", status)
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = br.Discard(length)
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// percentile returns the q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}
