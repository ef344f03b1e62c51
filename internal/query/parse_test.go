package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tree renders e fully parenthesised, to show how it grouped.
func tree(e Expr) string {
	switch e := e.(type) {
	case *And:
		return "(and " + trees(e.Terms) + ")"
	case *Or:
		return "(or " + trees(e.Terms) + ")"
	case *Not:
		return "(not " + tree(e.X) + ")"
	case nil:
		return "<nil>"
	}
	return "[" + e.String() + "]"
}

func trees(es []Expr) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, tree(e))
	}
	return strings.Join(parts, " ")
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"a = 1 OR b = 2 AND c = 3", "(or [a = 1] (and [b = 2] [c = 3]))"},
		{"a = 1 AND b = 2 OR c = 3", "(or (and [a = 1] [b = 2]) [c = 3])"},
		{"NOT a = 1 AND b = 2", "(and (not [a = 1]) [b = 2])"},
		{"NOT a = 1 OR b = 2", "(or (not [a = 1]) [b = 2])"},
		{"NOT (a = 1 OR b = 2)", "(not (or [a = 1] [b = 2]))"},
		{"(a = 1 OR b = 2) AND c = 3", "(and (or [a = 1] [b = 2]) [c = 3])"},
		{"a = 1 AND (b = 2 AND c = 3)", "(and [a = 1] [b = 2] [c = 3])"}, // flattened
		{"a = 1 OR (b = 2 OR c = 3) OR d = 4", "(or [a = 1] [b = 2] [c = 3] [d = 4])"},
		{"NOT NOT a = 1", "(not (not [a = 1]))"},
		{"((a = 1))", "[a = 1]"},
		{"a = 1 or b = 2 and not c = 3", "(or [a = 1] (and [b = 2] (not [c = 3])))"}, // keywords in any case
		{"a NOT IN (1) AND b NOT LIKE 'x' OR c IS NOT NULL", "(or (and [a NOT IN (1)] [b NOT LIKE 'x']) [c IS NOT NULL])"},
		{"NOT a HAS 1 OR b NOT HAS 'x' AND c = 1", "(or (not [a HAS 1]) (and [b NOT HAS 'x'] [c = 1]))"},
		{"NOT (ids HAS 'a' OR ids HAS 'b')", "(not (or [ids HAS 'a'] [ids HAS 'b']))"},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := tree(e); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestOperators(t *testing.T) {
	t.Parallel()
	name := Field{Path: []string{"profile", "real_name"}}
	for _, tc := range []struct {
		in   string
		want Expr
	}{
		{"profile.real_name = 'Ada'", &Compare{name, Eq, Value{Kind: KindString, Text: "Ada"}}},
		{"profile.real_name != 'it''s'", &Compare{name, Ne, Value{Kind: KindString, Text: "it's"}}},
		{"profile.real_name <> ''", &Compare{name, Ne, Value{Kind: KindString}}},
		{"profile.real_name < 10", &Compare{name, Lt, Value{Kind: KindNumber, Text: "10"}}},
		{"profile.real_name <= -2.50", &Compare{name, Le, Value{Kind: KindNumber, Text: "-2.50"}}},
		{"profile.real_name > 0", &Compare{name, Gt, Value{Kind: KindNumber, Text: "0"}}},
		{"profile.real_name >= 1.5", &Compare{name, Ge, Value{Kind: KindNumber, Text: "1.5"}}},
		{"profile.real_name = TRUE", &Compare{name, Eq, Value{Kind: KindBool, Bool: true}}},
		{"profile.real_name != false", &Compare{name, Ne, Value{Kind: KindBool}}},
		{"profile.real_name = Null", &Compare{name, Eq, Value{Kind: KindNull}}},
		{"profile.real_name LIKE 'a%\\_b'", &Like{Field: name, Pattern: `a%\_b`}},
		{"profile.real_name not like '%x'", &Like{Field: name, Pattern: "%x", Not: true}},
		{"profile.real_name IN ('a', 1, true, null)", &In{Field: name, Values: []Value{{Kind: KindString, Text: "a"}, {Kind: KindNumber, Text: "1"}, {Kind: KindBool, Bool: true}, {Kind: KindNull}}}},
		{"profile.real_name NOT IN (2)", &In{Field: name, Values: []Value{{Kind: KindNumber, Text: "2"}}, Not: true}},
		{"profile.real_name HAS 'U123'", &Has{Field: name, Value: Value{Kind: KindString, Text: "U123"}}},
		{"profile.real_name has 'it''s'", &Has{Field: name, Value: Value{Kind: KindString, Text: "it's"}}},
		{"profile.real_name HAS ''", &Has{Field: name, Value: Value{Kind: KindString}}},
		{"profile.real_name HAS 1.0", &Has{Field: name, Value: Value{Kind: KindNumber, Text: "1.0"}}},
		{"profile.real_name HAS -0", &Has{Field: name, Value: Value{Kind: KindNumber, Text: "-0"}}},
		{"profile.real_name HAS True", &Has{Field: name, Value: Value{Kind: KindBool, Bool: true}}},
		{"profile.real_name NOT HAS false", &Has{Field: name, Value: Value{Kind: KindBool}, Not: true}},
		{"profile.real_name not has 'U1'", &Has{Field: name, Value: Value{Kind: KindString, Text: "U1"}, Not: true}},
		{"user_ids HAS '2024-01-01'", &Has{Field: Field{Path: []string{"user_ids"}}, Value: Value{Kind: KindString, Text: "2024-01-01"}}}, // a string, not a time
		{"a.has HAS 'x'", &Has{Field: Field{Path: []string{"a", "has"}}, Value: Value{Kind: KindString, Text: "x"}}},
		{"profile.real_name IS NULL", &IsNull{Field: name}},
		{"profile.real_name is not null", &IsNull{Field: name, Not: true}},
		{"_key >= 'U1'", &Compare{Field{Path: []string{"_key"}, Meta: true}, Ge, Value{Kind: KindString, Text: "U1"}}},
		{"_team_id LIKE 'T%'", &Like{Field: Field{Path: []string{"_team_id"}, Meta: true}, Pattern: "T%"}},
		{"_deleted_at IS NULL", &IsNull{Field: Field{Path: []string{"_deleted_at"}, Meta: true}}},
		{"_last_seen_at > '2024-01-31'", &Compare{Field{Path: []string{"_last_seen_at"}, Meta: true}, Gt,
			Value{Kind: KindTime, Text: "2024-01-31", Millis: time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC).UnixMilli()}}},
		{"_source_updated_at < '2024-01-31T12:00:00.5+01:00'", &Compare{Field{Path: []string{"_source_updated_at"}, Meta: true}, Lt,
			Value{Kind: KindTime, Text: "2024-01-31T12:00:00.5+01:00", Millis: time.Date(2024, 1, 31, 11, 0, 0, 500e6, time.UTC).UnixMilli()}}},
		{"_first_seen_at IN ('2024-01-01', null)", &In{Field: Field{Path: []string{"_first_seen_at"}, Meta: true},
			Values: []Value{{Kind: KindTime, Text: "2024-01-01", Millis: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}, {Kind: KindNull}}}},
		{"a.in.null = 1", &Compare{Field{Path: []string{"a", "in", "null"}}, Eq, Value{Kind: KindNumber, Text: "1"}}}, // keywords as later segments
		{"x._y = 'z'", &Compare{Field{Path: []string{"x", "_y"}}, Eq, Value{Kind: KindString, Text: "z"}}},
		{"name = 'Émile'", &Compare{Field{Path: []string{"name"}}, Eq, Value{Kind: KindString, Text: "Émile"}}},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		again, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Parse(%q).String() = %q, which parses to %#v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestBlankIsNoCondition(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "  \t\n"} {
		e, err := Parse(in)
		if e != nil || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, nil", in, e, err)
		}
		o, err := ParseOrder(in)
		if o != nil || err != nil {
			t.Errorf("ParseOrder(%q) = %v, %v; want nil, nil", in, o, err)
		}
		f, err := ParseFields(in)
		if f != nil || err != nil {
			t.Errorf("ParseFields(%q) = %v, %v; want nil, nil", in, f, err)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // the whole Error()
	}{
		{"is_admin = AND x = 1", `position 12: expected a value after "=", found "AND"`},
		{"profile.email = AND", `position 17: expected a value after "=", found "AND"`},
		{"a = ", `position 5: expected a value after "=", found the end of input`},
		{"a = 1 b = 2", `position 7: expected AND, OR or the end of input, found "b"`},
		{"(a = 1", `position 7: expected AND, OR or ")" to close the "(" at position 1, found the end of input`},
		{"a = 1)", `position 6: expected AND, OR or the end of input, found ")"`},
		{"= 1", `position 1: expected a condition (a field, NOT or "("), found "="`},
		{"a 1", `position 3: expected an operator (=, !=, <, <=, >, >=, LIKE, IN, HAS or IS) after "a", found "1"`},
		{"a IS 1", `position 6: expected NULL after "IS", found "1"`},
		{"a IS NOT TRUE", `position 10: expected NULL after "IS NOT", found "TRUE"`},
		{"a NOT = 1", `position 7: expected LIKE, IN or HAS after "NOT", found "="`},
		{"a HAS", `position 6: expected a value after HAS, found the end of input`},
		{"a HAS ('x')", `position 7: expected a value after HAS, found "("`},
		{"a HAS 'x', 'y'", `position 10: expected AND, OR or the end of input, found ","`},
		{"a HAS b", `position 7: expected a value after HAS, found "b"`},
		{"a HAS null", `position 7: HAS takes a string, a number, true or false, not null (write IS NULL to test the field itself)`},
		{"a NOT HAS NULL", `position 11: HAS takes a string, a number, true or false, not null (write IS NULL to test the field itself)`},
		{"tags = 'é' OR tags HAS null", `position 24: HAS takes a string, a number, true or false, not null (write IS NULL to test the field itself)`},
		{"_key HAS 'U1'", `position 6: HAS looks into an array of the data, and _key is a meta field, never an array`},
		{"_deleted_at NOT HAS '2024-01-01'", `position 17: HAS looks into an array of the data, and _deleted_at is a meta field, never an array`},
		{"has HAS 'x'", `position 1: expected a condition (a field, NOT or "("), found "has"`},
		{"a HAS HAS 1", `position 7: expected a value after HAS, found "HAS"`},
		{"a IN 1", `position 6: expected "(" after IN, found "1"`},
		{"a IN ()", `position 7: expected a value, found ")"`},
		{"a IN (1 2)", `position 9: expected "," or ")", found "2"`},
		{"a LIKE 5", `position 8: expected a string pattern after LIKE, found "5"`},
		{`a LIKE 'x\y'`, `position 8: in a LIKE pattern a backslash escapes only %, _ or \ (write \\ for a backslash)`},
		{"a = 'open", `position 5: a string that is never closed (a quote inside one is written '')`},
		{"a = 1 # x", `position 7: unexpected character '#'`},
		{"né = 1", `position 2: unexpected character 'é'`}, // names are ASCII; the column counts characters
		{"name = 'Émile' AND = 2", `position 20: expected a condition (a field, NOT or "("), found "="`},
		{"a = -x", `position 5: expected a digit after "-"`},
		{"a = 1.", `position 6: expected a digit after the "." of a number`},
		{"a. = 1", `position 2: expected a name after "."`},
		{"a < null", `position 5: < does not take null: only = and != do (or write IS NULL)`},
		{"a >= true", `position 6: booleans compare only with = and !=, not >=`},
		{"_id = 'x'", `position 1: "_id" is not a meta field: a name beginning with _ is one of _key, _team_id, _first_seen_at, _last_seen_at, _source_updated_at or _deleted_at`},
		{"_key.x = 'x'", `position 1: "_key.x" is not a meta field: a name beginning with _ is one of _key, _team_id, _first_seen_at, _last_seen_at, _source_updated_at or _deleted_at`},
		{"_key = 5", `position 8: _key is a string: compare it with a string, not 5`},
		{"_team_id IN ('T1', true)", `position 20: _team_id is a string: compare it with a string, not true`},
		{"_last_seen_at > 5", `position 17: _last_seen_at is a time: compare it with a string such as '2024-01-31' or '2024-01-31T12:00:00Z', not 5`},
		{"_deleted_at < '2024-13-01'", `position 15: "'2024-13-01'" is not a time: write RFC 3339 ('2024-01-31T12:00:00Z') or a date ('2024-01-31')`},
		{"_deleted_at LIKE '2024%'", `position 13: LIKE matches strings, and _deleted_at is a time`},
		{"a = '\x00'", `position 6: the input holds a NUL character`},
		{"a = '\xff'", `position 6: the input is not valid UTF-8`},
	} {
		_, err := Parse(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): got %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("%d parentheses: %v", MaxDepth, err)
	}
	for _, tc := range []struct {
		in      string
		wantPos int
		wantMsg string
	}{
		{"(" + deep + ")", MaxDepth + 1, "nest more than 32 deep"},
		{strings.Repeat("NOT ", MaxDepth+1) + "a = 1", 4*MaxDepth + 1, "nest more than 32 deep"},
		{strings.Repeat("NOT (", 17) + "a = 1" + strings.Repeat(")", 17), 5*16 + 1, "nest more than 32 deep"},
		{"a IN (" + strings.Repeat("1, ", MaxIn) + "1)", 7 + 3*MaxIn, "at most 1000 values"},
		{"a = '" + strings.Repeat("x", MaxInput) + "'", MaxInput + 1, "more than 4096"},
		{"a" + strings.Repeat(".a", MaxPath) + " = 1", 1, "more than 32 segments"},
	} {
		_, err := Parse(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Pos != tc.wantPos || !strings.Contains(se.Msg, tc.wantMsg) {
			t.Errorf("Parse(%.40q…): got %v, want position %d: …%s…", tc.in, err, tc.wantPos, tc.wantMsg)
		}
	}
	if _, err := Parse("a IN (" + strings.Repeat("1,", MaxIn-1) + "1)"); err != nil {
		t.Errorf("an IN list of %d: %v", MaxIn, err)
	}
	if _, err := Parse("a" + strings.Repeat(".a", MaxPath-1) + " = 1"); err != nil {
		t.Errorf("a path of %d segments: %v", MaxPath, err)
	}
}

