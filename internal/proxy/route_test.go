package proxy

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"

	"github.com/twmb/murmur3"
)

func TestBucketContract(t *testing.T) {
	tests := []struct {
		app, key string
		hash     uint32 // murmur3_x86_32(app+key, seed 0)
	}{
		{"", "", 0},
		{"hel", "lo", 0x248bfa47},
		{"hello", "", 0x248bfa47},
		{"", "hello", 0x248bfa47},
	}
	for _, tt := range tests {
		want := int(uint64(tt.hash) * 10000 >> 32)
		if got := Bucket(tt.app, tt.key); got != want {
			t.Errorf("Bucket(%q, %q) = %d, want %d", tt.app, tt.key, got, want)
		}
	}
	// Long inputs take another path through the buffer.
	long := string(make([]byte, 300))
	if got, want := Bucket("app", long), int(uint64(murmur3.StringSum32("app"+long))*10000>>32); got != want {
		t.Errorf("Bucket of a long key = %d, want %d", got, want)
	}
}

func TestBucketRange(t *testing.T) {
	for i := range 10000 {
		if b := Bucket("app", strconv.Itoa(i)); b < 0 || b >= MaxWeight {
			t.Fatalf("Bucket out of range: %d", b)
		}
	}
}

func TestChooseRevision(t *testing.T) {
	tests := []struct {
		name         string
		weight       int
		hasCandidate bool
		override     Target
		bucket       int
		want         Target
	}{
		{"no candidate", 10000, false, 0, 0, TargetStable},
		{"no candidate ignores override", 0, false, TargetCandidate, 0, TargetStable},
		{"below weight", 500, true, 0, 499, TargetCandidate},
		{"at weight", 500, true, 0, 500, TargetStable},
		{"weight 0", 0, true, 0, 0, TargetStable},
		{"weight max", 10000, true, 0, 9999, TargetCandidate},
		{"override candidate at weight 0", 0, true, TargetCandidate, 9999, TargetCandidate},
		{"override stable at weight max", 10000, true, TargetStable, 0, TargetStable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chooseRevision(tt.weight, tt.hasCandidate, tt.override, tt.bucket); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Raising the weight never moves a user back to the stable revision.
func TestRaisingWeightNeverMovesUsersBack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		key := strconv.FormatUint(r.Uint64(), 36)
		b := Bucket("shop", key)
		onCandidate := false
		for w := 0; w <= MaxWeight; w += 1 + r.IntN(400) {
			got := chooseRevision(w, true, 0, b) == TargetCandidate
			if onCandidate && !got {
				t.Fatalf("user %q moved back to stable when the weight rose to %d", key, w)
			}
			onCandidate = got
		}
	}
}

func TestInspect(t *testing.T) {
	base := validSpec()
	withHeader := base
	withHeader.Stickiness = Stickiness{Header: "x-user-id"}
	withHeader.Overrides = []Override{
		{Header: "x-canary", Value: "always", Target: TargetCandidate},
		{Cookie: "canary", Value: "never", Target: TargetStable},
	}
	withCookie := base
	withCookie.Stickiness = Stickiness{Cookie: "uid"}

	tests := []struct {
		name     string
		spec     TableSpec
		header   http.Header
		cookies  []*http.Cookie
		override Target
		bucket   int // -1: random, not checked
		newKey   bool
	}{
		{"header key", withHeader, http.Header{"X-User-Id": {"u1"}}, nil, 0, Bucket("hello", "u1"), false},
		{"header override", withHeader, http.Header{"X-Canary": {"always"}}, nil, TargetCandidate, -1, false},
		{"override value must match", withHeader, http.Header{"X-Canary": {"sometimes"}}, nil, 0, -1, false},
		{"cookie override", withHeader, nil, []*http.Cookie{{Name: "canary", Value: "never"}}, TargetStable, -1, false},
		{"app cookie key", withCookie, nil, []*http.Cookie{{Name: "uid", Value: "u2"}}, 0, Bucket("hello", "u2"), false},
		{"app cookie missing", withCookie, nil, nil, 0, -1, false},
		{"own cookie key", base, nil, []*http.Cookie{{Name: "sluice_hello", Value: "k"}}, 0, Bucket("hello", "k"), false},
		{"own cookie made up", base, nil, nil, 0, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := mustTable(t, tt.spec)
			r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			for _, c := range tt.cookies {
				r.AddCookie(c)
			}
			in := tb.inspect(r)
			if in.override != tt.override {
				t.Errorf("override = %v, want %v", in.override, tt.override)
			}
			if tt.bucket >= 0 && in.bucket != tt.bucket {
				t.Errorf("bucket = %d, want %d", in.bucket, tt.bucket)
			}
			if (in.newKey != "") != tt.newKey {
				t.Errorf("newKey = %q, want one: %v", in.newKey, tt.newKey)
			}
			if in.newKey != "" && in.bucket != Bucket("hello", in.newKey) {
				t.Errorf("bucket %d is not the made-up key's bucket", in.bucket)
			}
		})
	}
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		lines []string
		name  string
		want  string
		ok    bool
	}{
		{nil, "a", "", false},
		{[]string{"a=1"}, "a", "1", true},
		{[]string{"x=9; a=2; b=3"}, "a", "2", true},
		{[]string{"x=9", "a=\"q\""}, "a", "q", true},
		{[]string{"ab=1; a"}, "a", "", false},
		{[]string{"a="}, "a", "", true},
	}
	for _, tt := range tests {
		got, ok := cookieValue(tt.lines, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cookieValue(%q, %q) = %q, %v; want %q, %v", tt.lines, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

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
