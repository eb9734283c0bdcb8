package apiv1

import (
	"fmt"
	"strings"
)

// ProblemContentType is the media type of error bodies (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an error answer (RFC 9457 problem details).
type Problem struct {
	// Type is a URI naming the problem type; "about:blank" when generic.
	Type string `json:"type"`
	// Title is a short summary of the problem type.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// RequestID ties the answer to the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Errors lists every invalid field, for validation problems.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one invalid field.
type FieldError struct {
	// Resource names the document (`App/hello`) when a request held several.
	Resource string `json:"resource,omitempty"`
	// Field is the field's path, such as spec.healthCheck.interval.
	Field string `json:"field,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// String renders the error as `resource: field: message`.
func (f FieldError) String() string {
	s := f.Message
	if f.Field != "" {
		s = f.Field + ": " + s
	}
	if f.Resource != "" {
		s = f.Resource + ": " + s
	}
	return s
}

// Error makes a Problem an error, listing its field errors.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, e := range p.Errors {
		b.WriteString("\n  ")
		b.WriteString(e.String())
	}
	return b.String()
}
