package flags

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/twmb/murmur3"
)

// hashForBucket returns the smallest hash that lands in bucket b of total.
func hashForBucket(b, total uint64) uint32 {
	return uint32((b<<32 + total - 1) / total)
}

func TestPickBucket(t *testing.T) {
	tests := []struct {
		name    string
		hash    uint32
		weights []uint64
		want    int
	}{
		{"lowest hash, first bucket", 0, []uint64{50, 50}, 0},
		{"highest hash, last bucket", math.MaxUint32, []uint64{50, 50}, 1},
		{"last hash of the first half", hashForBucket(50, 100) - 1, []uint64{50, 50}, 0},
		{"first hash of the second half", hashForBucket(50, 100), []uint64{50, 50}, 1},
		{"zero weights are skipped", 0, []uint64{0, 0, 1}, 2},
		{"one bucket takes all", math.MaxUint32, []uint64{1}, 0},
		{"basis points", hashForBucket(9999, 10000), []uint64{1, 9998, 1}, 2},
		{"uneven", hashForBucket(3, 10), []uint64{3, 3, 4}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var total uint64
			for _, w := range tt.weights {
				total += w
			}
			if got := pickBucket(tt.hash, tt.weights, total); got != tt.want {
				t.Errorf("pickBucket(%d, %v) = %d, want %d", tt.hash, tt.weights, got, tt.want)
			}
		})
	}
}

func TestHashKeyIsMurmur3OfTheConcatenation(t *testing.T) {
	long := strings.Repeat("k", 200)
	for _, tc := range [][2]string{{"", ""}, {"flag", "user"}, {"new-checkout", "5c3d8535-f81a-4478"}, {long, "user"}, {"flag", long}} {
		if got, want := hashKey(tc[0], tc[1]), murmur3.StringSum32(tc[0]+tc[1]); got != want {
			t.Errorf("hashKey(%q, %q) = %d, want %d", tc[0], tc[1], got, want)
		}
	}
}

