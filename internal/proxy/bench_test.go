package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/internal/telemetry"
	"sluice.dev/sluice/internal/telemetry/otlptest"
)

func BenchmarkBucket(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Bucket("shop", "user-12345")
	}
}

// BenchmarkChooseRevision measures reading a request's override and sticky
// key and choosing its revision.
func BenchmarkChooseRevision(b *testing.B) {
	c := &Revision{Name: "2"}
	for _, tc := range []struct {
		name string
		st   Stickiness
		hdr  string
	}{
		{"header", Stickiness{Header: "X-User-ID"}, "X-User-ID"},
		{"own-cookie", Stickiness{}, ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tb := mustTable(b, TableSpec{App: "shop", Stable: Revision{Name: "1"}, Candidate: c, Weight: 500, Stickiness: tc.st,
				Overrides: []Override{{Header: "X-Canary", Value: "always", Target: TargetCandidate}}})
			r, _ := http.NewRequest(http.MethodGet, "http://shop/", nil)
			if tc.hdr != "" {
				r.Header.Set(tc.hdr, "user-12345")
			} else {
				r.Header.Set("Cookie", "sluice_shop=0123456789abcdef")
			}
			b.ReportAllocs()
			for b.Loop() {
				in := tb.inspect(r)
				_ = chooseRevision(tb.spec.Weight, true, in.override, in.bucket)
			}
		})
	}
}

func BenchmarkPickInstance(b *testing.B) {
	insts := make([]*instance, 8)
	for i := range insts {
		insts[i] = newInstance(Instance{ID: strconv.Itoa(i)}, "1")
	}
	for _, p := range []Policy{RoundRobin, LeastRequests} {
		b.Run(p.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := uint64(0); b.Loop(); i++ {
				_ = pickInstance(p, insts, i, 0, 0)
			}
		})
	}
}

// BenchmarkRecord measures what the request path spends on accounting:
// the measurement window alone, and with Prometheus metrics.
func BenchmarkRecord(b *testing.B) {
	now := time.Now()
	b.Run("window", func(b *testing.B) {
		w := newWindow(DefaultStatsWindow)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w.record(now, 3*time.Millisecond, false)
			}
		})
	})
	b.Run("prometheus", func(b *testing.B) {
		m, err := newMetrics(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		rm := m.forRevision("shop", "1")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rm.inFlight.Inc()
				rm.inFlight.Dec()
				rm.request("GET", 200, 0.003, 512)
			}
		})
	})
}

// BenchmarkProxyLoopback measures a full proxied GET over loopback with
// keep-alive, with metrics on and off, and with metrics, traces and the
// access log, against the backend reached directly.
func BenchmarkProxyLoopback(b *testing.B) {
	be := newBackend(b, "1", nil)
	run := func(b *testing.B, url string) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := c.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
		c.CloseIdleConnections()
	}
	b.Run("direct", func(b *testing.B) { run(b, be.URL) })
	for _, on := range []bool{false, true} {
		b.Run("metrics="+strconv.FormatBool(on), func(b *testing.B) {
			opts := Options{}
			if on {
				opts.Registerer = prometheus.NewRegistry()
			}
			p := startProxy(b, opts, mustTable(b, TableSpec{App: "web", Stable: rev("1", be)}))
			run(b, p.url("web"))
		})
	}
	b.Run("metrics=true,traced,accesslog", func(b *testing.B) {
		spans := discardSpans(b, telemetry.RatioSampler(1, true))
		access := NewAccessLog(io.Discard, 0)
		defer access.Close()
		opts := Options{Registerer: prometheus.NewRegistry(), Spans: spans, AccessLog: access.Log}
		p := startProxy(b, opts, mustTable(b, TableSpec{App: "web", Stable: rev("1", be)}))
		run(b, p.url("web"))
	})
}

// idleConnCost opens n keep-alive client connections through a proxy, sends
// one request on each, and returns the growth of heap and stack in use per
// idle connection. Both ends of each connection live in this process, so
// the figure is an upper bound for the proxy's side.
func idleConnCost(t testing.TB, n int) float64 {
	be := newBackend(t, "1", nil)
	p := startProxy(t, Options{}, mustTable(t, TableSpec{App: "idle", Stable: rev("1", be)}))
	addr := p.url("idle")[len("http://"):]
	// Warm up: one request so that pools and the upstream connection exist.
	warm := openIdle(t, addr)
	defer warm.Close()

	before := inUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		conns = append(conns, openIdle(t, addr))
	}
	after := inUse()
	runtime.KeepAlive(conns)
	return float64(after-before) / float64(n)
}

