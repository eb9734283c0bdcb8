package analysis

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// seq makes measurements of metric m of template t from verdict letters:
// S successful, F failed, I inconclusive, E error; one per second.
func seq(t, m, letters string) []Measurement {
	verdicts := map[rune]Verdict{'S': Successful, 'F': Failed, 'I': Inconclusive, 'E': Error}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []Measurement
	for i, l := range letters {
		v := verdicts[l]
		out = append(out, Measurement{Template: t, Metric: m, At: base.Add(time.Duration(i) * time.Second), Verdict: v, Message: strings.ToLower(string(v)) + " #" + string(rune('0'+i))})
	}
	return out
}

func TestMetricEvaluate(t *testing.T) {
	cases := []struct {
		name                                     string
		count, failures, inconclusives, errLimit int
		letters                                  string
		want                                     Verdict
		message                                  string
	}{
		{"nothing yet", 0, 0, 0, 4, "", Running, ""},
		{"successes run on without a count", 0, 0, 0, 4, "SSSSSS", Running, ""},
		{"first failure fails at limit 0", 0, 0, 0, 4, "SSF", Failed, "1 failed measurements, failureLimit 0: failed #2"},
		{"failures within the limit", 0, 2, 0, 4, "FSFS", Running, ""},
		{"failures past the limit", 0, 2, 0, 4, "FSFSF", Failed, "3 failed measurements, failureLimit 2: failed #4"},
		{"failures need not be consecutive", 0, 1, 0, 4, "FSSSSF", Failed, ""},
		{"inconclusive at limit 0 pauses", 0, 0, 0, 4, "SI", Inconclusive, "1 inconclusive measurements, inconclusiveLimit 0: inconclusive #1"},
		{"inconclusive within the limit", 3, 0, 2, 4, "IISSS", Successful, "3 of 3 measurements successful: successful #4"},
		{"inconclusives do not count towards count", 2, 0, 5, 4, "IISII", Running, ""},
		{"errors in a row", 0, 0, 0, 2, "SEEE", Error, "3 errors in a row, consecutiveErrorLimit 2: error #3"},
		{"errors interrupted", 0, 0, 0, 2, "EESEESEE", Running, ""},
		{"errors do not count towards count", 2, 0, 0, 4, "SEEE", Running, ""},
		{"count reached", 3, 0, 0, 4, "SSS", Successful, ""},
		{"count reached with tolerated failure", 3, 1, 0, 4, "SFS", Successful, "2 of 3 measurements successful: successful #2"},
		{"failure at the count's last measurement wins", 3, 0, 0, 4, "SSF", Failed, ""},
		{"later measurements are ignored", 1, 0, 0, 4, "SFFF", Successful, ""},
		{"failed before inconclusive", 0, 0, 0, 4, "FI", Failed, ""},
		{"inconclusive first decides", 0, 0, 0, 4, "IF", Inconclusive, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Metric{Template: "t", Name: "m", Count: tc.count, FailureLimit: tc.failures, InconclusiveLimit: tc.inconclusives, ConsecutiveErrorLimit: tc.errLimit}
			ms := append(seq("t", "m", tc.letters), seq("t", "other", "FFFFF")...)
			st := m.Evaluate(ms)
			if st.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", st.Verdict, st.Message, tc.want)
			}
			if tc.message != "" && st.Message != tc.message {
				t.Errorf("message %q, want %q", st.Message, tc.message)
			}
			if tc.want == Running && st.Message != "" {
				t.Errorf("a running metric has message %q", st.Message)
			}
			if st.Measurements > len(tc.letters) || (tc.letters != "" && st.Last == nil) {
				t.Errorf("counted %d of %q, last %v", st.Measurements, tc.letters, st.Last)
			}
		})
	}
}

func TestMetricStateCounts(t *testing.T) {
	m := &Metric{Template: "t", Name: "m", FailureLimit: 10, InconclusiveLimit: 10, ConsecutiveErrorLimit: 10}
	st := m.Evaluate(seq("t", "m", "SFIEESIE"))
	want := MetricState{Template: "t", Metric: "m", Verdict: Running, Measurements: 8, Successful: 2, Failed: 1, Inconclusive: 2, Errors: 3, ConsecutiveErrors: 1}
	st.Last = nil
	if st != want {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}
}