func TestParseOrder(t *testing.T) {
	t.Parallel()
	got, err := ParseOrder("profile.real_name desc, _key, age ASC,desc")
	if err != nil {
		t.Fatal(err)
	}
	want := []Order{
		{Field: Field{Path: []string{"profile", "real_name"}}, Desc: true},
		{Field: Field{Path: []string{"_key"}, Meta: true}},
		{Field: Field{Path: []string{"age"}}},
		{Field: Field{Path: []string{"desc"}}}, // a field may be called desc
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"a desc desc", `position 8: expected ASC, DESC, "," or the end of input, found "desc"`},
		{"a,", `position 3: expected a field, found the end of input`},
		{"a, b, a DESC", `position 7: a is listed twice`},
		{"a = 1", `position 3: expected ASC, DESC, "," or the end of input, found "="`},
		{"_nope", `position 1: "_nope" is not a meta field: a name beginning with _ is one of _key, _team_id, _first_seen_at, _last_seen_at, _source_updated_at or _deleted_at`},
		{"a,b,c,d,e,f,g,h,i", `position 17: order_by takes at most 8 fields`},
	} {
		if _, err := ParseOrder(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseOrder(%q): got %v, want %s", tc.in, err, tc.want)
		}
	}
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	got, err := ParseFields("id, profile.email ,_team_id")
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{Path: []string{"id"}}, {Path: []string{"profile", "email"}}, {Path: []string{"_team_id"}, Meta: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"id desc", `position 4: expected "," or the end of input, found "desc"`},
		{"id, id", `position 5: id is listed twice`},
		{"id,,name", `position 4: expected a field, found ","`},
		{"not", `position 1: expected a field, found "not"`},
	} {
		if _, err := ParseFields(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseFields(%q): got %v, want %s", tc.in, err, tc.want)
		}
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	e, err := Parse("profile.email LIKE '%@x' AND (is_admin = true OR NOT profile.email IS NULL) AND _key IN ('a') AND tz_offset > 3 AND user_ids NOT HAS 'U1'")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Fields(e) {
		got = append(got, f.Name())
	}
	if want := []string{"profile.email", "is_admin", "_key", "tz_offset", "user_ids"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	if got := Fields(nil); got != nil {
		t.Errorf("Fields(nil) = %v, want nil", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f  Field
		ok bool
	}{
		{Field{Path: []string{"profile", "email"}}, true},
		{Field{Path: []string{"_key"}, Meta: true}, true},
		{Field{Path: []string{"a", "_b"}}, true},
		{Field{}, false},
		{Field{Path: []string{`a"b`}}, false},
		{Field{Path: []string{"a", ""}}, false},
		{Field{Path: []string{"_key"}}, false},              // meta, unmarked
		{Field{Path: []string{"_nope"}, Meta: true}, false}, // no such meta field
		{Field{Path: []string{"_key", "x"}, Meta: true}, false},
		{Field{Path: []string{"key"}, Meta: true}, false},
		{Field{Path: strings.Split(strings.Repeat("a.", MaxPath)+"a", ".")}, false},
	} {
		if err := tc.f.Validate(); (err == nil) != tc.ok {
			t.Errorf("%#v.Validate() = %v, want ok %v", tc.f, err, tc.ok)
		}
	}
}

func TestStringParenthesises(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"(a = 1 OR b = 2) AND NOT (c = 3 AND d = 4)", "(a = 1 OR b = 2) AND NOT (c = 3 AND d = 4)"},
		{"NOT (NOT a = 1)", "NOT NOT a = 1"},
		{"x in ( 'it''s' ,1.50,-0 )", "x IN ('it''s', 1.50, -0)"},
		{"_deleted_at = '2024-01-01'", "_deleted_at = '2024-01-01'"},
		{"a <> TRUE", "a != true"},
		{"ids  not  has  'it''s'", "ids NOT HAS 'it''s'"},
		{"NOT (ids HAS 1.50 OR ids has TRUE) AND ids HAS -0", "NOT (ids HAS 1.50 OR ids HAS true) AND ids HAS -0"},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateExpr(t *testing.T) {
	t.Parallel()
	name := Field{Path: []string{"name"}}
	deleted := Field{Path: []string{MetaDeletedAt}, Meta: true}
	str := Value{Kind: KindString, Text: "x"}
	for _, tc := range []struct {
		e  Expr
		ok bool
	}{
		{nil, true},
		{&Compare{name, Eq, str}, true},
		{&And{Terms: []Expr{&Compare{name, Eq, str}, &Not{X: &IsNull{Field: deleted}}}}, true},
		{&And{}, false},
		{&Or{Terms: []Expr{nil}}, false},
		{&Not{}, false},
		{&Compare{name, "==", str}, false},
		{&Compare{name, Lt, Value{Kind: KindBool}}, false},
		{&Compare{name, Gt, Value{}}, false},
		{&Compare{name, Eq, Value{Kind: KindNumber, Text: "1e5"}}, false},
		{&Compare{name, Eq, Value{Kind: KindNumber, Text: "-"}}, false},
		{&Compare{name, Eq, Value{Kind: KindTime, Text: "2024-01-01"}}, false},
		{&Compare{deleted, Eq, str}, false}, // a time wants KindTime
		{&Compare{deleted, Lt, Value{Kind: KindTime, Text: "2024-01-01"}}, true},
		{&Compare{Field{Path: []string{MetaKey}, Meta: true}, Eq, Value{Kind: KindNumber, Text: "1"}}, false},
		{&Like{Field: deleted, Pattern: "%"}, false},
		{&Like{Field: name, Pattern: `\`}, false},
		{&Like{Field: name, Pattern: `\\\%\_`}, true},
		{&In{Field: name}, false},
		{&In{Field: name, Values: make([]Value, MaxIn+1)}, false},
		{&In{Field: name, Values: []Value{str, {Kind: KindTime}}}, false},
		{&IsNull{Field: Field{Path: []string{"a b"}}}, false},
		{&Has{Field: name, Value: str}, true},
		{&Has{Field: name, Value: Value{Kind: KindNumber, Text: "-1.5"}, Not: true}, true},
		{&Has{Field: name, Value: Value{Kind: KindBool}}, true},
		{&Has{Field: name, Value: Value{}}, false}, // null
		{&Has{Field: name, Value: Value{Kind: KindTime, Text: "2024-01-01"}}, false},
		{&Has{Field: name, Value: Value{Kind: KindNumber, Text: "1e5"}}, false},
		{&Has{Field: name, Value: Value{Kind: KindTime + 1}}, false},
		{&Has{Field: Field{Path: []string{MetaKey}, Meta: true}, Value: str}, false},
		{&Has{Field: deleted, Value: Value{Kind: KindTime, Text: "2024-01-01"}}, false},
		{&Has{Field: Field{Path: []string{"a b"}}, Value: str}, false},
	} {
		err := Validate(tc.e)
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%#v) = %v, want ok %v", tc.e, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%#v) = %v, which is not ErrInvalid", tc.e, err)
		}
	}
	deep := Expr(&Compare{name, Eq, str})
	for range maxTree {
		deep = &Not{X: deep}
	}
	if err := Validate(deep); err == nil {
		t.Errorf("an expression %d deep passed", maxTree+1)
	}
	if err := ValidateOrder(make([]Order, MaxOrder+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("ValidateOrder of %d: %v", MaxOrder+1, err)
	}
	if err := ValidateOrder([]Order{{Field: Field{Path: []string{"a", "b"}}, Desc: true}}); err != nil {
		t.Errorf("ValidateOrder(a.b DESC) = %v", err)
	}
	if _, err := Parse("a ="); !errors.Is(err, ErrInvalid) {
		t.Errorf("a syntax error %v does not match ErrInvalid", err)
	}
}
