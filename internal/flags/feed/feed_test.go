package feed_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
)

// newSet parses a one-flag set whose boolean flag "f" defaults to on.
func newSet(t testing.TB, on bool) *flags.Set {
	t.Helper()
	def := "off"
	if on {
		def = "on"
	}
	doc := fmt.Sprintf(`{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":%q}}}`, def)
	set, err := flags.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse flag set: %v", err)
	}
	return set
}

// receive waits up to a second for a Change on ch.
func receive(t *testing.T, ch <-chan Change) Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed, want a change")
		}
		return c
	case <-time.After(time.Second):
		t.Fatal("no change within 1s")
		return Change{}
	}
}

// Change is shortened for the tests.
type Change = feed.Change

// assertNone fails when ch holds a Change.
func assertNone(t *testing.T, ch <-chan Change) {
	t.Helper()
	select {
	case c := <-ch:
		t.Fatalf("unexpected change %+v", c)
	default:
	}
}

// waitFor polls cond until it holds or a second passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCurrentOfUnknownEnvironment(t *testing.T) {
	f := feed.New()
	if _, ok := f.Current("production"); ok {
		t.Fatal("Current of an unpublished environment reported ok")
	}
}

func TestPublishThenCurrent(t *testing.T) {
	f := feed.New()
	set := newSet(t, true)
	if !f.Publish("production", set, "7") {
		t.Fatal("first Publish reported no change")
	}
	snap, ok := f.Current("production")
	if !ok || snap.Set != set || snap.Version != "7" {
		t.Fatalf("Current = %+v, %v; want the published set at version 7", snap, ok)
	}
	if _, ok := f.Current("staging"); ok {
		t.Fatal("publishing production made staging visible")
	}
}

func TestPublishSameVersionIsANoOp(t *testing.T) {
	f := feed.New()
	first := newSet(t, true)
	f.Publish("production", first, "7")
	ch := f.Subscribe(t.Context(), "production")

	if f.Publish("production", newSet(t, false), "7") {
		t.Fatal("republishing version 7 reported a change")
	}
	assertNone(t, ch)
	if snap, _ := f.Current("production"); snap.Set != first {
		t.Fatal("republishing the same version replaced the set")
	}
}

func TestPublishEmptyVersionAlwaysReplaces(t *testing.T) {
	f := feed.New()
	f.Publish("dev", newSet(t, true), "")
	ch := f.Subscribe(t.Context(), "dev")
	second := newSet(t, false)
	if !f.Publish("dev", second, "") {
		t.Fatal("Publish with an empty version reported no change")
	}
	if c := receive(t, ch); c.Env != "dev" || c.Version != "" || c.Removed {
		t.Fatalf("change = %+v", c)
	}
	if snap, _ := f.Current("dev"); snap.Set != second {
		t.Fatal("Current did not return the new set")
	}
}

func TestSubscribeReceivesOnlyItsEnvironment(t *testing.T) {
	f := feed.New()
	prod := f.Subscribe(t.Context(), "production")
	staging := f.Subscribe(t.Context(), "staging")

	f.Publish("production", newSet(t, true), "1")
	if c := receive(t, prod); c != (Change{Env: "production", Version: "1"}) {
		t.Fatalf("production change = %+v", c)
	}
	assertNone(t, staging)
}

func TestRemoveNotifiesAndKeepsSubscription(t *testing.T) {
	f := feed.New()
	f.Publish("production", newSet(t, true), "1")
	ch := f.Subscribe(t.Context(), "production")

	if !f.Remove("production") {
		t.Fatal("Remove of a published environment reported false")
	}
	if c := receive(t, ch); !c.Removed || c.Env != "production" {
		t.Fatalf("change = %+v, want Removed", c)
	}
	if _, ok := f.Current("production"); ok {
		t.Fatal("Current still reports a removed environment")
	}
	if f.Remove("production") {
		t.Fatal("second Remove reported true")
	}
	assertNone(t, ch)

	f.Publish("production", newSet(t, false), "2")
	if c := receive(t, ch); c.Version != "2" || c.Removed {
		t.Fatalf("change after republish = %+v", c)
	}
}

func TestPublishNilSetRemoves(t *testing.T) {
	f := feed.New()
	f.Publish("production", newSet(t, true), "1")
	if !f.Publish("production", nil, "2") {
		t.Fatal("Publish(nil) of a published environment reported no change")
	}
	if _, ok := f.Current("production"); ok {
		t.Fatal("Publish(nil) left the environment published")
	}
}

func TestSlowSubscriberCoalescesToLatest(t *testing.T) {
	f := feed.New()
	ch := f.Subscribe(t.Context(), "production")
	set := newSet(t, true)

	// Nobody reads ch while 1,000 versions are published: Publish must not
	// block, and the one pending change must be the newest.
	for i := range 1000 {
		f.Publish("production", set, fmt.Sprint(i))
	}
	if c := receive(t, ch); c.Version != "999" {
		t.Fatalf("pending change = %+v, want version 999", c)
	}
	assertNone(t, ch)
}

func TestSubscriptionEndsWithContext(t *testing.T) {
	f := feed.New()
	ctx, cancel := context.WithCancel(t.Context())
	ch := f.Subscribe(ctx, "production")
	other := f.Subscribe(t.Context(), "production")
	if got := f.Subscribers(); got != 2 {
		t.Fatalf("Subscribers = %d, want 2", got)
	}

	cancel()
	waitFor(t, "the subscription to close", func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	})
	waitFor(t, "the count to drop", func() bool { return f.Subscribers() == 1 })

	// Publishing after the close must not panic on the closed channel, and
	// the other subscriber still hears it.
	f.Publish("production", newSet(t, true), "1")
	if c := receive(t, other); c.Version != "1" {
		t.Fatalf("remaining subscriber got %+v", c)
	}
}

func TestSubscribeWithEndedContext(t *testing.T) {
	f := feed.New()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ch := f.Subscribe(ctx, "production")
	if _, ok := <-ch; ok {
		t.Fatal("subscription with an ended context delivered a value")
	}
	if got := f.Subscribers(); got != 0 {
		t.Fatalf("Subscribers = %d, want 0", got)
	}
}

func TestConcurrentReadersWritersAndSubscribers(t *testing.T) {
	f := feed.New()
	sets := []*flags.Set{newSet(t, true), newSet(t, false)}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if snap, ok := f.Current("production"); ok && snap.Set == nil {
					t.Error("Current returned a snapshot without a set")
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				sub, stop := context.WithCancel(ctx)
				ch := f.Subscribe(sub, "production")
				select {
				case <-ch:
				case <-time.After(time.Millisecond):
				}
				stop()
			}
		})
	}
	for i := range 2000 {
		f.Publish("production", sets[i%2], fmt.Sprint(i))
		if i%100 == 0 {
			f.Remove("production")
		}
	}
	cancel()
	wg.Wait()
	waitFor(t, "all subscriptions to close", func() bool { return f.Subscribers() == 0 })
}
