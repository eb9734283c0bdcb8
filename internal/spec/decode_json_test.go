package spec

import (
	"reflect"
	"testing"
)

func TestJSONDocumentsDecodeAsYAMLWould(t *testing.T) {
	for _, in := range []string{
		`{"a": 1, "b": [1.5, "x", true, null, -3, 1e3], "c": {"d": 18446744073709551615, "e": {}}}`,
		"  {\"a\": 1}\n",
	} {
		fast, ok := splitJSONDocuments([]byte(in))
		if !ok {
			t.Fatalf("%s: not taken as JSON", in)
		}
		slow, err := splitDocuments(append([]byte("# yaml\n"), in...))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("JSON gave %#v, YAML %#v", fast, slow)
		}
	}
	for _, notJSON := range []string{"a: 1", `{"a": 1}` + "\n---\n" + `{"b": 2}`, `{"a": 1} {"b": 2}`, `{"a": `, "[1]", "", "null"} {
		if _, ok := splitJSONDocuments([]byte(notJSON)); ok {
			t.Errorf("%q was taken as one JSON document", notJSON)
		}
	}
}