func TestAnalysisEvaluate(t *testing.T) {
	a := &Analysis{Metrics: []*Metric{
		{Template: "t", Name: "a", Count: 2, ConsecutiveErrorLimit: 1},
		{Template: "t", Name: "b", Count: 2, ConsecutiveErrorLimit: 1},
		{Template: "u", Name: "a", Count: 2, ConsecutiveErrorLimit: 1},
	}}
	cases := []struct {
		name       string
		a, b, ua   string
		want       Verdict
		messagePre string
	}{
		{"all running", "S", "", "S", Running, ""},
		{"all successful", "SS", "SS", "SS", Successful, "every metric is successful"},
		{"one still running", "SS", "S", "SS", Running, ""},
		{"inconclusive does not wait for the rest", "SS", "I", "", Inconclusive, "t/b: 1 inconclusive"},
		{"error beats inconclusive", "I", "EE", "", Error, "t/b: 2 errors in a row"},
		{"failed beats everything", "I", "EE", "F", Failed, "u/a: 1 failed"},
		{"same metric name in two templates", "SS", "SS", "F", Failed, "u/a:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := append(append(seq("t", "a", tc.a), seq("t", "b", tc.b)...), seq("u", "a", tc.ua)...)
			st := a.Evaluate(ms)
			if st.Verdict != tc.want || !strings.HasPrefix(st.Message, tc.messagePre) {
				t.Errorf("got %s %q, want %s %q…", st.Verdict, st.Message, tc.want, tc.messagePre)
			}
			if len(st.Metrics) != 3 || st.Metrics[2].Template != "u" {
				t.Errorf("metrics %+v", st.Metrics)
			}
		})
	}
}

func TestVerdictDone(t *testing.T) {
	for v, want := range map[Verdict]bool{Running: false, "": false, Successful: true, Failed: true, Inconclusive: true, Error: true} {
		if v.Done() != want {
			t.Errorf("%q.Done() = %v", v, !want)
		}
	}
}
func TestDue(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	s := time.Second
	a := &Analysis{Metrics: []*Metric{
		{Template: "t", Name: "fast", Interval: 5 * s, ConsecutiveErrorLimit: 4},
		{Template: "t", Name: "slow", Interval: 30 * s, InitialDelay: 10 * s, ConsecutiveErrorLimit: 4},
		{Template: "t", Name: "once", Interval: 5 * s, Count: 1, ConsecutiveErrorLimit: 4},
	}}
	m := func(name string, when time.Duration, v Verdict) Measurement {
		return Measurement{Template: "t", Metric: name, At: at(when), Verdict: v}
	}
	cases := []struct {
		name     string
		ms       []Measurement
		now      time.Duration
		want     string // due metric names
		wantNext time.Duration
		noNext   bool
	}{
		{"at the start", nil, 0, "fast once", 5 * s, false},
		{"the initial delay holds slow back", []Measurement{m("fast", 0, Successful), m("once", 0, Successful)}, 4 * s, "", 5 * s, false},
		{"fast again; once is done", []Measurement{m("fast", 0, Successful), m("once", 0, Successful)}, 5 * s, "fast", 10 * s, false},
		{"slow after its delay", []Measurement{m("fast", 0, Successful), m("once", 0, Successful), m("fast", 5*s, Successful)}, 10 * s, "fast slow", 15 * s, false},
		{"the next slow one", []Measurement{m("once", 0, Successful), m("slow", 10*s, Successful), m("fast", 38*s, Successful)}, 39 * s, "", 40 * s, false},
		{"a late wake-up measures once", []Measurement{m("once", 0, Successful), m("slow", 10*s, Successful), m("fast", 10*s, Successful)}, 300 * s, "fast slow", 305 * s, false},
		{"an inconclusive once is not measured again, and decides", []Measurement{m("once", 0, Inconclusive)}, 60 * s, "", 0, true},
		{"nothing once failed", []Measurement{m("fast", 0, Failed)}, 60 * s, "", 0, true},
		{"an error is retried after the interval", []Measurement{m("fast", 0, Error), m("once", 0, Error)}, 5 * s, "fast once", 10 * s, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			due, next := a.Due(start, tc.ms, at(tc.now))
			var names []string
			for _, d := range due {
				names = append(names, d.Name)
			}
			if got := strings.Join(names, " "); got != tc.want {
				t.Errorf("due %q, want %q", got, tc.want)
			}
			switch {
			case tc.noNext && !next.IsZero():
				t.Errorf("next %v, want none", next)
			case !tc.noNext && !next.Equal(at(tc.wantNext)):
				t.Errorf("next %v, want start+%v", next.Sub(start), tc.wantNext)
			}
		})
	}
}

