package analysis

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultTemplateIsValid(t *testing.T) {
	tmpl := DefaultTemplate()
	if problems := tmpl.Spec.Validate("spec"); len(problems) != 0 {
		t.Fatalf("the default template does not validate: %v", problems)
	}
	tmpl.Spec.Metrics[0].Name = "changed"
	if DefaultTemplate().Spec.Metrics[0].Name != "errors" {
		t.Fatal("DefaultTemplate shares its spec between calls")
	}
}

func TestDefaultTemplateJudges(t *testing.T) {
	a, err := Compile(Target{App: "hello", Candidate: 2, Stable: 1}, []Template{DefaultTemplate()}, nil, Options{DefaultCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	stable := stats(5000, 50, 0.020) // 1 % errors, p95 = 0.02/1.5
	cases := []struct {
		name          string
		cand          RevisionStats
		errors, slow  Verdict
		messageSubstr string
	}{
		{"healthy with an unlucky window", stats(50, 3, 0.020), Successful, Successful, ""},
		{"30 % errors", stats(50, 15, 0.020), Failed, Successful, "candidate.errorRate = 0.3, stable.errorRate = 0.01"},
		{"10 % errors", stats(100, 10, 0.020), Failed, Successful, ""},
		{"200 ms slower", stats(60, 0, 0.320), Successful, Failed, "candidate.p95 = 0.2133"},
		{"too quiet", stats(49, 49, 1), Inconclusive, Inconclusive, "inconclusive: 49 requests, need 50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Result{Revisions: &Comparison{Candidate: tc.cand, Stable: stable}}
			e := a.metric(t, "errors").Judge(res, nil, time.Time{})
			l := a.metric(t, "latency").Judge(res, nil, time.Time{})
			if e.Verdict != tc.errors || l.Verdict != tc.slow {
				t.Fatalf("errors %s (%s), latency %s (%s); want %s, %s", e.Verdict, e.Message, l.Verdict, l.Message, tc.errors, tc.slow)
			}
			if !strings.Contains(e.Message+" "+l.Message, tc.messageSubstr) {
				t.Errorf("messages %q and %q lack %q", e.Message, l.Message, tc.messageSubstr)
			}
		})
	}
}
