package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// evalBody is a typical server-side evaluation context.
const evalBody = `{"context":{"targetingKey":"user-42","email":"ada@example.com","plan":"pro","country":"CA","age":37}}`

// runtimeProcs is this process's GOMAXPROCS.
func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// evaluation measures single and bulk OFREP evaluations at c.conns
// concurrent keep-alive clients, after a one-second warm-up each.
func evaluation(ctx context.Context, c config, srv *server, key string) error {
	fmt.Printf("evaluation: %d concurrent clients, keep-alive, %s per run\n", c.conns, c.duration)
	for _, run := range []struct{ name, path string }{
		{"single (new-checkout, a targeting rule)", "/ofrep/v1/evaluate/flags/new-checkout"},
		{"bulk (all 4 flags)", "/ofrep/v1/evaluate/flags"},
	} {
		if _, _, err := load(ctx, c.conns, time.Second, srv.URL+run.path, key); err != nil {
			return err
		}
		n, lat, err := load(ctx, c.conns, c.duration, srv.URL+run.path, key)
		if err != nil {
			return err
		}
		p50, p99, mx := percentiles(lat)
		fmt.Printf("  %-40s %8.0f req/s  p50 %s  p99 %s  max %s\n", run.name, float64(n)/c.duration.Seconds(), ms(p50), ms(p99), ms(mx))
	}
	fmt.Println()
	return nil
}

// load posts evalBody to url from conns clients for d and returns the
// number of answers and their latencies.
func load(ctx context.Context, conns int, d time.Duration, url, key string) (int, []time.Duration, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: conns}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var failed atomic.Value
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				err := post(ctx, hc, url, key)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					failed.Store(err)
					cancel()
					return
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return 0, nil, err
	}
	all := slices.Concat(lat...)
	return len(all), all, nil
}

// post sends one evaluation and drains the answer.
func post(ctx context.Context, hc *http.Client, url, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(evalBody))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

// largeDoc is a FlagSet of n flags in JSON (static, targeted, fractional
// and sem_ver flags in turn); the first flag's default is first.
func largeDoc(n int, first string) []byte {
	var b strings.Builder
	b.WriteString(`{"apiVersion":"sluice.dev/v1","kind":"FlagSet","metadata":{"name":"large"},"spec":{` +
		`"$evaluators":{"staff":{"ends_with":[{"var":"email"},"@example.com"]},"beta":{"in":[{"var":"country"},["DE","FR","NL"]]}},"flags":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		def := "off"
		if i == 0 {
			def = first
		}
		fmt.Fprintf(&b, `"flag-%05d":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":%q,"metadata":{"owner":"team-%d"}`, i, def, i%17)
		switch i % 4 {
		case 1:
			b.WriteString(`,"targeting":{"if":[{"and":[{"$ref":"staff"},{"$ref":"beta"}]},"on",null]}`)
		case 2:
			fmt.Fprintf(&b, `,"targeting":{"fractional":[["on",%d],["off",%d]]}`, i%100, 100-i%100)
		case 3:
			b.WriteString(`,"targeting":{"if":[{"sem_ver":[{"var":"appVersion"},"^","2.0.0"]},"on","off"]}`)
		}
		b.WriteString("}")
	}
	b.WriteString("}}}")
	return []byte(b.String())
}

// largeSet applies a FlagSet of c.flags flags c.rounds times, alternating
// its content, and times the API's answer and the moment OFREP serves it
// (its event stream announces the new version).
func largeSet(ctx context.Context, c config, srv *server) error {
	docs := [][]byte{largeDoc(c.flags, "on"), largeDoc(c.flags, "off")}
	if _, err := srv.Client.Apply(ctx, docs[1]); err != nil {
		return err
	}
	key, err := srv.cli(ctx, "tokens", "create", "--name", "bench-large", "--role", "sdk", "--env", "large")
	if err != nil {
		return err
	}
	uri, err := streamURI(ctx, srv, key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+uri, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	ids := make(chan arrival, 16)
	go func() {
		defer resp.Body.Close()
		sc := scanLines(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids <- arrival{id, time.Now()}
			}
		}
	}()
	var answered, served []time.Duration
	for i := range c.rounds {
		start := time.Now()
		res, err := srv.Client.Apply(ctx, docs[i%2])
		if err != nil {
			return err
		}
		answered = append(answered, time.Since(start))
		prefix := strconv.FormatInt(res.Resources[0].ResourceVersion, 10) + "-"
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case a := <-ids:
				if strings.HasPrefix(a.id, prefix) {
					served = append(served, a.at.Sub(start))
					break wait
				}
			case <-timeout:
				return fmt.Errorf("round %d: the new set was not served within 30s", i)
			}
		}
	}
	p50, _, mx := percentiles(answered)
	fmt.Printf("large FlagSet: %d flags, %.1f MB of JSON, applied %d times\n", c.flags, float64(len(docs[0]))/1e6, c.rounds)
	fmt.Printf("  apply answered:     median %s  max %s\n", ms(p50), ms(mx))
	p50, _, mx = percentiles(served)
	fmt.Printf("  served over OFREP:  median %s  max %s\n", ms(p50), ms(mx))
	return nil
}
