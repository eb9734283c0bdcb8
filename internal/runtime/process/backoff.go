package process

import "time"

// Backoff is the restart schedule for instances that exit unexpectedly. The
// first restart waits Initial; each further crash in a row doubles the wait,
// up to Max. A process that ran for at least ResetAfter before it crashed
// starts the schedule over. The zero value uses the defaults below.
type Backoff struct {
	// Initial is the wait before the first restart after a crash.
	// Default 1s.
	Initial time.Duration
	// Max caps the wait between restarts. Default 30s.
	Max time.Duration
	// ResetAfter is how long a process must run before a crash counts as
	// the first of a new series rather than one more in a row. Default 1m.
	ResetAfter time.Duration
}

// Defaults of Backoff's fields.
const (
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMax        = 30 * time.Second
	DefaultBackoffResetAfter = time.Minute
)

// withDefaults fills in unset fields.
func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = DefaultBackoffResetAfter
	}
	return b
}

// Next decides how long to wait before restarting a process that just
// crashed. streak is the number of crashes in a row before this one (0 for
// the first), ranFor how long the crashed process ran. It returns the wait
// and the streak to pass on the next crash. Next is pure: the caller keeps
// the streak and the clock.
func (b Backoff) Next(streak int, ranFor time.Duration) (wait time.Duration, next int) {
	b = b.withDefaults()
	if streak < 0 || ranFor >= b.ResetAfter {
		streak = 0
	}
	wait = b.Initial
	for range streak {
		if wait >= b.Max/2 {
			wait = b.Max
			break
		}
		wait *= 2
	}
	return min(wait, b.Max), streak + 1
}
