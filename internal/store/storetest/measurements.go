package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
)

// measurementTests are the conformance cases of analysis measurements.
var measurementTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"MeasurementsRoundTrip", testMeasurementRoundTrip},
	{"MeasurementsFilter", testMeasurementFilter},
	{"MeasurementsLimitAndPages", testMeasurementLimit},
}

func testMeasurementRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)
	in := store.Measurement{
		App: "hello", Run: "2/step-1", Candidate: 2, Stable: 1,
		Template: "golden-signals", Metric: "errors", Time: at,
		Value:      json.RawMessage(`{"candidate":{"requests":412,"successRate":0.7},"stable":{"requests":9000,"successRate":1}}`),
		SampleSize: 412,
		Condition:  "successCondition: candidate.successRate >= stable.successRate - 0.01",
		Verdict:    "Failed",
		Message:    "failed: candidate.successRate >= stable.successRate - 0.01 is false (412 requests, candidate.successRate = 0.7, stable.successRate = 1)",
	}
	var stored, bare store.Measurement
	write(t, s, func(tx store.Tx) (err error) {
		if stored, err = tx.AppendMeasurement(ctx, in); err != nil {
			return err
		}
		bare, err = tx.AppendMeasurement(ctx, store.Measurement{App: "hello", Metric: "smoke", Verdict: "Error", Error: "connection refused"})
		return err
	})
	if stored.ID <= 0 || bare.ID <= stored.ID {
		t.Fatalf("IDs %d then %d, want positive and growing", stored.ID, bare.ID)
	}
	if bare.Time.IsZero() {
		t.Fatal("a measurement without a time got none")
	}
	var got []store.Measurement
	err := s.Read(ctx, func(tx store.Tx) (err error) {
		got, err = tx.ListMeasurements(ctx, store.MeasurementFilter{App: "hello"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d measurements, want 2", len(got))
	}
	want := in
	want.ID = stored.ID
	if !got[0].Time.Equal(at) {
		t.Errorf("time %v, want %v", got[0].Time, at)
	}
	got[0].Time = at
	if !equalJSON(t, got[0].Value, want.Value) {
		t.Errorf("value %s, want %s", got[0].Value, want.Value)
	}
	got[0].Value, want.Value = nil, nil
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got  %+v\nwant %+v", got[0], want)
	}
	if got[1].Value != nil || got[1].Error != "connection refused" || got[1].Verdict != "Error" {
		t.Errorf("bare measurement read back as %+v", got[1])
	}
}

func testMeasurementFilter(t *testing.T, s store.Store) {
	ctx := context.Background()
	rows := []store.Measurement{
		{App: "a", Run: "2/step-1", Candidate: 2, Stable: 1, Metric: "m"},
		{App: "a", Run: "2/background", Candidate: 2, Stable: 1, Metric: "m"},
		{App: "b", Run: "2/step-1", Candidate: 2, Stable: 1, Metric: "m"},
		{App: "a", Run: "3/step-1", Candidate: 3, Stable: 1, Metric: "m"},
		{App: "a", Run: "2/step-1", Candidate: 2, Stable: 1, Metric: "n"},
	}
	ids := make([]int64, len(rows))
	write(t, s, func(tx store.Tx) error {
		for i, m := range rows {
			m.Verdict = "Successful"
			got, err := tx.AppendMeasurement(ctx, m)
			if err != nil {
				return err
			}
			ids[i] = got.ID
		}
		return nil
	})
	cases := []struct {
		name string
		f    store.MeasurementFilter
		want []int // indexes into rows, oldest first
	}{
		{"all", store.MeasurementFilter{}, []int{0, 1, 2, 3, 4}},
		{"app", store.MeasurementFilter{App: "a"}, []int{0, 1, 3, 4}},
		{"run", store.MeasurementFilter{App: "a", Run: "2/step-1"}, []int{0, 4}},
		{"run across apps", store.MeasurementFilter{Run: "2/step-1"}, []int{0, 2, 4}},
		{"candidate", store.MeasurementFilter{App: "a", Candidate: 3}, []int{3}},
		{"after", store.MeasurementFilter{App: "a", AfterID: ids[1]}, []int{3, 4}},
		{"nothing", store.MeasurementFilter{App: "c"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []store.Measurement
			err := s.Read(ctx, func(tx store.Tx) (err error) {
				got, err = tx.ListMeasurements(ctx, tc.f)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []int64
			for _, m := range got {
				gotIDs = append(gotIDs, m.ID)
			}
			for _, i := range tc.want {
				wantIDs = append(wantIDs, ids[i])
			}
			if !reflect.DeepEqual(gotIDs, wantIDs) {
				t.Errorf("IDs %v, want %v", gotIDs, wantIDs)
			}
		})
	}
}

func testMeasurementLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for i := range 5 {
			if _, err := tx.AppendMeasurement(ctx, store.Measurement{App: "a", Metric: fmt.Sprintf("m%d", i), Verdict: "Successful"}); err != nil {
				return err
			}
		}
		return nil
	})
	var got []store.Measurement
	err := s.Read(ctx, func(tx store.Tx) (err error) {
		got, err = tx.ListMeasurements(ctx, store.MeasurementFilter{App: "a", Limit: 2})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Metric != "m3" || got[1].Metric != "m4" {
		t.Fatalf("limit 2 gave %+v, want m3 then m4", got)
	}
	// Paging forward from the first: the oldest two after it.
	var first []store.Measurement
	err = s.Read(ctx, func(tx store.Tx) (err error) {
		if first, err = tx.ListMeasurements(ctx, store.MeasurementFilter{App: "a", Limit: 1, AfterID: -1}); err != nil {
			return err
		}
		if len(first) != 1 {
			return fmt.Errorf("a page of 1 after ID -1 gave %d", len(first))
		}
		got, err = tx.ListMeasurements(ctx, store.MeasurementFilter{App: "a", Limit: 2, AfterID: first[0].ID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Metric != "m0" || len(got) != 2 || got[0].Metric != "m1" || got[1].Metric != "m2" {
		t.Fatalf("pages %+v then %+v, want m0 then m1 m2", first, got)
	}
}

// equalJSON reports whether two JSON texts hold the same value; a backend
// may store JSON in a normalised form.
func equalJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("stored value %q is not JSON: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