// openIdle opens a connection, completes one keep-alive request on it and
// leaves it idle.
func openIdle(t testing.TB, addr string) net.Conn {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: idle\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 512), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return conn
}

// inUse returns heap and stack bytes in use after a full collection.
func inUse() uint64 {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// BenchmarkIdleConnMemory reports the memory one idle keep-alive client
// connection costs, over 2,000 connections.
func BenchmarkIdleConnMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(idleConnCost(b, 2000), "bytes/conn")
	}
}

func TestIdleKeepAliveConnectionsAreCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	cost := idleConnCost(t, 2000)
	t.Logf("%.0f bytes per idle keep-alive connection (both ends)", cost)
	if cost > 20<<10 {
		t.Fatalf("an idle keep-alive connection costs %.0f bytes, over 20 KiB", cost)
	}
}

// discardSpans returns proxy spans sampled by sampler and exported, in
// batches, to an OTLP client that drops them.
func discardSpans(b *testing.B, sampler telemetry.Sampler) *telemetry.ProxySpans {
	spans, err := telemetry.NewProxySpans(context.Background(), otlptest.Discard{}, nil, sampler, telemetry.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = spans.Shutdown(context.Background()) })
	return spans
}

// BenchmarkTraceRequest measures what tracing adds to one proxied request
// on its own: reading the caller's traceparent, the new span's IDs and
// sampling decision, writing the instance's traceparent, and ending the
// span with its attributes into the queue of telemetry.ProxySpans, whose
// goroutine converts full batches to OTLP for a client that drops them.
// "unsampled" has a parent-based sampler and a caller that did not
// sample; "root" a caller without a traceparent.
func BenchmarkTraceRequest(b *testing.B) {
	for _, tc := range []struct {
		name  string
		flags string
	}{{"sampled", "01"}, {"unsampled", "00"}, {"root", ""}} {
		b.Run(tc.name, func(b *testing.B) {
			tr := newTracing(Options{Spans: discardSpans(b, telemetry.RatioSampler(1, true))})
			a := &app{name: "web"}
			rev := &revisionRoute{state: &revisionState{name: "1"}}
			inst := newInstance(Instance{ID: "web-1", Addr: "127.0.0.1:8081"}, "1")
			parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-" + tc.flags
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r, _ := http.NewRequest(http.MethodGet, "http://web/hello", nil)
				rs := &requestState{app: a, rev: rev, inst: inst, requestID: "5f0c6a1e9b2d4c7a8e3f1b0d2c4a6e8f", start: time.Now()}
				hdr := []string{parent}
				end := rs.start.Add(time.Millisecond)
				for pb.Next() {
					if tc.flags != "" {
						hdr[0] = parent // as the client sent it; start rewrites it
						r.Header["Traceparent"] = hdr
					} else {
						delete(r.Header, "Traceparent")
					}
					rs.span = spanContext{}
					tr.start(r, &rs.span)
					tr.end(&rs.span, rs, r.Method, r.URL.Path, http.StatusOK, end)
					_ = traceIDOf(&rs.span)
				}
			})
		})
	}
}

// BenchmarkAccessLog measures the access log on the request path: a
// typical record encoded as JSON ("encode"), and logged through an
// AccessLog, whose buffer is written to a discarding writer ("log").
func BenchmarkAccessLog(b *testing.B) {
	rec := AccessRecord{
		Time: time.Now(), App: "web", Revision: "2", Instance: "web-2-0", Method: http.MethodGet,
		Path: "/api/orders/12345", Status: http.StatusOK, Duration: 1234567 * time.Nanosecond, Bytes: 98,
		RequestID: "5f0c6a1e9b2d4c7a8e3f1b0d2c4a6e8f", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		for b.Loop() {
			buf = rec.AppendJSON(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("log", func(b *testing.B) {
		l := NewAccessLog(io.Discard, 0)
		defer l.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Log(rec)
			}
		})
	})
}
