package edit

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// Kinds of Change.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Change is one difference between two JSON values.
type Change struct {
	// Path locates the value: members joined with dots, array elements
	// indexed, as in `flags.new-checkout.targeting.fractional[0][1]`.
	// Empty for the values themselves.
	Path string `json:"path"`
	// Kind is Added, Removed or Changed.
	Kind string `json:"kind"`
	// Old is the value before; absent when Added.
	Old any `json:"old,omitempty"`
	// New is the value after; absent when Removed.
	New any `json:"new,omitempty"`
}

// String renders the change on one line: `path: "ENABLED" → "DISABLED"`.
func (c Change) String() string {
	at := c.Path
	if at == "" {
		at = "(all)"
	}
	switch c.Kind {
	case Added:
		return at + ": added " + compact(c.New)
	case Removed:
		return at + ": removed (was " + compact(c.Old) + ")"
	}
	return at + ": " + compact(c.Old) + " → " + compact(c.New)
}

// Diff lists the differences between two decoded JSON values, in path
// order: objects member by member, arrays of the same length element by
// element, anything else as a whole. Numbers are equal when their JSON
// text is.
func Diff(old, new any) []Change {
	var out []Change
	diff("", old, new, &out)
	return out
}

// diff appends the differences between a and b at path.
func diff(path string, a, b any, out *[]Change) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap && sameShape(am, bm) {
		for _, k := range unionKeys(am, bm) {
			av, inA := am[k]
			bv, inB := bm[k]
			p := member(path, k)
			switch {
			case !inA:
				*out = append(*out, Change{Path: p, Kind: Added, New: bv})
			case !inB:
				*out = append(*out, Change{Path: p, Kind: Removed, Old: av})
			default:
				diff(p, av, bv, out)
			}
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList && len(al) == len(bl) {
		for i := range al {
			diff(path+"["+strconv.Itoa(i)+"]", al[i], bl[i], out)
		}
		return
	}
	if compact(a) != compact(b) {
		*out = append(*out, Change{Path: path, Kind: Changed, Old: a, New: b})
	}
}

// sameShape reports whether two objects are compared member by member:
// unless each has one member and the two differ, which is how a JsonLogic
// rule replaced by another (an operator by another) looks; that is one
// change.
func sameShape(a, b map[string]any) bool {
	if len(a) != 1 || len(b) != 1 {
		return true
	}
	for k := range a {
		_, ok := b[k]
		return ok
	}
	return true
}

// member joins an object member to a path.
func member(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// DiffDocuments lists the differences between two versions of a
// flag-definition document, with flags compared by key whichever form
// each version writes "flags" in. An empty or unreadable version counts
// as a document without flags, so a created or deleted set shows every
// flag added or removed.
func DiffDocuments(old, new json.RawMessage) []Change {
	a, b := comparable(old), comparable(new)
	var out []Change
	for _, k := range unionKeys(a, b) {
		if k != "flags" {
			diff(k, a[k], b[k], &out)
			continue
		}
		af, _ := a[k].(map[string]any)
		bf, _ := b[k].(map[string]any)
		for _, key := range unionKeys(af, bf) {
			av, inA := af[key]
			bv, inB := bf[key]
			p := member(k, key)
			switch {
			case !inA:
				out = append(out, Change{Path: p, Kind: Added, New: bv})
			case !inB:
				out = append(out, Change{Path: p, Kind: Removed, Old: av})
			default:
				diff(p, av, bv, &out)
			}
		}
	}
	return out
}

// DiffFlag lists the differences of one flag between two versions of a
// document, under paths relative to the flag (`state`, `variants.on`).
// A flag added or removed is one change with an empty path.
func DiffFlag(key string, old, new json.RawMessage) []Change {
	a, _ := comparable(old)["flags"].(map[string]any)
	b, _ := comparable(new)["flags"].(map[string]any)
	av, inA := a[key]
	bv, inB := b[key]
	switch {
	case !inA && !inB:
		return nil
	case !inA:
		return []Change{{Kind: Added, New: bv}}
	case !inB:
		return []Change{{Kind: Removed, Old: av}}
	}
	return Diff(av, bv)
}

// comparable decodes a document with its flags keyed by flag key.
func comparable(spec json.RawMessage) map[string]any {
	out := map[string]any{"flags": map[string]any{}}
	if len(spec) == 0 {
		return out
	}
	d, err := Parse(spec)
	if err != nil {
		return out
	}
	for k, v := range d.top {
		out[k] = v
	}
	out["flags"] = d.Flags()
	return out
}

// ChangedFlags names what differs between two versions of a document: the
// keys of the flags added, removed or changed, sorted, then the other
// top-level members that changed ($evaluators, metadata).
func ChangedFlags(old, new json.RawMessage) []string {
	a, b := comparable(old), comparable(new)
	af, _ := a["flags"].(map[string]any)
	bf, _ := b["flags"].(map[string]any)
	var out []string
	for _, k := range unionKeys(af, bf) {
		if compact(af[k]) != compact(bf[k]) {
			out = append(out, k)
		}
	}
	for _, k := range unionKeys(a, b) {
		if k != "flags" && compact(a[k]) != compact(b[k]) {
			out = append(out, k)
		}
	}
	return out
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys(a, b map[string]any) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
