package spec

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem with a document, located by its field path, such
// as `spec.healthCheck.interval`.
type FieldError struct {
	// Resource names the document the problem is in (`App/hello`, or
	// `document 2` when it has no usable kind and name). Empty when the
	// request held one document.
	Resource string `json:"resource,omitempty"`
	// Path is the dotted path of the field, with list indexes in brackets
	// (`spec.strategy.canary.steps[2].setWeight`). Empty for the whole document.
	Path string `json:"field,omitempty"`
	// Message says what is wrong, for a human.
	Message string `json:"message"`
}

// String renders the error as `path: message`.
func (e FieldError) String() string {
	s := e.Message
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Resource != "" {
		s = e.Resource + ": " + s
	}
	return s
}

// ValidationError is a document (or a set of documents) that was rejected as
// a whole; Problems lists every reason.
type ValidationError struct {
	// Problems lists every problem found, in document order.
	Problems []FieldError
}

// Error lists every problem, one per line after the first.
func (e *ValidationError) Error() string {
	switch len(e.Problems) {
	case 0:
		return "invalid document"
	case 1:
		return "invalid: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// AsValidationError returns the ValidationError inside err, if any.
func AsValidationError(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}

// problems collects FieldErrors under a path prefix.
type problems struct {
	list []FieldError
}

// add records a problem at path.
func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// merge appends a batch of problems found elsewhere.
func (p *problems) merge(fe []FieldError) {
	p.list = append(p.list, fe...)
}

// err returns nil when nothing was found, else a *ValidationError.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// join builds a child path.
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// index builds a list-element path.
func index(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
