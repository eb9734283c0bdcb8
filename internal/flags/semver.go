package flags

import (
	"fmt"
	"strings"
)

// This file holds sem_ver, flagd's semantic-version comparison:
// {"sem_ver": [version, operator, version]} with the operators = != < <=
// > >= and ~ (same major and minor) and ^ (same major).
//
// Versions are read as flagd reads them: a number or other value is
// turned into text first ("1.2" for 1.2), one leading "v" or "V" is
// dropped, and "1" and "1.2" stand for 1.0.0 and 1.2.0. Build metadata
// ("+build") is ignored when comparing; a pre-release ("-alpha") sorts
// before its release. Anything else is not a version, and sem_ver is then
// null, so that targeting falls back to the default variant.

// semverOps lists sem_ver's operators, for messages.
const semverOps = `"=", "!=", "<", "<=", ">", ">=", "~", "^"`

// version is a parsed semantic version. Its numeric parts are kept as the
// digits written (without leading zeros), so that any size compares right.
type version struct {
	major, minor, patch string
	pre                 string // the pre-release, without "-"; "" when none
}

// parseVersion reads v as a semantic version.
func parseVersion(v any) (version, bool) {
	s, isString := v.(string)
	if !isString {
		s = fmt.Sprint(v)
	}
	if strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V") {
		s = s[1:]
	}
	var ver version
	var ok bool
	if ver.major, s, ok = versionNumber(s); !ok {
		return version{}, false
	}
	if s == "" {
		ver.minor, ver.patch = "0", "0"
		return ver, true
	}
	if ver.minor, s, ok = versionNumber(strings.TrimPrefix(s, ".")); !ok || s == "" {
		ver.patch = "0"
		return ver, ok && s == ""
	}
	if ver.patch, s, ok = versionNumber(strings.TrimPrefix(s, ".")); !ok {
		return version{}, false
	}
	if rest, found := strings.CutPrefix(s, "-"); found {
		end := strings.IndexByte(rest, '+')
		if end < 0 {
			end = len(rest)
		}
		ver.pre, s = rest[:end], rest[end:]
		if !identifiers(ver.pre, true) {
			return version{}, false
		}
	}
	if build, found := strings.CutPrefix(s, "+"); found {
		return ver, identifiers(build, false)
	}
	return ver, s == ""
}

// versionNumber reads a number at the start of s (digits, no leading
// zero) and returns it and the rest. A number must be followed by nothing
// or by ".", "-" or "+"; a "." must be followed by another number.
func versionNumber(s string) (string, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (s[0] == '0' && i > 1) {
		return "", s, false
	}
	rest := s[i:]
	if rest != "" && rest[0] != '.' && rest[0] != '-' && rest[0] != '+' {
		return "", s, false
	}
	if rest == "." {
		return "", s, false
	}
	return s[:i], rest, true
}

// identifiers checks dot-separated identifiers of [0-9A-Za-z-]; in a
// pre-release a numeric identifier must not have a leading zero.
func identifiers(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for _, r := range id {
			switch {
			case r >= '0' && r <= '9':
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// compareNumbers orders two digit strings without leading zeros.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		return compareInts(len(a), len(b))
	}
	return strings.Compare(a, b)
}

// compareInts orders two ints.
func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareVersions orders two versions as semver.org says.
func compareVersions(a, b version) int {
	if c := compareNumbers(a.major, b.major); c != 0 {
		return c
	}
	if c := compareNumbers(a.minor, b.minor); c != 0 {
		return c
	}
	if c := compareNumbers(a.patch, b.patch); c != 0 {
		return c
	}
	return comparePrerelease(a.pre, b.pre)
}

// comparePrerelease orders pre-releases; no pre-release sorts last.
func comparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, y := as[i], bs[i]
		if x == y {
			continue
		}
		xNum, yNum := isDigits(x), isDigits(y)
		switch {
		case xNum && yNum:
			return compareNumbers(x, y)
		case xNum:
			return -1
		case yNum:
			return 1
		}
		return strings.Compare(x, y)
	}
	return compareInts(len(as), len(bs))
}

// isDigits reports whether s is all ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// semverMatch applies operator op to a and b; ok is false for an unknown
// operator.
func semverMatch(a version, op string, b version) (matched, ok bool) {
	c := compareVersions(a, b)
	switch op {
	case "=":
		return c == 0, true
	case "!=":
		return c != 0, true
	case "<":
		return c < 0, true
	case "<=":
		return c <= 0, true
	case ">":
		return c > 0, true
	case ">=":
		return c >= 0, true
	case "~":
		return a.major == b.major && a.minor == b.minor, true
	case "^":
		return a.major == b.major, true
	}
	return false, false
}

// semverNode is sem_ver: [version, operator, version]; null unless it gets
// two versions and a known operator.
type semverNode struct{ args []node }

func (n semverNode) eval(st *state, data any) any {
	if len(n.args) != 3 {
		return nil
	}
	a, ok := parseVersion(n.args[0].eval(st, data))
	if !ok {
		return nil
	}
	op, ok := n.args[1].eval(st, data).(string)
	if !ok {
		return nil
	}
	b, ok := parseVersion(n.args[2].eval(st, data))
	if !ok {
		return nil
	}
	if matched, known := semverMatch(a, op, b); known {
		return matched
	}
	return nil
}

// semverOp compiles sem_ver. A literal that can never work (an unknown
// operator, a version that does not parse) is a sevLint problem.
func (c *compiler) semverOp(path string, raw any) (node, bool) {
	args, list, ok := c.operands(path, "sem_ver", raw, arity{min: 3, max: 3, wantArray: true})
	if len(list) != 3 {
		return semverNode{args}, ok
	}
	for _, i := range []int{0, 2} {
		switch v := list[i].(type) {
		case map[string]any:
		case string, float64:
			if _, valid := parseVersion(v); !valid {
				c.probs.add(sevLint, index(path, i), "%q is not a semantic version (like 1.2.3)", fmt.Sprint(v))
			}
		default:
			c.probs.add(sevLint, index(path, i), "sem_ver compares versions, got %s", jsonKind(v))
		}
	}
	if _, isRule := list[1].(map[string]any); !isRule {
		op, _ := list[1].(string)
		if _, known := semverMatch(version{}, op, version{}); !known {
			c.probs.add(sevLint, index(path, 1), "sem_ver operator must be one of %s, got %s", semverOps, describe(list[1]))
		}
	}
	return semverNode{args}, ok
}

// describe renders a literal for a message: strings quoted, others by type.
func describe(v any) string {
	if s, isString := v.(string); isString {
		return fmt.Sprintf("%q", s)
	}
	return jsonKind(v)
}
