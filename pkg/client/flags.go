package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// FlagSets is the collection of FlagSet resources, one per environment.
const FlagSets = "flagsets"

// UpdateAttempts is how many times UpdateFlagSet reads and writes before it
// gives up on a FlagSet that others keep changing.
const UpdateAttempts = 8

// retryPause is the longest pause before UpdateFlagSet's second attempt;
// later attempts wait up to that many times longer, at random, so that
// writers that collided spread out.
const retryPause = 20 * time.Millisecond

// Put applies exactly one document (YAML or JSON) of the collection's kind
// and name; with metadata.resourceVersion set, only over that version.
func (c *Client) Put(ctx context.Context, collection, name string, document []byte) (apiv1.Applied, error) {
	var out apiv1.Applied
	err := c.do(ctx, http.MethodPut, resourcePath(collection, name), nil, document, "application/json", &out)
	return out, err
}

// History returns the newest limit entries of a resource's history, oldest
// first, each with its spec; limit 0 lets the server choose (100).
func (c *Client) History(ctx context.Context, collection, name string, limit int) ([]apiv1.HistoryEntry, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out apiv1.HistoryList
	err := c.do(ctx, http.MethodGet, resourcePath(collection, name)+"/history", q, nil, "", &out)
	return out.Items, err
}

// HistoryVersion returns one entry of a resource's history.
func (c *Client) HistoryVersion(ctx context.Context, collection, name string, version int64) (apiv1.HistoryEntry, error) {
	var out apiv1.HistoryEntry
	err := c.do(ctx, http.MethodGet, resourcePath(collection, name)+"/history/"+strconv.FormatInt(version, 10), nil, nil, "", &out)
	return out, err
}

// EvaluateFlag evaluates one flag of an environment for an evaluation
// context, as the environment's OFREP clients would get it.
func (c *Client) EvaluateFlag(ctx context.Context, env, key string, evalCtx map[string]any) (apiv1.FlagEvaluation, error) {
	var out apiv1.FlagEvaluation
	body, err := json.Marshal(apiv1.EvaluationRequest{Context: evalCtx})
	if err != nil {
		return out, fmt.Errorf("encode the evaluation context: %w", err)
	}
	err = c.do(ctx, http.MethodPost, resourcePath(FlagSets, env)+"/evaluate/"+url.PathEscape(key), nil, body, "application/json", &out)
	return out, err
}

// UpdateFlagSet changes an environment's FlagSet without losing anyone
// else's change: it reads the FlagSet, passes its spec to change, and
// writes the result back only over the version it read. When someone else
// wrote in between (409), it waits a little, reads and changes again, up
// to UpdateAttempts times. change returns the new spec, or nil to leave the FlagSet as it is
// (the answer's Action is then "unchanged"); its error ends the update.
func (c *Client) UpdateFlagSet(ctx context.Context, env string, change func(spec json.RawMessage) (json.RawMessage, error)) (apiv1.Applied, error) {
	for attempt := 1; ; attempt++ {
		cur, err := c.Get(ctx, FlagSets, env)
		if err != nil {
			return apiv1.Applied{}, err
		}
		next, err := change(cur.Spec)
		if err != nil {
			return apiv1.Applied{}, err
		}
		if next == nil {
			return apiv1.Applied{Kind: cur.Kind, Name: env, Action: apiv1.ActionUnchanged, ResourceVersion: cur.Metadata.ResourceVersion}, nil
		}
		res, err := c.PutFlagSet(ctx, env, next, cur.Metadata.ResourceVersion, cur.Metadata.Labels)
		if err == nil || !IsConflict(err) || attempt == UpdateAttempts {
			return res, err
		}
		if err := pause(ctx, time.Duration(rand.Int64N(int64(retryPause)*int64(attempt)))); err != nil {
			return apiv1.Applied{}, err
		}
	}
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// PutFlagSet writes an environment's FlagSet with spec, over
// resourceVersion when it is not 0 (creating it when 0 and there is none).
func (c *Client) PutFlagSet(ctx context.Context, env string, spec json.RawMessage, resourceVersion int64, labels map[string]string) (apiv1.Applied, error) {
	doc := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name            string            `json:"name"`
			Labels          map[string]string `json:"labels,omitempty"`
			ResourceVersion int64             `json:"resourceVersion,omitempty"`
		} `json:"metadata"`
		Spec json.RawMessage `json:"spec"`
	}{APIVersion: apiv1.APIVersion, Kind: "FlagSet", Spec: spec}
	doc.Metadata.Name, doc.Metadata.Labels, doc.Metadata.ResourceVersion = env, labels, resourceVersion
	var body bytes.Buffer
	if err := json.NewEncoder(&body).Encode(doc); err != nil {
		return apiv1.Applied{}, fmt.Errorf("encode FlagSet %q: %w", env, err)
	}
	return c.Put(ctx, FlagSets, env, body.Bytes())
}

// resourcePath is the API path of one resource.
func resourcePath(collection, name string) string {
	return "/api/v1/" + url.PathEscape(collection) + "/" + url.PathEscape(name)
}
