package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// Output formats.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

// format returns the chosen output format, checked.
func (a *app) format() (string, error) {
	switch f := strings.ToLower(a.output); f {
	case "", outTable:
		return outTable, nil
	case outJSON, outYAML:
		return f, nil
	}
	return "", usagef("output format %q: use table, json or yaml", a.output)
}

// printData writes v as JSON or YAML.
func printData(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == outYAML {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// table writes aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)}
	t.row(toAny(headers)...)
	return t
}

func (t *table) row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, c)
	}
	fmt.Fprintln(t.tw)
}

func (t *table) flush() error { return t.tw.Flush() }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// age renders how long ago t was, the way people read it.
func age(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// dash shows empty values as "-".
func dash[T comparable](v T) any {
	var zero T
	if v == zero {
		return "-"
	}
	return v
}

// percent renders basis points as a percentage.
func percent(bp int) string {
	s := fmt.Sprintf("%.2f", float64(bp)/100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