func TestDueAllDone(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	a := &Analysis{Metrics: []*Metric{{Template: "t", Name: "m", Interval: time.Second, Count: 2}}}
	due, next := a.Due(start, seq("t", "m", "SS"), start.Add(time.Hour))
	if len(due) != 0 || !next.IsZero() {
		t.Errorf("a successful analysis has due %v next %v", due, next)
	}
}

func TestObserveIsEvaluateInParts(t *testing.T) {
	a := &Analysis{Metrics: []*Metric{
		{Template: "t", Name: "a", FailureLimit: 2, ConsecutiveErrorLimit: 1, Interval: time.Second},
		{Template: "t", Name: "b", Count: 4, InconclusiveLimit: 1, ConsecutiveErrorLimit: 1, Interval: time.Second},
	}}
	all := append(seq("t", "a", "SFSEFSSSF"), seq("t", "b", "SISSSF")...)
	want := a.Evaluate(all)
	for split := range len(all) + 1 {
		first := a.Observe(a.Start(), all[:split]...)
		firstCopy := first
		firstCopy.Metrics = append([]MetricState(nil), first.Metrics...)
		got := a.Observe(first, all[split:]...)
		if got.Verdict != want.Verdict || got.Message != want.Message {
			t.Fatalf("split at %d: %s %q, want %s %q", split, got.Verdict, got.Message, want.Verdict, want.Message)
		}
		for i := range got.Metrics {
			g, w := got.Metrics[i], want.Metrics[i]
			if g.Last == nil || w.Last == nil || !reflect.DeepEqual(*g.Last, *w.Last) {
				t.Fatalf("split at %d: last %+v, want %+v", split, g.Last, w.Last)
			}
			g.Last, w.Last = nil, nil
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("split at %d: metric %+v, want %+v", split, g, w)
			}
		}
		for i := range first.Metrics {
			if !reflect.DeepEqual(first.Metrics[i], firstCopy.Metrics[i]) {
				t.Fatalf("split at %d: Observe changed its input state", split)
			}
		}
	}
	if want.Verdict != Failed || !strings.HasPrefix(want.Message, "t/a: 3 failed measurements") {
		t.Errorf("verdict %s %q", want.Verdict, want.Message)
	}
}

func TestScheduleFromKeptState(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	a := &Analysis{Metrics: []*Metric{
		{Template: "t", Name: "a", Interval: 10 * time.Second, ConsecutiveErrorLimit: 4},
		{Template: "t", Name: "new", Interval: 10 * time.Second, InitialDelay: 5 * time.Second, ConsecutiveErrorLimit: 4},
	}}
	// A state kept from before the template gained the metric "new".
	kept := State{Verdict: Running, Metrics: []MetricState{{Template: "t", Metric: "a", Verdict: Running, Measurements: 1,
		Last: &Measurement{Template: "t", Metric: "a", At: start.Add(20 * time.Second), Verdict: Successful}}}}
	due, next := a.Schedule(start, kept, start.Add(25*time.Second))
	if len(due) != 1 || due[0].Name != "new" || !next.Equal(start.Add(30*time.Second)) {
		t.Errorf("due %v next %v", due, next.Sub(start))
	}
	st := a.Observe(kept, Measurement{Template: "t", Metric: "new", At: start.Add(25 * time.Second), Verdict: Successful})
	if len(st.Metrics) != 2 || st.Metrics[0].Measurements != 1 || st.Metrics[1].Measurements != 1 {
		t.Errorf("state %+v", st.Metrics)
	}
}
