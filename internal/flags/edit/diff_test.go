package edit

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	num := func(s string) json.Number { return json.Number(s) }
	decoded := func(s string) any {
		v, err := decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name     string
		old, new string
		want     []Change
	}{
		{"same", `{"a":[1,{"b":2}]}`, `{"a":[1,{"b":2}]}`, nil},
		{"scalar", `{"state":"ENABLED"}`, `{"state":"DISABLED"}`, []Change{{Path: "state", Kind: Changed, Old: "ENABLED", New: "DISABLED"}}},
		{"added and removed", `{"a":1,"c":3}`, `{"b":2,"c":3}`, []Change{{Path: "a", Kind: Removed, Old: num("1")}, {Path: "b", Kind: Added, New: num("2")}}},
		{"one rule for another", `{"t":{"if":[1]}}`, `{"t":{"in":[1]}}`, []Change{{Path: "t", Kind: Changed, Old: map[string]any{"if": []any{num("1")}}, New: map[string]any{"in": []any{num("1")}}}}},
		{"array element", `{"f":[["on",10],["off",90]]}`, `{"f":[["on",25],["off",75]]}`,
			[]Change{{Path: "f[0][1]", Kind: Changed, Old: num("10"), New: num("25")}, {Path: "f[1][1]", Kind: Changed, Old: num("90"), New: num("75")}}},
		{"array length", `{"f":[1]}`, `{"f":[1,2]}`, []Change{{Path: "f", Kind: Changed, Old: []any{num("1")}, New: []any{num("1"), num("2")}}}},
		{"type change", `{"a":{"b":1}}`, `{"a":"x"}`, []Change{{Path: "a", Kind: Changed, Old: map[string]any{"b": num("1")}, New: "x"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diff(decoded(c.old), decoded(c.new))
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Diff = %#v\nwant %#v", got, c.want)
			}
		})
	}
	if s := (Change{Path: "state", Kind: Changed, Old: "ENABLED", New: "DISABLED"}).String(); s != `state: "ENABLED" → "DISABLED"` {
		t.Errorf("String() = %s", s)
	}
}

func TestDiffDocumentsComparesFlagsByKey(t *testing.T) {
	asMap := `{"flags":{"a.b":{"state":"ENABLED","variants":{"x":1},"defaultVariant":"x"}}}`
	asArray := `{"flags":[{"key":"a.b","state":"DISABLED","variants":{"x":1},"defaultVariant":"x"}]}`
	got := DiffDocuments([]byte(asMap), []byte(asArray))
	want := []Change{{Path: "flags.a.b.state", Kind: Changed, Old: "ENABLED", New: "DISABLED"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DiffDocuments = %v", got)
	}
	if got := ChangedFlags([]byte(asMap), []byte(asArray)); !reflect.DeepEqual(got, []string{"a.b"}) {
		t.Fatalf("ChangedFlags = %v", got)
	}
	created := DiffDocuments(nil, []byte(asMap))
	if len(created) != 1 || created[0].Path != "flags.a.b" || created[0].Kind != Added {
		t.Fatalf("a created set: %v", created)
	}
	withMeta := `{"metadata":{"v":"2"},"flags":{"a.b":{"state":"ENABLED","variants":{"x":1},"defaultVariant":"x"}}}`
	if got := ChangedFlags([]byte(asMap), []byte(withMeta)); !reflect.DeepEqual(got, []string{"metadata"}) {
		t.Fatalf("ChangedFlags = %v", got)
	}
}

func TestDiffFlag(t *testing.T) {
	v1 := `{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}}}`
	v2 := `{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},"g":{"state":"ENABLED","variants":{"a":"a"},"defaultVariant":"a"}}}`
	if got := DiffFlag("f", []byte(v1), []byte(v2)); len(got) != 1 || got[0].Path != "defaultVariant" {
		t.Fatalf("changed: %v", got)
	}
	if got := DiffFlag("g", []byte(v1), []byte(v2)); len(got) != 1 || got[0].Kind != Added || got[0].Path != "" {
		t.Fatalf("added: %v", got)
	}
	if got := DiffFlag("f", []byte(v2), nil); len(got) != 1 || got[0].Kind != Removed {
		t.Fatalf("removed with the set: %v", got)
	}
	if got := DiffFlag("nope", []byte(v1), []byte(v2)); got != nil {
		t.Fatalf("never there: %v", got)
	}
}

func TestARuleReplacedByAnotherIsOneChange(t *testing.T) {
	old := `{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{"if":[true,"on",null]}}}}`
	new := `{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{"fractional":[["on",1],["off",1]]}}}}`
	got := DiffFlag("f", []byte(old), []byte(new))
	if len(got) != 1 || got[0].Path != "targeting" || got[0].Kind != Changed {
		t.Fatalf("DiffFlag = %v, want one change of targeting", got)
	}
}

func TestDiffDocumentsNamesARenamedFlag(t *testing.T) {
	old := `{"flags":{"x":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a"}}}`
	new := `{"flags":{"y":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a"}},"metadata":{"v":"1"}}`
	got := DiffDocuments([]byte(old), []byte(new))
	if len(got) != 3 || got[0].Path != "flags.x" || got[0].Kind != Removed || got[1].Path != "flags.y" || got[2].Path != "metadata" {
		t.Fatalf("DiffDocuments = %v", got)
	}
}
