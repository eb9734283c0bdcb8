package audit

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store/sqlite"
)

func TestRecorded(t *testing.T) {
	cases := []struct {
		call Call
		want bool
	}{
		{Call{Method: "POST", Status: 200, Privileged: true}, true},
		{Call{Method: "PUT", Status: 400, Privileged: true}, true},
		{Call{Method: "DELETE", Status: 204, Privileged: true}, true},
		{Call{Method: "PATCH", Status: 500, Privileged: true}, true},
		{Call{Method: "POST", Status: 200}, false}, // a flag evaluation
		{Call{Method: "POST", Status: 400}, false},
		{Call{Method: "GET", Status: 200, Privileged: true}, false},
		{Call{Method: "HEAD", Status: 200}, false},
		{Call{Method: "GET", Status: 404}, false},
		{Call{Method: "GET", Status: 200, Privileged: true, SecretRead: true}, true},
		{Call{Method: "GET", Status: 404, Privileged: true, SecretRead: true}, true},
		{Call{Method: "GET", Status: 401}, true},
		{Call{Method: "GET", Status: 403}, true},
		{Call{Method: "GET", Status: 429}, true},
		{Call{Method: "POST", Status: 401}, true},
		{Call{Method: "OPTIONS", Status: 401}, true},
	}
	for _, c := range cases {
		if got := Recorded(c.call); got != c.want {
			t.Errorf("Recorded(%+v) = %v, want %v", c.call, got, c.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"":                          {},
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"0s":                        now,
		"2030-05-01T00:00:00Z":      time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC),
		"2030-05-01T02:00:00+02:00": time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC),
	}
	for in, want := range good {
		if got, err := ParseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-1h", "d", "-3d", "2030-05-01", "99999999d"} {
		if _, err := ParseSince(bad, now); !errors.Is(err, ErrBadSince) {
			t.Errorf("ParseSince(%q) = %v, want ErrBadSince", bad, err)
		}
	}
}

func TestLogRecordsAndLists(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(st, func() time.Time { at = at.Add(time.Minute); return at })
	for _, res := range []string{"apps/web", "apps/api", "secrets/web/db"} {
		e, err := l.Record(ctx, Entry{Actor: "ci", Action: "PUT /x", Resource: res, Status: 200, Time: time.Unix(1, 0)})
		if err != nil || e.ID == 0 || !e.Time.Equal(at) {
			t.Fatalf("record = %+v, %v (the log dates entries itself)", e, err)
		}
	}
	got, err := l.List(ctx, Query{Resource: "apps", Limit: -5})
	if err != nil || len(got) != 2 || got[0].Resource != "apps/web" {
		t.Fatalf("list = %+v, %v", got, err)
	}
	got, err = l.List(ctx, Query{Since: at.Add(-30 * time.Second)})
	if err != nil || len(got) != 1 || got[0].Resource != "secrets/web/db" {
		t.Fatalf("list since = %+v, %v", got, err)
	}
}
