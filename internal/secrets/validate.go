package secrets

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of one version.
const (
	// MaxPathLength bounds a secret's path, in bytes.
	MaxPathLength = 256
	// MaxKeys bounds the number of keys in one version.
	MaxKeys = 100
	// MaxValueBytes bounds one value: 64 KiB, room for a certificate chain.
	MaxValueBytes = 64 << 10
	// MaxDataBytes bounds all keys and values of one version together.
	MaxDataBytes = 512 << 10
)

var (
	pathPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$`)
	keyPattern  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

// ErrInvalid is matched by every *InvalidError.
var ErrInvalid = errors.New("invalid secret")

// Problem is one thing wrong with a request, by field.
type Problem struct {
	// Field is `path`, `version` or `data.<key>`.
	Field string
	// Message says what is wrong; it never quotes a value.
	Message string
}

// InvalidError lists every problem with a request; it matches ErrInvalid.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid secret: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// invalid builds an *InvalidError from field/message pairs.
func invalid(field, format string, args ...any) error {
	return &InvalidError{Problems: []Problem{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// CheckPath reports the problem with a secret path, or "".
func CheckPath(path string) string {
	switch {
	case path == "":
		return "is required"
	case len(path) > MaxPathLength:
		return fmt.Sprintf("is longer than %d bytes", MaxPathLength)
	case !pathPattern.MatchString(path):
		return fmt.Sprintf("%q is not a secret path: lowercase segments of letters, digits, '.', '_' and '-', separated by '/'", path)
	}
	return ""
}

// CheckKey reports the problem with a key name, or "".
func CheckKey(key string) string {
	switch {
	case key == "":
		return "a key name is required"
	case len(key) > 128:
		return "the key name is longer than 128 bytes"
	case !keyPattern.MatchString(key):
		return fmt.Sprintf("%q is not a key name: letters, digits, '_', '.' and '-', not starting with '.' or '-'", key)
	}
	return ""
}

// CheckData validates a path and the key/values of a new version. Messages
// name keys but never quote values.
func CheckData(path string, data map[string]string) error {
	var problems []Problem
	if msg := CheckPath(path); msg != "" {
		problems = append(problems, Problem{Field: "path", Message: msg})
	}
	if len(data) == 0 {
		problems = append(problems, Problem{Field: "data", Message: "at least one KEY=VALUE is required"})
	}
	if len(data) > MaxKeys {
		problems = append(problems, Problem{Field: "data", Message: fmt.Sprintf("has %d keys, at most %d are allowed", len(data), MaxKeys)})
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	total := 0
	for _, k := range keys {
		v := data[k]
		total += len(k) + len(v)
		switch {
		case CheckKey(k) != "":
			problems = append(problems, Problem{Field: "data", Message: CheckKey(k)})
		case len(v) > MaxValueBytes:
			problems = append(problems, Problem{Field: "data." + k, Message: fmt.Sprintf("the value is longer than %d bytes", MaxValueBytes)})
		case !utf8.ValidString(v):
			problems = append(problems, Problem{Field: "data." + k, Message: "the value is not UTF-8 text; encode binary values (base64)"})
		}
	}
	if total > MaxDataBytes {
		problems = append(problems, Problem{Field: "data", Message: fmt.Sprintf("keys and values add up to %d bytes, at most %d are allowed", total, MaxDataBytes)})
	}
	if len(problems) > 0 {
		return &InvalidError{Problems: problems}
	}
	return nil
}
