package flags

import "testing"

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   any
		want version
		ok   bool
	}{
		{"1.2.3", version{"1", "2", "3", ""}, true},
		{"v1.2.3", version{"1", "2", "3", ""}, true},
		{"V1.2.3", version{"1", "2", "3", ""}, true},
		{"1.2", version{"1", "2", "0", ""}, true},
		{"1", version{"1", "0", "0", ""}, true},
		{1.2, version{"1", "2", "0", ""}, true},
		{2.0, version{"2", "0", "0", ""}, true},
		{int64(3), version{"3", "0", "0", ""}, true},
		{"1.0.0-alpha.1", version{"1", "0", "0", "alpha.1"}, true},
		{"1.0.0-x-y.0+build.7", version{"1", "0", "0", "x-y.0"}, true},
		{"1.0.0+20130313144700", version{"1", "0", "0", ""}, true},
		{"10.20.30", version{"10", "20", "30", ""}, true},
		{"99999999999999999999.0.0", version{"99999999999999999999", "0", "0", ""}, true},
		{"2.0.0.0", version{}, false},
		{"01.2.3", version{}, false},
		{"1.02.3", version{}, false},
		{"1.2.3-01", version{}, false},
		{"1.2.3-", version{}, false},
		{"1.2.3+", version{}, false},
		{"1.2.3-a..b", version{}, false},
		{"1.2.3-a_b", version{}, false},
		{"1.2-pre", version{}, false},
		{"1-pre", version{}, false},
		{"1.", version{}, false},
		{"1.2.", version{}, false},
		{"vv1.2.3", version{}, false},
		{"", version{}, false},
		{"v", version{}, false},
		{"not-a-version", version{}, false},
		{true, version{}, false},
		{nil, version{}, false},
		{1e21, version{}, false},
	}
	for _, tt := range tests {
		got, ok := parseVersion(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseVersion(%#v) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	// semver.org's precedence example, in ascending order.
	ordered := []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0", "10.0.0",
	}
	for i := range ordered {
		for j := range ordered {
			a, _ := parseVersion(ordered[i])
			b, _ := parseVersion(ordered[j])
			if got, want := compareVersions(a, b), compareInts(i, j); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	a, _ := parseVersion("1.0.0+a")
	b, _ := parseVersion("1.0.0+b")
	if compareVersions(a, b) != 0 {
		t.Error("build metadata changed the order")
	}
}

func TestSemverOperators(t *testing.T) {
	tests := []struct {
		a, op, b string
		want     bool
		known    bool
	}{
		{"1.2.3", "=", "1.2.3", true, true},
		{"1.2.3", "!=", "1.2.4", true, true},
		{"1.2.3", "<", "1.2.4", true, true},
		{"1.2.3", "<=", "1.2.3", true, true},
		{"1.2.4", ">", "1.2.3", true, true},
		{"1.2.3", ">=", "1.2.4", false, true},
		{"1.2.9", "~", "1.2.0", true, true},
		{"1.3.0", "~", "1.2.0", false, true},
		{"1.9.9", "^", "1.0.0", true, true},
		{"0.9.0", "^", "1.0.0", false, true},
		{"1.2.3", "==", "1.2.3", false, false},
		{"1.2.3", "*", "1.2.3", false, false},
	}
	for _, tt := range tests {
		a, _ := parseVersion(tt.a)
		b, _ := parseVersion(tt.b)
		got, known := semverMatch(a, tt.op, b)
		if got != tt.want || known != tt.known {
			t.Errorf("%s %s %s = %v, %v; want %v, %v", tt.a, tt.op, tt.b, got, known, tt.want, tt.known)
		}
	}
}