// rolloutDoc is a flag set with one flag per percentage of a rollout,
// all bucketing users on the same value.
func rolloutDoc(steps []int, total int) string {
	var b strings.Builder
	b.WriteString(`{"flags": {`)
	for i, p := range steps {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"at-%d": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
		  "targeting": {"fractional": [{"cat": ["new-checkout", {"var": "targetingKey"}]}, ["on", %d], ["off", %d]]}}`, p, p, total-p)
	}
	b.WriteString("}}")
	return b.String()
}

// TestRaisingAPercentageKeepsUsersIn checks the property rollouts rely on:
// a user who gets "on" at some percentage keeps it at every higher one.
func TestRaisingAPercentageKeepsUsersIn(t *testing.T) {
	for _, total := range []int{100, 10000} {
		var steps []int
		for p := 0; p <= total; p += total / 50 {
			steps = append(steps, p)
		}
		set := mustParse(t, rolloutDoc(steps, total))
		for u := range 500 {
			ctx := map[string]any{"targetingKey": fmt.Sprintf("user-%d", u)}
			in := false
			for _, p := range steps {
				on := set.Evaluate(fmt.Sprintf("at-%d", p), ctx, testNow()).Value == true
				if in && !on {
					t.Fatalf("total %d: user-%d was on below %d and is off at %d", total, u, p, p)
				}
				in = on
			}
			if !in {
				t.Fatalf("total %d: user-%d is off at 100%%", total, u)
			}
		}
	}
}

func TestFractionalSplitsEvenly(t *testing.T) {
	set := mustParse(t, `{"flags": {"suits": {"state": "ENABLED", "defaultVariant": "clubs",
	  "variants": {"clubs": "c", "diamonds": "d", "hearts": "h", "spades": "s"},
	  "targeting": {"fractional": [["clubs", 25], ["diamonds", 25], ["hearts", 25], ["spades", 25]]}}}}`)
	counts := map[string]int{}
	const users = 8000
	for u := range users {
		ev := set.Evaluate("suits", map[string]any{"targetingKey": fmt.Sprintf("u%d@example.com", u)}, testNow())
		counts[ev.Variant]++
	}
	for v, n := range counts {
		if share := float64(n) / users; share < 0.23 || share > 0.27 {
			t.Errorf("%s got %.3f of users, want about 0.25 (%v)", v, share, counts)
		}
	}
}

func TestFractionalSemantics(t *testing.T) {
	ctx := map[string]any{"targetingKey": "user-1", "tier": "gold", "half": 2.5, "n": 7.0}
	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprintf(`["v%d", 1]`, i))
	}
	longKey := strings.Repeat("x", 300)
	formula := func(value string, n uint64) uint64 { return (uint64(murmur3.StringSum32(value)) * n) >> 32 }
	tests := []struct {
		name, rule string
		ctx        map[string]any
		want       any
	}{
		{"single bucket", `{"fractional": [["only", 1]]}`, ctx, "only"},
		{"weight left out", `{"fractional": [["only"]]}`, ctx, "only"},
		{"all weights zero", `{"fractional": [["a", 0], ["b", 0]]}`, ctx, nil},
		{"computed negative weight counts as 0", `{"fractional": [["a", {"-": [0, 5]}], ["b", 1]]}`, ctx, "b"},
		{"computed fractional weight", `{"fractional": [["a", {"var": "half"}], ["b", 1]]}`, ctx, nil},
		{"computed weight too big", `{"fractional": [["a", {"*": [2147483647, 2]}]]}`, ctx, nil},
		{"null weight counts as 1", `{"fractional": [["a", null]]}`, ctx, "a"},
		{"no targeting key", `{"fractional": [["a", 1], ["b", 1]]}`, map[string]any{}, nil},
		{"bucketing value null falls back to targeting key", `{"fractional": [{"var": "missing"}, ["a", 1]]}`, ctx, "a"},
		{"bucketing value null without targeting key", `{"fractional": [{"var": "missing"}, ["a", 1]]}`, map[string]any{}, nil},
		{"bucketing value a number", `{"fractional": [{"var": "n"}, ["a", 1]]}`, ctx, nil},
		{"boolean variants", `{"fractional": [[true, 1], [false, 0]]}`, ctx, true},
		{"number variants", `{"fractional": [[3, 1]]}`, ctx, 3.0},
		{"variant from a rule", `{"fractional": [[{"var": "tier"}, 1]]}`, ctx, "gold"},
		{"variant rule gives an object", `{"fractional": [[{"var": ""}, 1]]}`, ctx, nil},
		{"variant is an array", `{"fractional": [[["a"], 1]]}`, ctx, nil},
		{"bucket not an array", `{"fractional": [{"var": "tier"}, "a"]}`, ctx, nil},
		{"more buckets than the stack holds", `{"fractional": [` + strings.Join(many, ",") + `]}`, ctx, fmt.Sprintf("v%d", formula("my-flaguser-1", 20))},
		{"long keys", `{"fractional": [{"cat": ["` + longKey + `", {"var": "targetingKey"}]}, ["a", 1], ["b", 1]]}`, ctx, []string{"a", "b"}[formula(longKey+"user-1", 2)]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := evalRule(t, tt.rule, tt.ctx)
			if got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestFractionalMatchesTheFormula checks a few users against the
// documented formula directly.
func TestFractionalMatchesTheFormula(t *testing.T) {
	set := mustParse(t, `{"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false},
	  "defaultVariant": "off", "targeting": {"fractional": [["on", 10], ["off", 90]]}}}}`)
	for u := range 200 {
		key := fmt.Sprintf("user-%d", u)
		bucket := (uint64(murmur3.StringSum32("new-checkout"+key)) * 100) >> 32
		want := bucket < 10
		if got := set.Evaluate("new-checkout", map[string]any{"targetingKey": key}, testNow()).Value; got != want {
			t.Errorf("%s: bucket %d gave %v, want %v", key, bucket, got, want)
		}
	}
}
