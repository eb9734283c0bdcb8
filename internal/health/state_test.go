package health

import (
	"slices"
	"testing"
)

// run feeds a sequence of results ('P' pass, 'F' fail) to a state.
func run(s State, seq string, th Thresholds) State {
	for _, c := range seq {
		s = s.Observe(c == 'P', th)
	}
	return s
}

func TestStateObserve(t *testing.T) {
	th := Thresholds{Healthy: 2, Unhealthy: 3}
	healthy := State{Status: StatusHealthy, Passes: 2}
	unhealthy := State{Status: StatusUnhealthy, Failures: 3}
	tests := []struct {
		name  string
		from  State
		seq   string
		th    Thresholds
		want  State
		ready bool
	}{
		{"new instance is unknown and not ready", State{}, "", th, State{}, false},
		{"one pass is not enough", State{}, "P", th, State{Status: StatusUnknown, Passes: 1}, false},
		{"healthy threshold reached", State{}, "PP", th, State{Status: StatusHealthy, Passes: 2}, true},
		{"passes beyond the threshold are capped", State{}, "PPPPP", th, State{Status: StatusHealthy, Passes: 2}, true},
		{"failures below threshold stay unknown", State{}, "FF", th, State{Status: StatusUnknown, Failures: 2}, false},
		{"unknown to unhealthy", State{}, "FFF", th, State{Status: StatusUnhealthy, Failures: 3}, false},
		{"a pass breaks a run of failures", State{}, "FFPFF", th, State{Status: StatusUnknown, Failures: 2}, false},
		{"a failure breaks a run of passes", State{}, "PFP", th, State{Status: StatusUnknown, Passes: 1}, false},
		{"healthy survives fewer failures", healthy, "FF", th, State{Status: StatusHealthy, Failures: 2}, true},
		{"healthy to unhealthy", healthy, "FFF", th, State{Status: StatusUnhealthy, Failures: 3}, false},
		{"interrupted failures keep healthy", healthy, "FFPFF", th, State{Status: StatusHealthy, Failures: 2}, true},
		{"unhealthy needs the healthy threshold", unhealthy, "P", th, State{Status: StatusUnhealthy, Passes: 1}, false},
		{"unhealthy to healthy", unhealthy, "PP", th, State{Status: StatusHealthy, Passes: 2}, true},
		{"flapping never recovers", unhealthy, "PFPFPF", th, State{Status: StatusUnhealthy, Failures: 1}, false},
		{"thresholds below one count as one", State{}, "P", Thresholds{}, State{Status: StatusHealthy, Passes: 1}, true},
		{"one failure with threshold one", healthy, "F", Thresholds{Healthy: 1, Unhealthy: 1}, State{Status: StatusUnhealthy, Failures: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.from, tt.seq, tt.th)
			want := tt.want
			if want.Status == "" {
				want.Status = got.Status // the zero state stays zero
			}
			if got != want {
				t.Errorf("after %q from %+v: %+v, want %+v", tt.seq, tt.from, got, want)
			}
			if got.Ready() != tt.ready {
				t.Errorf("Ready() = %v, want %v", got.Ready(), tt.ready)
			}
		})
	}
}

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in      []string
		want    []StatusRange
		wantErr bool
	}{
		{in: nil, want: []StatusRange{}},
		{in: []string{"204"}, want: []StatusRange{{204, 204}}},
		{in: []string{"200-299", " 404 "}, want: []StatusRange{{200, 299}, {404, 404}}},
		{in: []string{"299-200"}, wantErr: true},
		{in: []string{"99"}, wantErr: true},
		{in: []string{"200-600"}, wantErr: true},
		{in: []string{"2xx"}, wantErr: true},
		{in: []string{""}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseStatusRanges(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseStatusRanges(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !slices.Equal(got, tt.want) {
			t.Errorf("ParseStatusRanges(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		ranges []StatusRange
		code   int
		want   bool
	}{
		{nil, 200, true},
		{nil, 302, true},
		{nil, 399, true},
		{nil, 400, false},
		{nil, 503, false},
		{nil, 199, false},
		{[]StatusRange{{204, 204}}, 200, false},
		{[]StatusRange{{204, 204}, {500, 599}}, 503, true},
	}
	for _, tt := range tests {
		if got := accepts(tt.ranges, tt.code); got != tt.want {
			t.Errorf("accepts(%v, %d) = %v, want %v", tt.ranges, tt.code, got, tt.want)
		}
	}
}
