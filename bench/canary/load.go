package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// sample is one request of the load.
type sample struct {
	start, end time.Time
	status     int
	version    string
	err        error
}

// load sends requests at a fixed rate from keep-alive clients without a
// cookie jar, so each request draws its own sticky bucket.
type load struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []sample
}

// workers is how many clients share the rate.
const workers = 10

// startLoad sends rate requests a second to http://addr/ until stopped (at
// most two minutes).
func startLoad(ctx context.Context, addr string, rate int) *load {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	l := &load{cancel: cancel}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 5 * time.Second}
	every := time.Duration(workers) * time.Second / time.Duration(max(rate, 1))
	for range workers {
		l.wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				s := get(ctx, c, "http://"+addr+"/")
				if ctx.Err() != nil {
					return
				}
				l.mu.Lock()
				l.samples = append(l.samples, s)
				l.mu.Unlock()
			}
		})
	}
	return l
}

func get(ctx context.Context, c *http.Client, url string) sample {
	s := sample{start: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		s.err, s.end = err, time.Now()
		return s
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.end, s.status, s.err = time.Now(), resp.StatusCode, err
	var r struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &r) == nil {
		s.version = r.Version
	}
	return s
}

// stop ends the load and returns its samples by start time.
func (l *load) stop() []sample {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.samples)
	slices.SortFunc(out, func(a, b sample) int { return a.start.Compare(b.start) })
	return out
}
