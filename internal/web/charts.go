package web

import (
	"fmt"
	"math"
	"strings"

	"sluice.dev/sluice/internal/analysis"
	"sluice.dev/sluice/pkg/apiv1"
)

// Chart sizes, in SVG user units (the SVG scales to its box).
const (
	chartWidth, chartHeight = 320, 96
	chartPad                = 6
	splitWidth              = 1000
)

// split is the traffic-split bar: stable's share and the candidate's.
type split struct {
	// StableWidth and CandidateWidth are the bars' widths out of
	// splitWidth.
	StableWidth, CandidateWidth int
	// Stable and Candidate are revision numbers (Candidate 0: none);
	// Weight is the candidate's share in basis points.
	Stable, Candidate, Weight int
	// Label reads out the split, for screen readers and the title.
	Label string
}

// splitOf draws an app's traffic split from its status.
func splitOf(st apiv1.AppStatus) split {
	s := split{Stable: st.StableRevision, Candidate: st.CandidateRevision, Weight: st.Weight}
	if st.CandidateRevision == 0 {
		s.Weight = 0
	}
	s.CandidateWidth = s.Weight * splitWidth / 10000
	if s.Weight > 0 && s.CandidateWidth == 0 {
		s.CandidateWidth = 1 // 0.01 % is still visible
	}
	s.StableWidth = splitWidth - s.CandidateWidth
	switch {
	case s.Stable == 0 && s.Candidate == 0:
		s.Label = "no revision serves yet"
	case s.Candidate == 0:
		s.Label = fmt.Sprintf("revision %d serves all traffic", s.Stable)
	default:
		s.Label = fmt.Sprintf("revision %d: %s, revision %d: %s", s.Stable, formatBasisPoints(10000-s.Weight), s.Candidate, formatBasisPoints(s.Weight))
	}
	return s
}

// chart is one metric's measurements against its limit.
type chart struct {
	// Title names the metric; Condition is its success condition.
	Title, Condition string
	// Measured and Limit are the condition's sides, as written.
	Measured, Limit string
	// Verdict is the metric's verdict so far.
	Verdict string
	// Points are the measurements; LimitLine is the limit's polyline.
	Points    []chartPoint
	LimitLine string
	// Top and Bottom label the value axis.
	Top, Bottom string
	// Last reads out the latest measurement.
	Last string
	// Width and Height are the SVG's view box.
	Width, Height int
}

// chartPoint is one measurement in a chart.
type chartPoint struct {
	X, Y float64
	// Verdict colours the point; Label is its tooltip.
	Verdict, Label string
}

// chartOf draws one metric's measurements, oldest first. A measurement
// whose condition is one comparison (`candidate.p99 <= stable.p99 * 1.2`)
// is drawn as its measured side, with its limit as a line; others (and
// errors) only as their verdict, on the axis.
func chartOf(title string, ms []apiv1.StoredMeasurement, verdict string) chart {
	c := chart{Title: title, Verdict: verdict, Width: chartWidth, Height: chartHeight}
	type side struct {
		ok          bool
		left, right float64
	}
	sides := make([]side, len(ms))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, m := range ms {
		if c.Condition == "" {
			c.Condition = m.Condition
		}
		t, ok := analysis.ThresholdOf(m.Condition, m.Value)
		if !ok {
			continue
		}
		c.Measured, c.Limit = t.LeftExpr, t.RightExpr
		sides[i] = side{true, t.Left, t.Right}
		lo, hi = math.Min(lo, math.Min(t.Left, t.Right)), math.Max(hi, math.Max(t.Left, t.Right))
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		pad := math.Max(math.Abs(hi)*0.1, 0.001)
		lo, hi = lo-pad, hi+pad
	}
	c.Top, c.Bottom = formatNumber(hi), formatNumber(lo)
	x := func(i int) float64 {
		if len(ms) == 1 {
			return chartWidth / 2
		}
		return chartPad + float64(i)*(chartWidth-2*chartPad)/float64(len(ms)-1)
	}
	y := func(v float64) float64 {
		return chartHeight - chartPad - (v-lo)/(hi-lo)*(chartHeight-2*chartPad)
	}
	var line []string
	for i, m := range ms {
		p := chartPoint{X: x(i), Y: chartHeight - chartPad, Verdict: strings.ToLower(m.Verdict)}
		label := m.At.UTC().Format("15:04:05") + " " + m.Verdict
		if sides[i].ok {
			p.Y = y(sides[i].left)
			line = append(line, fmt.Sprintf("%.1f,%.1f", p.X, y(sides[i].right)))
			label += fmt.Sprintf(": %s (limit %s)", formatNumber(sides[i].left), formatNumber(sides[i].right))
		}
		if m.Message != "" {
			label += " — " + m.Message
		} else if m.Error != "" {
			label += " — " + m.Error
		}
		p.Label = label
		c.Points = append(c.Points, p)
		c.Last = label
	}
	c.LimitLine = strings.Join(line, " ")
	return c
}
