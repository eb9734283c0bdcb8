package health

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is an instance's health as the checks see it.
type Status string

// The statuses an instance can have.
const (
	// StatusUnknown is where every instance starts: not enough checks have
	// been made to call it either way. It is not ready for traffic.
	StatusUnknown Status = "Unknown"
	// StatusHealthy means the last HealthyThreshold checks passed, or
	// fewer failed in a row since then than UnhealthyThreshold.
	StatusHealthy Status = "Healthy"
	// StatusUnhealthy means the last UnhealthyThreshold checks failed, or
	// fewer passed in a row since then than HealthyThreshold.
	StatusUnhealthy Status = "Unhealthy"
)

// Thresholds say how many results in a row change an instance's status.
type Thresholds struct {
	// Healthy is how many passes in a row make an instance Healthy.
	// Values below 1 count as 1.
	Healthy int
	// Unhealthy is how many failures in a row make an instance Unhealthy.
	// Values below 1 count as 1.
	Unhealthy int
}

// State is the health of one instance: its status and the run of equal
// results that led there. The zero value is a new instance with no results;
// Observe treats its empty status as StatusUnknown.
type State struct {
	// Status is the current status.
	Status Status
	// Passes counts the passes in a row up to now, capped at the healthy
	// threshold; zero after a failure.
	Passes int
	// Failures counts the failures in a row up to now, capped at the
	// unhealthy threshold; zero after a pass.
	Failures int
}

// Ready reports whether the instance may take traffic: only when Healthy.
func (s State) Ready() bool {
	return s.Status == StatusHealthy
}

// Observe returns the state after one more check result. It is pure: the
// caller keeps the state and reports the transition when the status changes.
func (s State) Observe(pass bool, th Thresholds) State {
	healthy, unhealthy := max(th.Healthy, 1), max(th.Unhealthy, 1)
	if s.Status == "" {
		s.Status = StatusUnknown
	}
	if pass {
		s.Failures = 0
		s.Passes = min(s.Passes+1, healthy)
		if s.Passes >= healthy {
			s.Status = StatusHealthy
		}
		return s
	}
	s.Passes = 0
	s.Failures = min(s.Failures+1, unhealthy)
	if s.Failures >= unhealthy {
		s.Status = StatusUnhealthy
	}
	return s
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	// Min and Max bound the range, both included.
	Min, Max int
}

// DefaultStatusRanges returns the codes that pass when a Target names none:
// 200–399.
func DefaultStatusRanges() []StatusRange {
	return []StatusRange{{Min: 200, Max: 399}}
}

// ParseStatusRanges parses codes ("204") and ranges ("200-299") as written
// in an app's healthCheck.statusCodes.
func ParseStatusRanges(specs []string) ([]StatusRange, error) {
	out := make([]StatusRange, 0, len(specs))
	for i, s := range specs {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
		if !isRange {
			hi = lo
		}
		min, err1 := strconv.Atoi(strings.TrimSpace(lo))
		max, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || min < 100 || max > 599 || min > max {
			return nil, fmt.Errorf("status codes[%d]: %q: want a code from 100 to 599 or a range such as 200-299", i, s)
		}
		out = append(out, StatusRange{Min: min, Max: max})
	}
	return out, nil
}

// accepts reports whether code falls in any of ranges, or in 200–399 when
// ranges is empty.
func accepts(ranges []StatusRange, code int) bool {
	if len(ranges) == 0 {
		ranges = DefaultStatusRanges()
	}
	for _, r := range ranges {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}
