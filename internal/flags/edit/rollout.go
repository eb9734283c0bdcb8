package edit

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TotalWeight is the sum of a rollout's weights: basis points.
const TotalWeight = 10000

// ParsePercent reads a percentage such as "25" or "0.5" (0 to 100, at most
// two decimals) as basis points.
func ParsePercent(s string) (int, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("percentage %q is not a number", s)
	}
	if f < 0 || f > 100 {
		return 0, fmt.Errorf("percentage %q must be between 0 and 100", s)
	}
	bp := math.Round(f * 100)
	if math.Abs(bp-f*100) > 1e-6 {
		return 0, fmt.Errorf("percentage %q has more than two decimals", s)
	}
	return int(bp), nil
}

// FormatPercent renders basis points as a percentage: 2500 is "25%", 5 is
// "0.05%".
func FormatPercent(bp int) string {
	s := strconv.FormatFloat(float64(bp)/100, 'f', 2, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "%"
}

// Rollout sends basisPoints of the users of flag key (0 to 10000) to
// variant and the others to its default variant, with a fractional rule,
// and reports whether that changed anything. Raising the share never moves
// a user out of variant (see the package documentation). A flag whose
// targeting is not a rollout between variant and the default is left alone
// with ErrNotARollout, unless replace is true.
func (d *Document) Rollout(key, variant string, basisPoints int, replace bool) (bool, error) {
	f, err := d.Flag(key)
	if err != nil {
		return false, err
	}
	if basisPoints < 0 || basisPoints > TotalWeight {
		return false, fmt.Errorf("flag %q: a rollout share is 0 to %d basis points, got %d", key, TotalWeight, basisPoints)
	}
	if err := checkVariant(key, f, variant); err != nil {
		return false, err
	}
	def := defaultVariant(f)
	switch {
	case def == "":
		return false, fmt.Errorf("flag %q: set one with set-default first: %w", key, ErrNoDefault)
	case def == variant:
		return false, fmt.Errorf("flag %q: %q is already the default variant; roll out another variant, or use set-default", key, variant)
	}
	weights := map[string]int{variant: basisPoints, def: TotalWeight - basisPoints}
	rule, ok := rolloutRule(f["targeting"])
	switch {
	case ok && rule.has(variant, def):
		rule.setWeights(weights)
	case isEmptyRule(f["targeting"]) || replace:
		rule = fractional{entries: []entry{{variant, int64(basisPoints)}, {def, int64(TotalWeight - basisPoints)}}}
	default:
		return false, fmt.Errorf("flag %q: %w: %s", key, ErrNotARollout, compact(f["targeting"]))
	}
	next := rule.encode()
	if compact(f["targeting"]) == compact(next) {
		return false, nil
	}
	f["targeting"] = next
	return true, nil
}

// RolloutOf describes flag key's rollout: the variant that is not the
// default, and its share in basis points. ok is false when the flag's
// targeting is not a rollout between two variants, one of them the
// default.
func (d *Document) RolloutOf(key string) (variant string, basisPoints int, ok bool) {
	f, err := d.Flag(key)
	if err != nil {
		return "", 0, false
	}
	rule, ok := rolloutRule(f["targeting"])
	def := defaultVariant(f)
	if !ok || len(rule.entries) != 2 || rule.total() <= 0 {
		return "", 0, false
	}
	for i, e := range rule.entries {
		other := rule.entries[1-i]
		if other.variant == def && e.variant != def {
			return e.variant, int(math.Round(float64(e.weight) * TotalWeight / float64(rule.total()))), true
		}
	}
	return "", 0, false
}

// fractional is a rollout rule: an optional bucketing rule and
// [variant, weight] entries.
type fractional struct {
	bucketBy any // nil: the default, flag key and targeting key
	entries  []entry
}

// entry is one [variant, weight] of a fractional rule.
type entry struct {
	variant string
	weight  int64
}

// rolloutRule reads targeting of the form {"fractional": [bucketBy?,
// [name, weight], …]} with literal names and whole weights; anything else
// is not a rollout.
func rolloutRule(targeting any) (fractional, bool) {
	m, ok := targeting.(map[string]any)
	if !ok || len(m) != 1 {
		return fractional{}, false
	}
	args, ok := m["fractional"].([]any)
	if !ok || len(args) == 0 {
		return fractional{}, false
	}
	var r fractional
	if _, isEntry := args[0].([]any); !isEntry {
		r.bucketBy, args = args[0], args[1:]
	}
	for _, a := range args {
		pair, ok := a.([]any)
		if !ok || len(pair) != 2 {
			return fractional{}, false
		}
		name, ok := pair[0].(string)
		w, wok := pair[1].(json.Number)
		if !ok || !wok {
			return fractional{}, false
		}
		n, err := w.Int64()
		if err != nil || n < 0 {
			return fractional{}, false
		}
		r.entries = append(r.entries, entry{name, n})
	}
	return r, len(r.entries) > 0
}

// has reports whether the rule splits users between exactly a and b.
func (r fractional) has(a, b string) bool {
	if len(r.entries) != 2 {
		return false
	}
	x, y := r.entries[0].variant, r.entries[1].variant
	return (x == a && y == b) || (x == b && y == a)
}

// setWeights gives each entry its weight, keeping the order.
func (r fractional) setWeights(w map[string]int) {
	for i := range r.entries {
		r.entries[i].weight = int64(w[r.entries[i].variant])
	}
}

// total sums the weights.
func (r fractional) total() int64 {
	var t int64
	for _, e := range r.entries {
		t += e.weight
	}
	return t
}

// encode writes the rule as targeting.
func (r fractional) encode() map[string]any {
	args := make([]any, 0, len(r.entries)+1)
	if r.bucketBy != nil {
		args = append(args, r.bucketBy)
	}
	for _, e := range r.entries {
		args = append(args, []any{e.variant, json.Number(strconv.FormatInt(e.weight, 10))})
	}
	return map[string]any{"fractional": args}
}

// isEmptyRule reports whether targeting selects nothing: absent, null or {}.
func isEmptyRule(targeting any) bool {
	if targeting == nil {
		return true
	}
	m, ok := targeting.(map[string]any)
	return ok && len(m) == 0
}

// compact renders a value as JSON, for comparisons and messages.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
