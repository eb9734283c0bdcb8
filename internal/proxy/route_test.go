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
