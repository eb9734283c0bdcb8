package telemetry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"sluice.dev/sluice/pkg/apiv1"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown","k":"v"`) {
		t.Fatalf("log = %q", out)
	}
	if _, err := NewLogger(&buf, "loud", "json"); err == nil {
		t.Error("a bad level was accepted")
	}
	if _, err := NewLogger(&buf, "info", "xml"); err == nil {
		t.Error("a bad format was accepted")
	}
	// Not a terminal: auto means JSON.
	buf.Reset()
	log, _ = NewLogger(&buf, "info", "auto")
	log.Info("x")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Fatalf("auto format off a terminal = %q", buf.String())
	}
}

func TestRegistryServesBuildInfoInBothFormats(t *testing.T) {
	reg := NewRegistry(apiv1.VersionInfo{Version: "1.2.3", Commit: "abc", GoVersion: "go1.26"})
	srv := httptest.NewServer(MetricsHandler(reg))
	defer srv.Close()
	for _, accept := range []string{"text/plain", "application/openmetrics-text; version=1.0.0"} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `sluice_build_info{commit="abc",goversion="go1.26",version="1.2.3"} 1`) ||
			!strings.Contains(string(body), "go_goroutines") {
			t.Fatalf("%s scrape:\n%s", accept, body)
		}
	}
}

func TestTracingIsOffWithoutAnEndpoint(t *testing.T) {
	tr, err := NewTracing(context.Background(), func(string) string { return "" }, apiv1.VersionInfo{})
	if err != nil || tr.Enabled {
		t.Fatalf("tracing on without an endpoint: %+v %v", tr, err)
	}
	_, span := tr.Provider.Tracer("t").Start(context.Background(), "x")
	if span.SpanContext().IsValid() {
		t.Fatal("the no-op provider made a real span")
	}
}

// TestTracingExportsOverOTLPHTTP receives real OTLP/HTTP protobuf.
func TestTracingExportsOverOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var names []string
	var service string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					names = append(names, sp.Name)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	defer recv.Close()
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL}
	for k, v := range env {
		t.Setenv(k, v)
	}
	os.Unsetenv("OTEL_SERVICE_NAME")
	tr, err := NewTracing(context.Background(), func(k string) string { return env[k] }, apiv1.VersionInfo{Version: "t"})
	if err != nil || !tr.Enabled {
		t.Fatalf("NewTracing: %+v %v", tr, err)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "proxied request")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 1 || names[0] != "proxied request" || service != "sluice" {
		t.Fatalf("received spans %v from service %q", names, service)
	}
}
