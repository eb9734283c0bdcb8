package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"sluice.dev/sluice/internal/proxy"
)

// measureSwitch times route switches in this process: two backends, a
// proxy, clients sending requests all along, and n table swaps that move
// all traffic from one revision to the other. Each switch is timed from
// just before Apply to the first response received from the new revision.
func measureSwitch(ctx context.Context, n int) ([]time.Duration, error) {
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		name := fmt.Sprint(i + 1)
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Revision", name)
			_, _ = io.WriteString(w, "ok")
		})}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		addrs[i] = ln.Addr().String()
	}
	s, err := proxy.New(proxy.Options{})
	if err != nil {
		return nil, err
	}
	tableAt := func(weight int) (*proxy.Table, error) {
		return proxy.NewTable(proxy.TableSpec{
			App:       "switch",
			Listen:    "127.0.0.1:0",
			Stable:    proxy.Revision{Name: "1", Instances: []proxy.Instance{{ID: "a", Addr: addrs[0]}}},
			Candidate: &proxy.Revision{Name: "2", Instances: []proxy.Instance{{ID: "b", Addr: addrs[1]}}},
			Weight:    weight,
		})
	}
	t0, err := tableAt(0)
	if err != nil {
		return nil, err
	}
	if err := s.Apply(t0); err != nil {
		return nil, err
	}
	addr, err := s.Addr("switch")
	if err != nil {
		return nil, err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	defer func() {
		stopRun()
		<-ran
	}()

	// Clients record when they first see each revision after a switch.
	var (
		mu     sync.Mutex
		want   string
		seenAt time.Time
		seen   = make(chan struct{}, 1)
		failed atomic.Value
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer c.CloseIdleConnections()
			for loadCtx.Err() == nil {
				req, _ := http.NewRequestWithContext(loadCtx, http.MethodGet, "http://"+addr.String(), nil)
				resp, err := c.Do(req)
				if err != nil {
					if loadCtx.Err() == nil {
						failed.Store(err)
					}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				now := time.Now()
				mu.Lock()
				if want != "" && resp.Header.Get("X-Revision") == want {
					want, seenAt = "", now
					seen <- struct{}{}
				}
				mu.Unlock()
			}
		})
	}
	defer func() {
		stopLoad()
		wg.Wait()
	}()

	var out []time.Duration
	for i := range n {
		weight, name := proxy.MaxWeight, "2"
		if i%2 == 1 {
			weight, name = 0, "1"
		}
		t, err := tableAt(weight)
		if err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond) // let traffic settle on the old revision
		mu.Lock()
		want = name
		mu.Unlock()
		start := time.Now()
		if err := s.Apply(t); err != nil {
			return nil, err
		}
		select {
		case <-seen:
		case <-time.After(5 * time.Second):
			return nil, errors.New("no response from the new revision within 5s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		mu.Lock()
		out = append(out, seenAt.Sub(start))
		mu.Unlock()
		if err, ok := failed.Load().(error); ok {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}
