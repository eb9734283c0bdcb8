package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/store/sqlite"
)

func TestRequestsAreCountedTracedAndLogged(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	toks := auth.NewTokens(st, time.Now)
	secret, _, _ := toks.Create(ctx, auth.NewToken{Name: "v", Role: auth.RoleViewer})
	reg := prometheus.NewRegistry()
	spans := tracetest.NewSpanRecorder()
	var logs bytes.Buffer
	a := New(Options{
		Resources: resources.New(st), Auth: toks, Tokens: toks,
		Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
		Metrics: reg, MetricsHandler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	srv := httptest.NewServer(a)
	defer srv.Close()

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for range 3 {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/apps/nope", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `sluice_api_requests_total{code="404",method="GET",route="GET /api/v1/{kind}/{name}"} 3`
	if !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %s:\n%s", want, body)
	}
	ended := spans.Ended()
	if len(ended) < 3 || ended[0].Name() != "GET /api/v1/{kind}/{name}" || ended[0].SpanContext().TraceID().String() != traceID {
		t.Fatalf("spans: %d, first %q in trace %s", len(ended), ended[0].Name(), ended[0].SpanContext().TraceID())
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+traceID+`"`) || !strings.Contains(logs.String(), `"request_id":"`) {
		t.Fatalf("request log lacks trace and request IDs:\n%s", logs.String())
	}
}
