package proxy

import "testing"

type fakeLoad struct {
	inFlight int64
	until    int64
}

func (f fakeLoad) load() int64         { return f.inFlight }
func (f fakeLoad) ejectedUntil() int64 { return f.until }

func TestPickInstance(t *testing.T) {
	const now = 1000
	ok := func(n int64) fakeLoad { return fakeLoad{inFlight: n} }
	ejected := func(n int64) fakeLoad { return fakeLoad{inFlight: n, until: now + 1} }
	expired := fakeLoad{until: now} // ejection ended exactly now

	tests := []struct {
		name   string
		policy Policy
		insts  []fakeLoad
		start  uint64
		tried  uint64
		want   int
	}{
		{"none", RoundRobin, nil, 0, 0, -1},
		{"round robin start", RoundRobin, []fakeLoad{ok(0), ok(0), ok(0)}, 0, 0, 0},
		{"round robin rotates", RoundRobin, []fakeLoad{ok(0), ok(0), ok(0)}, 4, 0, 1},
		{"round robin skips ejected", RoundRobin, []fakeLoad{ok(0), ejected(0), ok(0)}, 1, 0, 2},
		{"round robin skips tried", RoundRobin, []fakeLoad{ok(0), ok(0), ok(0)}, 0, 0b011, 2},
		{"ejection ended", RoundRobin, []fakeLoad{expired, ok(0)}, 0, 0, 0},
		{"all ejected fails open", RoundRobin, []fakeLoad{ejected(0), ejected(0)}, 1, 0, 1},
		{"all tried", RoundRobin, []fakeLoad{ok(0), ok(0)}, 0, 0b11, -1},
		{"tried beats ejected fallback", RoundRobin, []fakeLoad{ok(0), ejected(0)}, 0, 0b01, 1},
		{"least requests", LeastRequests, []fakeLoad{ok(5), ok(2), ok(7)}, 0, 0, 1},
		{"least requests tie from start", LeastRequests, []fakeLoad{ok(1), ok(1), ok(1)}, 2, 0, 2},
		{"least requests skips ejected", LeastRequests, []fakeLoad{ok(5), ejected(0), ok(7)}, 0, 0, 0},
		{"least requests skips tried", LeastRequests, []fakeLoad{ok(5), ok(2), ok(7)}, 0, 0b010, 0},
		{"least requests all ejected", LeastRequests, []fakeLoad{ejected(3), ejected(1)}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickInstance(tt.policy, tt.insts, tt.start, tt.tried, now); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	insts := make([]fakeLoad, 3)
	counts := make([]int, 3)
	for i := range uint64(300) {
		counts[pickInstance(RoundRobin, insts, i, 0, 0)]++
	}
	for i, c := range counts {
		if c != 100 {
			t.Errorf("instance %d got %d of 300", i, c)
		}
	}
}

func TestMarkTried(t *testing.T) {
	if got := markTried(0, 3); got != 0b1000 {
		t.Errorf("markTried(0, 3) = %b", got)
	}
	if got := markTried(5, 70); got != 5 {
		t.Errorf("instances past 64 are not marked, got %b", got)
	}
}

func TestShouldEject(t *testing.T) {
	tests := []struct {
		name                string
		failures, threshold int
		ejectedUntil, now   int64
		want                bool
	}{
		{"below threshold", 2, 3, 0, 100, false},
		{"at threshold", 3, 3, 0, 100, true},
		{"already ejected", 5, 3, 200, 100, false},
		{"ejection over", 3, 3, 100, 100, true},
		{"ejection off", 100, 0, 0, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldEject(tt.failures, tt.threshold, tt.ejectedUntil, tt.now); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
