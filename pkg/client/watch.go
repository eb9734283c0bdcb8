package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// retryDelay is how long WatchEvents waits before reconnecting.
const retryDelay = time.Second

// WatchEvents streams events to fn until ctx ends or fn returns an error:
// first the backlog that q selects, then every new event. A dropped stream is
// resumed after the last event seen, so none is missed or repeated. It
// returns fn's error, or ctx's.
func (c *Client) WatchEvents(ctx context.Context, q EventQuery, fn func(apiv1.Event) error) error {
	for {
		err := c.watchOnce(ctx, &q, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, ok := err.(stopError); ok {
			return err.(stopError).err
		}
		if p, ok := err.(*apiv1.Problem); ok && p.Status < 500 {
			return p // a refusal will not change by retrying
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryDelay):
		}
	}
}

// stopError carries fn's error out of the stream loop.
type stopError struct{ err error }

func (s stopError) Error() string { return s.err.Error() }

func (c *Client) watchOnce(ctx context.Context, q *EventQuery, fn func(apiv1.Event) error) error {
	v := q.values()
	v.Set("watch", "true")
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/events", v, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var e apiv1.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		q.After, q.Limit = e.ID, 0
		if err := fn(e); err != nil {
			return stopError{err}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("event stream ended")
}
