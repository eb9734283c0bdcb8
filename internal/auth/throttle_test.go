package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestThrottleBurstThenRefill(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(3, 10*time.Second, 0)
	for i := range 3 {
		if err := th.Allow("1.2.3.4", now); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		th.Fail("1.2.3.4", now)
	}
	err := th.Allow("1.2.3.4", now)
	var te *ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) || te.RetryAfter != 10*time.Second {
		t.Fatalf("after the burst: %v, want a 10s wait", err)
	}
	if err := th.Allow("5.6.7.8", now); err != nil {
		t.Fatalf("another source is throttled: %v", err)
	}
	if err := th.Allow("1.2.3.4", now.Add(4*time.Second)); !errors.As(err, &te) || te.RetryAfter != 6*time.Second {
		t.Fatalf("4s later: %v, want a 6s wait", err)
	}
	later := now.Add(10 * time.Second)
	if err := th.Allow("1.2.3.4", later); err != nil {
		t.Fatalf("after a refill: %v", err)
	}
	th.Fail("1.2.3.4", later)
	if err := th.Allow("1.2.3.4", later); err == nil {
		t.Fatal("one refilled attempt allowed two failures")
	}
	if err := th.Allow("1.2.3.4", later.Add(time.Hour)); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

func TestThrottleWaitIsAtLeastASecond(t *testing.T) {
	now := time.Now()
	th := NewThrottle(1, 100*time.Millisecond, 0)
	th.Fail("a", now)
	var te *ThrottledError
	if err := th.Allow("a", now.Add(99*time.Millisecond)); !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Fatalf("Allow = %v, want a wait rounded up to 1s (Retry-After counts seconds)", err)
	}
}

func TestThrottleForgetsUnderAFlood(t *testing.T) {
	now := time.Now()
	th := NewThrottle(2, time.Second, 100)
	th.Fail("attacker", now)
	th.Fail("attacker", now)
	for i := range 1000 {
		th.Fail(fmt.Sprint("10.0.", i/256, ".", i%256), now)
	}
	if n := th.Tracked(); n > 100 {
		t.Fatalf("tracking %d sources, want at most 100", n)
	}
	// Sources whose buckets refilled are forgotten first.
	th2 := NewThrottle(2, time.Second, 3)
	th2.Fail("old", now)
	th2.Fail("mid", now)
	th2.Fail("hot", now.Add(time.Hour))
	th2.Fail("hot", now.Add(time.Hour))
	th2.Fail("new", now.Add(time.Hour))
	if err := th2.Allow("hot", now.Add(time.Hour)); err == nil {
		t.Fatal("a throttled source was forgotten while refilled ones were kept")
	}
}
