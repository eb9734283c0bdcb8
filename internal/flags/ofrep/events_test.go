package ofrep_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags/feed"
	"sluice.dev/sluice/internal/flags/ofrep"
)

// sseEvent is one block of a server-sent event stream.
type sseEvent struct {
	fields   map[string]string
	comments []string
}

// stream is an open event stream read by a goroutine that ends when the
// stream does.
type stream struct {
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// streamURI is the request URI of an advertised event stream.
func streamURI(t testing.TB, st map[string]any) string {
	t.Helper()
	if raw, ok := st["url"].(string); ok {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("stream url %q: %v", raw, err)
		}
		return u.RequestURI()
	}
	ep, _ := st["endpoint"].(map[string]any)
	uri, _ := ep["requestUri"].(string)
	if uri == "" {
		t.Fatalf("stream without url or endpoint: %v", st)
	}
	return uri
}

// advertisedStream fetches the bulk evaluation with key and returns the
// event stream's request URI.
func (f *fixture) advertisedStream(t testing.TB, key string) string {
	t.Helper()
	r := f.post(t, ofrep.FlagsPath, key, `{"context":{}}`).wantStatus(t, http.StatusOK)
	streams, _ := r.decode(t)["eventStreams"].([]any)
	if len(streams) == 0 {
		t.Fatalf("no event stream advertised: %s", r.body)
	}
	return streamURI(t, streams[0].(map[string]any))
}

// openStream connects to uri on srv with extra headers (name, value pairs)
// and returns the stream, or the refusal's status when it is not 200.
func openStream(t testing.TB, srv *httptest.Server, uri string, headers ...string) (*stream, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("connect to %s: %v", uri, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	s := &stream{resp: resp, events: make(chan sseEvent, 16), cancel: cancel}
	go s.read()
	t.Cleanup(s.close)
	return s, resp.StatusCode
}

// read parses blocks until the stream ends, then closes events.
func (s *stream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	ev := sseEvent{fields: map[string]string{}}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			s.events <- ev
			ev = sseEvent{fields: map[string]string{}}
			continue
		}
		if c, ok := strings.CutPrefix(line, ":"); ok {
			ev.comments = append(ev.comments, strings.TrimSpace(c))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		ev.fields[name] = strings.TrimPrefix(value, " ")
	}
}

// close hangs up.
func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next block that satisfies keep, failing after 5 s.
func (s *stream) next(t testing.TB, keep func(sseEvent) bool) sseEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("stream ended")
			}
			if keep(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no matching event within 5s")
		}
	}
}

// isEvent keeps blocks that carry data.
func isEvent(ev sseEvent) bool { _, ok := ev.fields["data"]; return ok }

// refetch waits for the next data event and checks it against the spec:
// a message whose data is a refetchEvaluation carrying etag.
func (s *stream) refetch(t testing.TB, sp *spec, etag string) sseEvent {
	t.Helper()
	ev := s.next(t, isEvent)
	doc := map[string]any{}
	for k, v := range ev.fields {
		doc[k] = v
	}
	body, _ := json.Marshal(doc)
	sp.validateRef(t, "#/components/schemas/sseEvent", body)
	sp.validateRef(t, "#/components/schemas/sseEventData", []byte(ev.fields["data"]))
	var data map[string]any
	_ = json.Unmarshal([]byte(ev.fields["data"]), &data)
	if data["type"] != "refetchEvaluation" || ev.fields["event"] != "message" {
		t.Fatalf("event = %v", ev.fields)
	}
	if got, _ := data["etag"].(string); got != etag {
		t.Fatalf("etag = %q, want %q", got, etag)
	}
	if ev.fields["id"] != etag {
		t.Fatalf("id = %q, want %q", ev.fields["id"], etag)
	}
	return ev
}

// ended waits for the stream to end.
func (s *stream) ended(t testing.TB) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("stream still open after 5s")
		}
	}
}

func TestEventStreamSendsRefetchOnChange(t *testing.T) {
	sp := loadSpec(t)
	f := newFixture(t)
	s, _ := openStream(t, f.srv, f.advertisedStream(t, prodKey))
	if first := s.next(t, func(sseEvent) bool { return true }); first.fields["retry"] != "5000" {
		t.Fatalf("first block = %v, want a retry hint", first)
	}
	waitFor(t, "the stream to subscribe", func() bool { return f.feed.Subscribers() == 1 })

	f.feed.Publish("production", parseSet(t, flagDoc), "2")
	s.refetch(t, sp, "2")

	// Another environment's change is not sent; the next event is ours.
	f.feed.Publish("staging", parseSet(t, flagDoc), "9")
	f.feed.Publish("production", parseSet(t, flagDoc), "3")
	s.refetch(t, sp, "3")
}

func TestEventStreamKeepAlive(t *testing.T) {
	f := newFixture(t, ofrep.WithKeepAlive(20*time.Millisecond))
	s, _ := openStream(t, f.srv, f.advertisedStream(t, prodKey))
	s.next(t, func(ev sseEvent) bool { return len(ev.comments) > 0 && ev.comments[0] == "keep-alive" })
}

func TestEventStreamEndsWhenClientLeaves(t *testing.T) {
	f := newFixture(t)
	s, _ := openStream(t, f.srv, f.advertisedStream(t, prodKey))
	waitFor(t, "the stream to subscribe", func() bool { return f.feed.Subscribers() == 1 })
	s.close()
	waitFor(t, "the subscription to end", func() bool { return f.feed.Subscribers() == 0 })
	f.feed.Publish("production", parseSet(t, flagDoc), "2")
}

