package flags

import (
	"fmt"
	"strconv"
	"strings"
)

// FieldError is one problem found in a flag-set document, with where it is.
type FieldError struct {
	// Path locates the problem inside the document: object members are
	// joined with dots and array elements are indexed, as in
	// `flags.new-checkout.defaultVariant` or
	// `flags.beta.targeting.if[0].sem_ver[1]`. It is empty when the problem
	// concerns the document as a whole.
	Path string
	// Message says what is wrong, for a human.
	Message string
}

// String renders the problem as "path: message".
func (e FieldError) String() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError is the error Parse and ParseLenient return for a document
// they reject. It lists every problem found, not only the first, so that a
// user can fix them all at once. Nothing is loaded when it is returned.
type ValidationError struct {
	// Problems are the problems found, in the order they were found: the
	// document's own members, then each flag (by key, or in array order
	// for the array form) with the evaluators it uses, then evaluators no
	// flag uses.
	Problems []FieldError
}

// Error lists all problems on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid flag set")
	switch len(e.Problems) {
	case 0:
		return b.String()
	case 1:
		b.WriteString(": ")
	default:
		fmt.Fprintf(&b, " (%d problems): ", len(e.Problems))
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// severity says what a problem costs in each parsing mode.
type severity int

const (
	// sevLint marks a violation of the flagd schema that still has a
	// defined meaning at evaluation time (flagd evaluates it, usually to
	// null). Parse rejects it; ParseLenient keeps flagd's behaviour.
	sevLint severity = iota
	// sevFlag marks a targeting rule that cannot be compiled at all (an
	// unknown operator, a $ref to nothing). Parse rejects it; ParseLenient
	// keeps the flag, which then evaluates to PARSE_ERROR as in flagd.
	sevFlag
	// sevDocument marks a problem that leaves no flag set to build: not
	// JSON, no flags, a flag without valid state or variants. Both modes
	// reject it.
	sevDocument
)

// problem is a FieldError with its severity.
type problem struct {
	FieldError
	sev severity
}

// problems collects what a parse finds, in the order it finds it.
type problems struct {
	list []problem
}

// add records a problem at path.
func (p *problems) add(sev severity, path, format string, args ...any) {
	p.list = append(p.list, problem{
		FieldError: FieldError{Path: path, Message: fmt.Sprintf(format, args...)},
		sev:        sev,
	})
}

// worst returns the highest severity recorded, and false when there is none.
func (p *problems) worst() (severity, bool) {
	if len(p.list) == 0 {
		return 0, false
	}
	w := sevLint
	for _, q := range p.list {
		w = max(w, q.sev)
	}
	return w, true
}

// fieldErrors returns the problems of at least severity min.
func (p *problems) fieldErrors(min severity) []FieldError {
	var out []FieldError
	for _, q := range p.list {
		if q.sev >= min {
			out = append(out, q.FieldError)
		}
	}
	return out
}

// mark returns a position in the list, to learn later whether problems of
// some severity were added after it.
func (p *problems) mark() int { return len(p.list) }

// since reports whether a problem of at least severity min was added after
// mark m, and returns the first such message.
func (p *problems) since(m int, min severity) (string, bool) {
	for _, q := range p.list[m:] {
		if q.sev >= min {
			return q.String(), true
		}
	}
	return "", false
}

// member returns the path of an object member; an empty name is shown as
// "".
func member(path, name string) string {
	if name == "" {
		name = `""`
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// index returns the path of an array element.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// jsonKind names the JSON type of a decoded value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// quoteList renders names as a quoted, comma-separated list.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
