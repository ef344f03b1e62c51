package query

import (
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that its errors point into the
// input, and that what it accepts round-trips through String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a = 1",
		"profile.email LIKE '%@example.com' AND NOT is_admin = true",
		"(a = 1 OR b != 'x''y') AND c IN (1, -2.5, 'z', null, false) OR d IS NOT NULL",
		"_key > 'U1' AND _last_seen_at >= '2024-01-31T12:00:00Z' AND _deleted_at IS NULL",
		"x NOT LIKE 'a\\%b' AND y NOT IN ('é')",
		"NOT NOT (a <> 1)",
		"a IN (1",
		"'",
		"_source_updated_at = '2024-02-30'",
		"user_ids HAS 'U1' AND NOT (ids NOT HAS 1.0 OR x.y HAS true)",
		"a HAS null",
		"_key HAS 'x'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %v is not a *SyntaxError", src, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(src)+1 {
				t.Fatalf("Parse(%q): position %d is outside the input", src, se.Pos)
			}
			return
		}
		if e == nil {
			return // blank
		}
		s := e.String()
		if len(s) > MaxInput {
			return // String spaces things out; it may outgrow the limit
		}
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", src, s, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("Parse(%q) = %#v\nbut Parse(%q) = %#v", src, e, s, again)
		}
		if again.String() != s {
			t.Fatalf("String is not stable: %q, then %q", s, again.String())
		}
		if err := Validate(e); err != nil {
			t.Fatalf("Parse(%q) returned an expression Validate refuses: %v", src, err)
		}
		for _, f := range Fields(e) {
			if err := f.Validate(); err != nil {
				t.Fatalf("Parse(%q) names a field Validate refuses: %v", src, err)
			}
		}
	})
}
