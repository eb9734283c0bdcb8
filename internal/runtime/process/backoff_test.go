package process

import (
	"testing"
	"time"
)

func TestBackoffNext(t *testing.T) {
	custom := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, ResetAfter: 10 * time.Second}
	tests := []struct {
		name       string
		backoff    Backoff
		streak     int
		ranFor     time.Duration
		wantWait   time.Duration
		wantStreak int
	}{
		{"first crash waits initial", custom, 0, time.Second, 100 * time.Millisecond, 1},
		{"second crash doubles", custom, 1, time.Second, 200 * time.Millisecond, 2},
		{"third crash doubles again", custom, 2, 0, 400 * time.Millisecond, 3},
		{"fourth crash", custom, 3, 0, 800 * time.Millisecond, 4},
		{"capped at max", custom, 4, 0, time.Second, 5},
		{"stays capped", custom, 50, 0, time.Second, 51},
		{"huge streak does not overflow", custom, 1 << 30, 0, time.Second, 1<<30 + 1},
		{"stable run resets", custom, 7, 10 * time.Second, 100 * time.Millisecond, 1},
		{"just short of stable keeps streak", custom, 2, 10*time.Second - 1, 400 * time.Millisecond, 3},
		{"negative streak treated as zero", custom, -3, 0, 100 * time.Millisecond, 1},
		{"zero value uses defaults", Backoff{}, 0, 0, DefaultBackoffInitial, 1},
		{"defaults cap at 30s", Backoff{}, 10, 0, DefaultBackoffMax, 11},
		{"defaults reset after a minute", Backoff{}, 10, time.Minute, DefaultBackoffInitial, 1},
		{"max below initial is raised", Backoff{Initial: time.Second, Max: time.Millisecond}, 3, 0, time.Second, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, streak := tt.backoff.Next(tt.streak, tt.ranFor)
			if wait != tt.wantWait || streak != tt.wantStreak {
				t.Errorf("Next(%d, %v) = %v, %d; want %v, %d", tt.streak, tt.ranFor, wait, streak, tt.wantWait, tt.wantStreak)
			}
		})
	}
}
