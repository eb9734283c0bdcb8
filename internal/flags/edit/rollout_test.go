package edit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/internal/flags"
)

var testNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParsePercent(t *testing.T) {
	good := map[string]int{"0": 0, "25": 2500, "0.5": 50, "0.01": 1, "100": 10000, "12.34%": 1234, " 7 ": 700}
	for in, want := range good {
		if got, err := ParsePercent(in); err != nil || got != want {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "100.01", "0.001", "NaN", "1e9"} {
		if _, err := ParsePercent(bad); err == nil {
			t.Errorf("ParsePercent(%q) accepted", bad)
		}
	}
	for bp, want := range map[int]string{0: "0%", 2500: "25%", 5: "0.05%", 1250: "12.5%", 10000: "100%"} {
		if got := FormatPercent(bp); got != want {
			t.Errorf("FormatPercent(%d) = %q, want %q", bp, got, want)
		}
	}
}

// withTargeting is a boolean flag document whose new-checkout flag has
// the given targeting ("" for none).
func withTargeting(targeting string) string {
	t := ""
	if targeting != "" {
		t = `, "targeting": ` + targeting
	}
	return `{"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false, "beta": true}, "defaultVariant": "off"` + t + `}}}`
}

func targetingOf(t *testing.T, d *Document) string {
	t.Helper()
	f, err := d.Flag("new-checkout")
	if err != nil {
		t.Fatal(err)
	}
	return compact(f["targeting"])
}

func TestRolloutWritesAndUpdatesAFractionalRule(t *testing.T) {
	cases := []struct {
		name, targeting string
		variant         string
		bp              int
		replace         bool
		want            string
		err             error
	}{
		{"no targeting", "", "on", 2500, false, `{"fractional":[["on",2500],["off",7500]]}`, nil},
		{"empty targeting", "{}", "on", 100, false, `{"fractional":[["on",100],["off",9900]]}`, nil},
		{"raise a rollout", `{"fractional":[["on",1000],["off",9000]]}`, "on", 5000, false, `{"fractional":[["on",5000],["off",5000]]}`, nil},
		{"keep the order", `{"fractional":[["off",90],["on",10]]}`, "on", 2500, false, `{"fractional":[["off",7500],["on",2500]]}`, nil},
		{"keep the bucketing rule", `{"fractional":[{"var":"user.id"},["on",1],["off",1]]}`, "on", 10000,
			false, `{"fractional":[{"var":"user.id"},["on",10000],["off",0]]}`, nil},
		{"other rule", `{"if":[{"in":[{"var":"email"},["a@b"]]},"on",null]}`, "on", 2500, false, "", ErrNotARollout},
		{"rollout of another variant", `{"fractional":[["beta",10],["off",90]]}`, "on", 2500, false, "", ErrNotARollout},
		{"replace", `{"if":[true,"on",null]}`, "on", 2500, true, `{"fractional":[["on",2500],["off",7500]]}`, nil},
		{"unknown variant", "", "maybe", 2500, false, "", ErrNoVariant},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, withTargeting(c.targeting))
			changed, err := d.Rollout("new-checkout", c.variant, c.bp, c.replace)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || !changed {
				t.Fatalf("Rollout: %v, %v", changed, err)
			}
			if got := targetingOf(t, d); got != c.want {
				t.Fatalf("targeting %s, want %s", got, c.want)
			}
			if _, err := flags.Parse([]byte(mustJSON(t, d))); err != nil {
				t.Fatalf("the rollout does not parse: %v", err)
			}
			if changed, _ := d.Rollout("new-checkout", c.variant, c.bp, false); changed {
				t.Error("the same rollout again reported a change")
			}
			v, bp, ok := d.RolloutOf("new-checkout")
			if !ok || v != c.variant || bp != c.bp {
				t.Errorf("RolloutOf = %s %d %v", v, bp, ok)
			}
		})
	}
}

func TestRolloutNeedsADefaultOtherThanTheVariant(t *testing.T) {
	d := mustParse(t, `{"flags": {"f": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}}}}`)
	if _, err := d.Rollout("f", "a", 100, false); !errors.Is(err, ErrNoDefault) {
		t.Errorf("no default: %v", err)
	}
	d = mustParse(t, withTargeting(""))
	if _, err := d.Rollout("new-checkout", "off", 100, false); err == nil || !strings.Contains(err.Error(), "already the default") {
		t.Errorf("rolling out the default: %v", err)
	}
	if _, err := d.Rollout("new-checkout", "on", 10001, false); err == nil {
		t.Error("a share over 100% was accepted")
	}
}

// assignments evaluates new-checkout for n users and returns each one's
// variant.
func assignments(t *testing.T, d *Document, n int) []string {
	t.Helper()
	set, err := flags.Parse([]byte(mustJSON(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, n)
	ctx := map[string]any{}
	for i := range n {
		ctx["targetingKey"] = fmt.Sprintf("user-%d", i)
		out[i] = set.Evaluate("new-checkout", ctx, testNow).Variant
	}
	return out
}

// TestRaisingARolloutNeverTakesTheVariantAway raises rollouts step by step
// over 10,000 users: nobody who has the variant loses it, and the share of
// users who have it follows the percentage.
func TestRaisingARolloutNeverTakesTheVariantAway(t *testing.T) {
	const users = 10000
	starts := map[string]string{
		"from nothing":           "",
		"from the design's rule": `{"fractional":[["on",10],["off",90]]}`,
		"from a reversed rule":   `{"fractional":[["off",90],["on",10]]}`,
		"from a bucketing rule":  `{"fractional":[{"cat":[{"var":"$flagd.flagKey"},{"var":"targetingKey"}]},["on",1],["off",9]]}`,
		"from an uneven total":   `{"fractional":[["off",19],["on",1]]}`,
	}
	steps := []string{"10", "10.5", "25", "33.33", "50", "75", "99.99", "100"}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			d := mustParse(t, withTargeting(start))
			before := assignments(t, d, users)
			for _, pct := range steps {
				bp, err := ParsePercent(pct)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := d.Rollout("new-checkout", "on", bp, false); err != nil {
					t.Fatalf("%s%%: %v", pct, err)
				}
				after := assignments(t, d, users)
				got := 0
				for i := range users {
					if before[i] == "on" && after[i] != "on" {
						t.Fatalf("raising to %s%% moved user-%d from on to %s", pct, i, after[i])
					}
					if after[i] == "on" {
						got++
					}
				}
				if diff := float64(got)/users*10000 - float64(bp); diff > 150 || diff < -150 {
					t.Errorf("at %s%%, %d of %d users have the variant", pct, got, users)
				}
				before = after
			}
		})
	}
}
