package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrThrottled is matched by *ThrottledError: a source failed to
// authenticate too often and must wait.
var ErrThrottled = errors.New("too many failed authentication attempts")

// ThrottledError says how long a throttled source must wait.
type ThrottledError struct {
	// RetryAfter is the time until the next attempt is allowed.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v; retry in %s", ErrThrottled, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// Throttle defaults.
const (
	// DefaultFailureBurst is how many failures a source may make at once.
	DefaultFailureBurst = 10
	// DefaultFailureRefill is how often a source regains one attempt:
	// after the burst, one failure per 6 s, ten a minute.
	DefaultFailureRefill = 6 * time.Second
	// DefaultMaxSources bounds the sources remembered at once.
	DefaultMaxSources = 10000
)

// Throttle limits failed authentications per source with a token bucket:
// each source may fail Burst times at once, and regains one attempt every
// Refill. A source with no attempt left is refused until it regains one,
// without its credentials being checked, so guessing tokens costs time.
// Successes cost nothing. Time is passed in; the Throttle keeps no clock.
// It is safe for concurrent use.
type Throttle struct {
	burst      float64
	refill     time.Duration
	maxSources int

	mu      sync.Mutex
	sources map[string]bucket
}

// bucket is a source's attempts left at a time.
type bucket struct {
	left float64
	at   time.Time
}

// NewThrottle returns a throttle; zero or negative arguments take the
// defaults above.
func NewThrottle(burst int, refill time.Duration, maxSources int) *Throttle {
	if burst <= 0 {
		burst = DefaultFailureBurst
	}
	if refill <= 0 {
		refill = DefaultFailureRefill
	}
	if maxSources <= 0 {
		maxSources = DefaultMaxSources
	}
	return &Throttle{burst: float64(burst), refill: refill, maxSources: maxSources, sources: map[string]bucket{}}
}

// level returns b refilled up to now.
func (t *Throttle) level(b bucket, now time.Time) bucket {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.left = min(t.burst, b.left+float64(elapsed)/float64(t.refill))
		b.at = now
	}
	return b
}

// Allow reports whether source may try to authenticate at now; when it may
// not, the error is a *ThrottledError with the wait.
func (t *Throttle) Allow(source string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.sources[source]
	if !ok {
		return nil
	}
	b = t.level(b, now)
	if b.left >= 1 {
		return nil
	}
	wait := time.Duration((1 - b.left) * float64(t.refill))
	return &ThrottledError{RetryAfter: max(wait, time.Second)}
}

// Fail records a failed authentication by source at now.
func (t *Throttle) Fail(source string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.sources[source]
	if !ok {
		t.makeRoom(now)
		b = bucket{left: t.burst, at: now}
	}
	b = t.level(b, now)
	b.left = max(0, b.left-1)
	t.sources[source] = b
}

// makeRoom keeps the map under maxSources: it forgets the sources whose
// bucket is full again (they are as good as new), and, under a flood of
// new sources, arbitrary others. t.mu must be held.
func (t *Throttle) makeRoom(now time.Time) {
	if len(t.sources) < t.maxSources {
		return
	}
	for s, b := range t.sources {
		if t.level(b, now).left >= t.burst {
			delete(t.sources, s)
		}
	}
	for s := range t.sources {
		if len(t.sources) < t.maxSources*9/10 {
			break
		}
		delete(t.sources, s)
	}
}

// Tracked returns how many sources the throttle remembers.
func (t *Throttle) Tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sources)
}
