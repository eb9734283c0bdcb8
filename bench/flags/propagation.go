package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchFlagSet is the FlagSet the propagation and evaluation phases use.
const benchFlagSet = `apiVersion: sluice.dev/v1
kind: FlagSet
metadata: {name: production}
spec:
  $evaluators:
    staff: {ends_with: [{var: email}, "@example.com"]}
  flags:
    new-checkout:
      state: ENABLED
      variants: {"on": true, "off": false}
      defaultVariant: "off"
      targeting:
        if:
          - {and: [{$ref: staff}, {in: [{var: country}, [DE, FR, NL, CA]]}]}
          - "on"
          - {fractional: [["on", 10], ["off", 90]]}
    banner-color:
      state: ENABLED
      variants: {red: "#c00", blue: "#00c"}
      defaultVariant: red
    max-items:
      state: ENABLED
      variants: {small: 10, large: 50}
      defaultVariant: large
    theme:
      state: ENABLED
      variants: {dark: {bg: black}, light: {bg: white}}
      defaultVariant: dark
`

// colorSpec is the bench FlagSet's spec with banner-color's default set to
// color, as JSON.
func colorSpec(ctx context.Context, srv *server, color string) (json.RawMessage, int64, error) {
	obj, err := srv.Client.Get(ctx, "flagsets", "production")
	if err != nil {
		return nil, 0, err
	}
	var doc map[string]any
	if err := json.Unmarshal(obj.Spec, &doc); err != nil {
		return nil, 0, err
	}
	doc["flags"].(map[string]any)["banner-color"].(map[string]any)["defaultVariant"] = color
	b, err := json.Marshal(doc)
	return b, obj.Metadata.ResourceVersion, err
}

// arrival is one event read by one subscriber.
type arrival struct {
	id string
	at time.Time
}

// propagation connects the subscribers, then times each change from the
// start of its PUT to each subscriber's reading of its event.
func propagation(ctx context.Context, c config, srv *server, key string) error {
	uri, err := streamURI(ctx, srv, key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	transport := &http.Transport{MaxIdleConnsPerHost: c.subscribers}
	hc := &http.Client{Transport: transport}
	arrivals := make(chan arrival, c.subscribers*2)
	var readers sync.WaitGroup
	var connected atomic.Int64
	defer func() {
		cancel()
		readers.Wait()
		transport.CloseIdleConnections()
	}()
	for range c.subscribers {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+uri, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("connect a subscriber: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("event stream answered %s", resp.Status)
		}
		readers.Go(func() {
			defer resp.Body.Close()
			sc := scanLines(resp.Body)
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "retry:") {
					connected.Add(1)
				}
				if id, ok := strings.CutPrefix(line, "id: "); ok {
					arrivals <- arrival{id, time.Now()}
				}
			}
		})
	}
	for connected.Load() < int64(c.subscribers) {
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}

	var puts, delays, allNotified []time.Duration
	colors := []string{"blue", "red"}
	for i := range c.changes {
		spec, rv, err := colorSpec(ctx, srv, colors[i%2])
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := srv.Client.PutFlagSet(ctx, "production", spec, rv, nil)
		if err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		puts = append(puts, time.Since(start))
		prefix := strconv.FormatInt(res.ResourceVersion, 10) + "-"
		timeout := time.After(10 * time.Second)
		var last time.Duration
		for got := 0; got < c.subscribers; {
			select {
			case a := <-arrivals:
				if strings.HasPrefix(a.id, prefix) {
					d := a.at.Sub(start)
					delays = append(delays, d)
					last = max(last, d)
					got++
				}
			case <-timeout:
				return fmt.Errorf("change %d: %d of %d subscribers notified within 10s", i, got, c.subscribers)
			}
		}
		allNotified = append(allNotified, last)
	}
	p50, p99, mx := percentiles(puts)
	fmt.Printf("propagation: %d changes, each a PUT of the FlagSet, to %d OFREP event streams\n", c.changes, c.subscribers)
	fmt.Printf("  PUT answered:             p50 %s  p99 %s  max %s\n", ms(p50), ms(p99), ms(mx))
	p50, p99, mx = percentiles(delays)
	fmt.Printf("  each subscriber notified: p50 %s  p99 %s  max %s  (%d events)\n", ms(p50), ms(p99), ms(mx), len(delays))
	p50, p99, mx = percentiles(allNotified)
	fmt.Printf("  all %d notified:        p50 %s  p99 %s  max %s\n\n", c.subscribers, ms(p50), ms(p99), ms(mx))
	return nil
}

// streamURI asks for a bulk evaluation and returns the event stream it
// advertises.
func streamURI(ctx context.Context, srv *server, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/ofrep/v1/evaluate/flags", strings.NewReader(`{"context":{}}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var bulk struct {
		EventStreams []struct {
			Endpoint struct {
				RequestURI string `json:"requestUri"`
			} `json:"endpoint"`
		} `json:"eventStreams"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&bulk); err != nil || len(bulk.EventStreams) == 0 {
		return "", fmt.Errorf("bulk evaluation advertised no event stream (%s): %v", resp.Status, err)
	}
	return bulk.EventStreams[0].Endpoint.RequestURI, nil
}
