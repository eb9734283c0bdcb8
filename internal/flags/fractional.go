package flags

import (
	"math"

	"github.com/twmb/murmur3"
)

// This file holds fractional, flagd's deterministic percentage split:
//
//	{"fractional": [bucketBy?, [variant, weight?], [variant, weight?], …]}
//
// bucketBy is an optional rule whose value (a string) is hashed; without
// it, or when it is null, the hash is of the flag key followed by the
// targeting key. The hash is murmur3 x86_32 with seed 0; the bucket is
// (uint64(hash) * totalWeight) >> 32, and the variant is the first whose
// running total of weights exceeds the bucket. This is flagd's
// high-precision algorithm (flagd 0.15 and later, "fractional-v2"), and
// the same hash as sluice's sticky canary buckets.
//
// A weight is a whole number, 1 when left out, and may be a rule (for
// rollouts over time); a computed negative weight counts as 0. The
// variant too may be a rule. fractional is null (targeting falls back to
// the default variant) when there is nothing to hash (no bucketing value
// and no targeting key), when all weights are 0, or when a bucket is
// malformed, as in flagd.

// maxTotalWeight is the largest sum of weights flagd accepts.
const maxTotalWeight = math.MaxInt32

// maxStackBuckets is how many buckets fractional handles without
// allocating.
const maxStackBuckets = 16

// pickBucket returns the index of the bucket that hash falls in: weights
// are the buckets' weights in order, total their sum (more than 0).
func pickBucket(hash uint32, weights []uint64, total uint64) int {
	b := (uint64(hash) * total) >> 32
	var end uint64
	for i, w := range weights {
		end += w
		if b < end {
			return i
		}
	}
	return len(weights) - 1 // unreachable: b < total
}

// hashKey hashes flagKey followed by targetingKey, without allocating when
// they are short.
func hashKey(flagKey, targetingKey string) uint32 {
	var buf [128]byte
	if len(flagKey)+len(targetingKey) <= len(buf) {
		b := append(buf[:0], flagKey...)
		b = append(b, targetingKey...)
		return murmur3.Sum32(b)
	}
	return murmur3.StringSum32(flagKey + targetingKey)
}

// fractionalEntry is one compiled [variant, weight] entry.
type fractionalEntry struct {
	variant node
	weight  node // nil: weight 1
}

// fractionalNode is fractional.
type fractionalNode struct {
	bucketBy  node // nil in the shorthand form
	entries   []fractionalEntry
	malformed bool // an entry is not an array of 1 or 2 values: always null
}

func (n fractionalNode) eval(st *state, data any) any {
	if n.malformed {
		return nil
	}
	var variantBuf [maxStackBuckets]any
	var weightBuf [maxStackBuckets]uint64
	variants, weights := variantBuf[:0], weightBuf[:0]
	key, haveKey := "", false
	if n.bucketBy != nil {
		switch v := n.bucketBy.eval(st, data).(type) {
		case string:
			key, haveKey = v, true
		case nil:
		case []any:
			// flagd reads a bucketing value that is an array as one
			// more [variant, weight] entry.
			variant, weight, ok := toBucket(v, len(v) > 1, at(v, 1))
			if !ok {
				return nil
			}
			variants, weights = append(variants, variant), append(weights, weight)
		default:
			return nil
		}
	}
	for _, e := range n.entries {
		var w any
		if e.weight != nil {
			w = e.weight.eval(st, data)
		}
		variant, weight, ok := toBucket([]any{e.variant.eval(st, data)}, e.weight != nil, w)
		if !ok {
			return nil
		}
		variants, weights = append(variants, variant), append(weights, weight)
	}
	var total uint64
	for _, w := range weights {
		total += w
	}
	if total == 0 || total > maxTotalWeight {
		return nil
	}
	var hash uint32
	if haveKey {
		hash = murmur3.StringSum32(key)
	} else {
		tk, ok := st.targetingKey()
		if !ok {
			return nil
		}
		hash = hashKey(st.flagKey, tk)
	}
	return variants[pickBucket(hash, weights, total)]
}

