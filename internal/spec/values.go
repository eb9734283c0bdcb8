package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Duration is a Go duration written as a string (`30s`, `1m30s`).
type Duration struct {
	time.Duration
}

func (Duration) textValued() {}

// Dur returns a pointer to a Duration of d, for defaults and tests.
func Dur(d time.Duration) *Duration { return &Duration{d} }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a Go duration string. Negative durations are rejected.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	d.Duration = v
	return nil
}

// Percent is a share of traffic in percent, 0 to 100, with at most two
// decimals (0.01 % steps).
type Percent float64

// BasisPoints converts the percentage to basis points (0–10000).
func (p Percent) BasisPoints() int {
	return int(math.Round(float64(p) * 100))
}

// checkPercent reports whether p is in range and on a 0.01 % step.
func checkPercent(p Percent) string {
	f := float64(p)
	switch {
	case math.IsNaN(f) || f < 0:
		return fmt.Sprintf("must be between 0 and 100, got %v", f)
	case f > 100:
		return fmt.Sprintf("must be at most 100 (percent), got %v", f)
	case math.Abs(f*100-math.Round(f*100)) > 1e-6:
		return fmt.Sprintf("must be a multiple of 0.01, got %v", f)
	}
	return ""
}
