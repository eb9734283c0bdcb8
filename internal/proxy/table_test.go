package proxy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validSpec() TableSpec {
	return TableSpec{
		App:       "hello",
		Listen:    "127.0.0.1:0",
		Stable:    Revision{Name: "1", Instances: []Instance{{ID: "a", Addr: "127.0.0.1:9001"}}},
		Candidate: &Revision{Name: "2", Instances: []Instance{{ID: "b", Addr: "127.0.0.1:9002"}}},
		Weight:    500,
	}
}

func TestNewTableValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*TableSpec)
		fields []string // field paths expected in the error; none means valid
	}{
		{"valid", func(*TableSpec) {}, nil},
		{"no candidate, no weight", func(s *TableSpec) { s.Candidate, s.Weight = nil, 0 }, nil},
		{"empty instances allowed", func(s *TableSpec) { s.Stable.Instances = nil }, nil},
		{"listen without host", func(s *TableSpec) { s.Listen = ":8080" }, nil},
		{"missing app", func(s *TableSpec) { s.App = "" }, []string{"app"}},
		{"bad listen", func(s *TableSpec) { s.Listen = "localhost" }, []string{"listen"}},
		{"bad listen port", func(s *TableSpec) { s.Listen = "127.0.0.1:99999" }, []string{"listen"}},
		{"weight too high", func(s *TableSpec) { s.Weight = 10001 }, []string{"weight"}},
		{"negative weight", func(s *TableSpec) { s.Weight = -1 }, []string{"weight"}},
		{"weight without candidate", func(s *TableSpec) { s.Candidate = nil }, []string{"weight"}},
		{"unnamed revision", func(s *TableSpec) { s.Stable.Name = "" }, []string{"stable.name"}},
		{"same names", func(s *TableSpec) { s.Candidate.Name = "1" }, []string{"candidate.name"}},
		{"duplicate instance", func(s *TableSpec) { s.Candidate.Instances[0].ID = "a" }, []string{"candidate.instances[0].id"}},
		{"instance without id", func(s *TableSpec) { s.Stable.Instances[0].ID = "" }, []string{"stable.instances[0].id"}},
		{"instance port 0", func(s *TableSpec) { s.Stable.Instances[0].Addr = "127.0.0.1:0" }, []string{"stable.instances[0].addr"}},
		{"instance without host", func(s *TableSpec) { s.Stable.Instances[0].Addr = ":80" }, []string{"stable.instances[0].addr"}},
		{"header and cookie", func(s *TableSpec) { s.Stickiness = Stickiness{Header: "X-User", Cookie: "u"} }, []string{"stickiness"}},
		{"bad cookie name", func(s *TableSpec) { s.Stickiness = Stickiness{Cookie: "a b"} }, []string{"stickiness.cookie"}},
		{"override needs one source", func(s *TableSpec) {
			s.Overrides = []Override{{Value: "x", Target: TargetCandidate}}
		}, []string{"overrides[0]"}},
		{"override needs value and target", func(s *TableSpec) {
			s.Overrides = []Override{{Header: "X-Canary"}}
		}, []string{"overrides[0].value", "overrides[0].target"}},
		{"unknown policy", func(s *TableSpec) { s.Policy = 7 }, []string{"policy"}},
		{"negative drain", func(s *TableSpec) { s.DrainTimeout = -time.Second }, []string{"drainTimeout"}},
		{"several problems at once", func(s *TableSpec) { s.App, s.Weight = "", 20000 }, []string{"app", "weight"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.change(&spec)
			_, err := NewTable(spec)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidTable) {
				t.Fatalf("error %v does not match ErrInvalidTable", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v holds no FieldError", err)
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f+": ") {
					t.Errorf("error %q does not name field %q", err, f)
				}
			}
		})
	}
}

func TestNewTableIsImmutable(t *testing.T) {
	spec := validSpec()
	tb, err := NewTable(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Stable.Instances[0].Addr = "127.0.0.1:1"
	spec.Candidate.Name = "changed"
	got := tb.Spec()
	if got.Stable.Instances[0].Addr != "127.0.0.1:9001" || got.Candidate.Name != "2" {
		t.Fatalf("table changed with its spec: %+v", got)
	}
	got.Stable.Instances[0].Addr = "127.0.0.1:2"
	if tb.Spec().Stable.Instances[0].Addr != "127.0.0.1:9001" {
		t.Fatal("table changed through Spec()")
	}
	if tb.DrainTimeout() != DefaultDrainTimeout {
		t.Fatalf("drain timeout default = %v", tb.DrainTimeout())
	}
}

func TestOwnCookieName(t *testing.T) {
	tests := map[string]string{
		"hello":       "sluice_hello",
		"my-app":      "sluice_my-app",
		"team/app v2": "sluice_team_app_v2",
	}
	for app, want := range tests {
		if got := OwnCookieName(app); got != want {
			t.Errorf("OwnCookieName(%q) = %q, want %q", app, got, want)
		}
	}
}

func TestNamesOfEnums(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{RoundRobin.String(), "roundRobin"},
		{LeastRequests.String(), "leastRequests"},
		{Policy(9).String(), "Policy(9)"},
		{TargetStable.String(), "stable"},
		{TargetCandidate.String(), "candidate"},
		{Target(0).String(), "Target(0)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
