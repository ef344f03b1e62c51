package query

import (
	"errors"
	"strings"
	"testing"
)

// licenses is a schema like the licenses stream's.
var licenses = Schema{"name": TypeString, "billable": TypeBool, "days_inactive": TypeNumber,
	"profile": TypeObject, "teams": TypeArray, "as_of": TypeString}

func TestParseForRefusesTestsThatCanNeverHold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		pos  int
		want string
	}{
		{"billable = 'true'", 12, "billable is a boolean: compare it with true or false, not the string 'true'"},
		{"days_inactive > '30'", 17, "days_inactive is a number: compare it with a number such as 30, not the string '30'"},
		{"name = 5", 8, "name is a string: compare it with a string such as '5', not the number 5"},
		{"name IN ('a', true)", 15, "name is a string"},
		{"profile = 'x'", 11, "profile is an object"},
		{"teams = 'T1'", 9, "write teams HAS 'T1'"},
		{"days_inactive LIKE '3%'", 15, "LIKE matches strings, and days_inactive is a number"},
		{"name HAS 'a'", 6, "HAS looks into an array, and name is a string"},
		{"a = 1 AND name.first = 'x'", 11, "name is a string, so name.first names nothing"},
		{"billable.x IS NULL", 1, "billable is a boolean"},
	} {
		_, err := ParseFor(tc.in, licenses)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseFor(%q): got %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.want) {
			t.Errorf("ParseFor(%q): got position %d %q, want position %d and %q", tc.in, se.Pos, se.Msg, tc.pos, tc.want)
		}
		if _, err := Parse(tc.in); err != nil {
			t.Errorf("Parse(%q) without a schema: %v, want no error", tc.in, err)
		}
	}
}

func TestParseForAcceptsWhatCanHold(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"billable = true AND days_inactive > 30",
		"billable = null", "days_inactive != null", "profile IS NULL", "profile.email LIKE '%@x.com'",
		"profile.x.y = 1", "teams HAS 'T1'", "teams NOT HAS 5", "name LIKE 'a%' OR name IN ('a', 'b', null)",
		"undeclared = 'x' AND undeclared = 1 AND undeclared.sub = true", "_key = 'U1'", "_last_seen_at > '2024-01-01'",
		"NOT (billable = false OR days_inactive <= 90.5)",
	} {
		if _, err := ParseFor(in, licenses); err != nil {
			t.Errorf("ParseFor(%q): %v, want no error", in, err)
		}
	}
}

func TestParseType(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"string", "number", "boolean", "object", "array", "any"} {
		if _, err := ParseType(s); err != nil {
			t.Errorf("ParseType(%q): %v", s, err)
		}
	}
	if _, err := ParseType("bool"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseType(bool): got %v, want ErrInvalid", err)
	}
}