func TestCloseStreamsEndsEveryStream(t *testing.T) {
	f := newFixture(t)
	uri := f.advertisedStream(t, prodKey)
	a, _ := openStream(t, f.srv, uri)
	b, _ := openStream(t, f.srv, uri)
	waitFor(t, "both streams to subscribe", func() bool { return f.feed.Subscribers() == 2 })

	f.handler.CloseStreams()
	a.ended(t)
	b.ended(t)
	waitFor(t, "the subscriptions to end", func() bool { return f.feed.Subscribers() == 0 })

	late, _ := openStream(t, f.srv, uri)
	late.ended(t)
	// Evaluations still work.
	f.post(t, flagPath("new-checkout"), prodKey, `{"context":{}}`).wantStatus(t, http.StatusOK)
}

func TestEventStreamAuthentication(t *testing.T) {
	f := newFixture(t)
	uri := f.advertisedStream(t, prodKey)
	token := strings.TrimPrefix(uri, ofrep.EventsPath+"?channel=")
	env, sig, _ := strings.Cut(token, ".")

	other := ofrep.NewHandler(f.feed, testAuth)
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)
	t.Cleanup(other.CloseStreams)

	refused := map[string]struct {
		srv     *httptest.Server
		uri     string
		headers []string
		status  int
	}{
		"no credentials":              {f.srv, ofrep.EventsPath, nil, http.StatusUnauthorized},
		"garbage token":               {f.srv, ofrep.EventsPath + "?channel=garbage", nil, http.StatusUnauthorized},
		"token for another env":       {f.srv, ofrep.EventsPath + "?channel=c3RhZ2luZw." + sig, nil, http.StatusUnauthorized},
		"token without signature":     {f.srv, ofrep.EventsPath + "?channel=" + env + ".", nil, http.StatusUnauthorized},
		"another server's token":      {otherSrv, uri, nil, http.StatusUnauthorized},
		"revoked key":                 {f.srv, ofrep.EventsPath, []string{"X-API-Key", forbiddenKey}, http.StatusForbidden},
		"authentication backend down": {f.srv, ofrep.EventsPath, []string{"X-API-Key", brokenKey}, http.StatusInternalServerError},
	}
	for name, c := range refused {
		if _, status := openStream(t, c.srv, c.uri, c.headers...); status != c.status {
			t.Errorf("%s: status %d, want %d", name, status, c.status)
		}
	}
	if f.feed.Subscribers() != 0 {
		t.Fatalf("refused streams left %d subscriptions", f.feed.Subscribers())
	}

	// An SDK key in a header works without a token.
	s, _ := openStream(t, f.srv, ofrep.EventsPath, "X-API-Key", prodKey)
	waitFor(t, "the stream to subscribe", func() bool { return f.feed.Subscribers() == 1 })
	f.feed.Publish("production", parseSet(t, flagDoc), "2")
	s.refetch(t, loadSpec(t), "2")
}

func TestEventStreamTokenSharedByKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, ofrep.WithStreamKey(key))
	uri := f.advertisedStream(t, prodKey)

	peer := ofrep.NewHandler(f.feed, testAuth, ofrep.WithStreamKey(key))
	peerSrv := httptest.NewServer(peer)
	t.Cleanup(peerSrv.Close)
	t.Cleanup(peer.CloseStreams)
	if _, status := openStream(t, peerSrv, uri); status != http.StatusOK {
		t.Fatalf("a peer with the same key refused the token: %d", status)
	}
}

func TestEventStreamResumesWithLastEventID(t *testing.T) {
	sp := loadSpec(t)
	f := newFixture(t)
	uri := f.advertisedStream(t, prodKey)

	stale, _ := openStream(t, f.srv, uri, "Last-Event-ID", "0")
	stale.refetch(t, sp, "1")

	current, _ := openStream(t, f.srv, uri, "Last-Event-ID", "1")
	waitFor(t, "both streams to subscribe", func() bool { return f.feed.Subscribers() == 2 })
	f.feed.Publish("production", parseSet(t, flagDoc), "2")
	current.refetch(t, sp, "2") // nothing was sent before version 2
}

func TestEventStreamAnnouncesRemoval(t *testing.T) {
	f := newFixture(t)
	s, _ := openStream(t, f.srv, f.advertisedStream(t, prodKey))
	waitFor(t, "the stream to subscribe", func() bool { return f.feed.Subscribers() == 1 })
	f.feed.Remove("production")
	ev := s.next(t, isEvent)
	if ev.fields["data"] != `{"type":"refetchEvaluation"}` {
		t.Fatalf("removal event = %v", ev.fields)
	}
	if _, ok := ev.fields["id"]; ok {
		t.Fatalf("removal event has an id: %v", ev.fields)
	}
}

func TestEventStreamRateLimited(t *testing.T) {
	f := newFixture(t, ofrep.WithLimiter(func(*http.Request, string) (time.Duration, bool) { return time.Second, false }))
	if _, status := openStream(t, f.srv, ofrep.EventsPath, "X-API-Key", prodKey); status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", status)
	}
}

// Ensure *feed.Feed is a Source.
var _ ofrep.Source = (*feed.Feed)(nil)