// toBucket checks an evaluated entry: entry[0] is the variant (a string,
// boolean, number or null); weight, when given and not null, must be a
// whole number no larger than maxTotalWeight, and counts as 0 when
// negative.
func toBucket(entry []any, hasWeight bool, weight any) (any, uint64, bool) {
	if len(entry) == 0 {
		return nil, 0, false
	}
	variant := entry[0]
	switch variant.(type) {
	case nil, string, bool:
	default:
		if !isNumber(variant) {
			return nil, 0, false
		}
	}
	if !hasWeight || weight == nil {
		return variant, 1, true
	}
	w, isNum := number(weight)
	if !isNum || w != math.Trunc(w) || w > maxTotalWeight {
		return nil, 0, false
	}
	return variant, uint64(max(w, 0)), true
}

// fractionalOp compiles fractional. Buckets that can never work (a
// fraction or text as weight, a negative weight, weights adding up past
// maxTotalWeight, no buckets, a constant bucketing value) are sevLint
// problems; the node then behaves as flagd does with them.
func (c *compiler) fractionalOp(path string, raw any) (node, bool) {
	list, isArray := raw.([]any)
	if !isArray || len(list) == 0 {
		c.probs.add(sevLint, path, "fractional takes an array of [variant, weight] buckets, optionally after a bucketing rule")
		_, ok := c.compile(path, raw)
		return constNode{nil}, ok
	}
	n := fractionalNode{}
	first, ok := 0, true
	switch x := list[0].(type) {
	case []any: // the shorthand: buckets only
	case map[string]any:
		n.bucketBy, ok = c.compile(index(path, 0), x)
		first = 1
	default:
		c.probs.add(sevLint, index(path, 0), "the bucketing value must be a rule such as {\"var\": \"email\"}, not a constant %s; leave it out to bucket on the targeting key", jsonKind(x))
		n.bucketBy, first = constNode{x}, 1
	}
	if first == len(list) {
		c.probs.add(sevLint, path, "fractional needs at least one [variant, weight] bucket")
	}
	var total float64
	for i := first; i < len(list); i++ {
		e, literal, eok := c.fractionalEntry(index(path, i), list[i])
		ok = ok && eok
		n.entries = append(n.entries, e)
		n.malformed = n.malformed || e.variant == nil
		total += literal
	}
	if total > maxTotalWeight {
		c.probs.add(sevLint, path, "weights add up to %.0f, more than the %d allowed", total, maxTotalWeight)
	}
	return n, ok
}

// fractionalEntry compiles one [variant, weight] bucket and returns its
// literal weight (0 when the weight is a rule). An entry that flagd
// cannot read gets a nil variant.
func (c *compiler) fractionalEntry(path string, raw any) (fractionalEntry, float64, bool) {
	pair, isArray := raw.([]any)
	if !isArray || len(pair) == 0 {
		c.probs.add(sevLint, path, "a bucket is [variant, weight], got %s", jsonKind(raw))
		_, ok := c.compile(path, raw)
		return fractionalEntry{}, 0, ok
	}
	if len(pair) > 2 {
		c.probs.add(sevLint, path, "a bucket is [variant, weight], got %d values", len(pair))
	}
	var e fractionalEntry
	variant, ok := c.compile(index(path, 0), pair[0])
	switch pair[0].(type) {
	case []any:
		c.probs.add(sevLint, index(path, 0), "a bucket's variant must be a string, boolean, number or rule, got array")
	default:
		e.variant = variant
	}
	if len(pair) < 2 {
		return e, 1, ok
	}
	wpath := index(path, 1)
	switch w := pair[1].(type) {
	case float64:
		e.weight = constNode{w}
		switch {
		case w != math.Trunc(w):
			c.probs.add(sevLint, wpath, "weight must be a whole number, got %v", w)
		case w < 0:
			c.probs.add(sevLint, wpath, "weight must not be negative, got %v", w)
		case w > maxTotalWeight:
			c.probs.add(sevLint, wpath, "weight %.0f is more than the %d allowed", w, maxTotalWeight)
		default:
			return e, w, ok
		}
		return e, 0, ok
	case map[string]any:
		wn, wok := c.compile(wpath, w)
		e.weight = wn
		return e, 0, ok && wok
	default:
		c.probs.add(sevLint, wpath, "weight must be a whole number, got %s", jsonKind(w))
		e.weight = constNode{w}
		return e, 0, ok
	}
}
