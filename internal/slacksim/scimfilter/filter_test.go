package scimfilter_test

import (
	"errors"
	"testing"

	"github.com/connhub/connhub/internal/slacksim/scimfilter"
)

// known accepts the attributes of a small user schema, as the sandbox's
// tables do.
func known(attr string) bool {
	switch attr {
	case "username", "title", "active", "id", "name.givenname", "emails", "emails.value", "emails.type", "emails.primary",
		"members", "members.value":
		return true
	}
	return false
}

// rfc allows every operator of RFC 7644.
var rfc = scimfilter.Syntax{Known: known}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct{ filter, want string }{
		{`userName eq "ada"`, `username eq "ada"`},
		{`USERNAME EQ "Ada"`, `username eq "Ada"`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada"`, `username eq "ada"`},
		{`name.givenName sw 'A'`, `name.givenname sw "A"`},
		{`title pr`, `title pr`},
		{`title PR`, `title pr`},
		{`active eq true`, `active eq true`},
		{`active eq False`, `active eq false`},
		{`title eq null`, `title eq null`},
		{`id eq 42`, `id eq 42`},
		{`members.value eq U123ABC456`, `members.value eq "U123ABC456"`},
		{`userName eq "a \"b\" \u00e9"`, `username eq "a \"b\" é"`},
		{`userName eq 'it"s'`, `username eq "it\"s"`},
		{"userName\teq\n\"a\"", `username eq "a"`},

		// Precedence: and binds tighter than or; both associate to the left.
		{`id eq "1" or id eq "2" and title pr`, `(id eq "1" or (id eq "2" and title pr))`},
		{`id eq "1" and id eq "2" or title pr`, `((id eq "1" and id eq "2") or title pr)`},
		{`id eq "1" or id eq "2" or id eq "3"`, `((id eq "1" or id eq "2") or id eq "3")`},
		{`id eq "1" and id eq "2" and id eq "3"`, `((id eq "1" and id eq "2") and id eq "3")`},
		{`(id eq "1" or id eq "2") and title pr`, `((id eq "1" or id eq "2") and title pr)`},
		{`not (id eq "1") and title pr`, `(not (id eq "1") and title pr)`},
		{`not (id eq "1" or title pr)`, `not (id eq "1" or title pr)`},
		{`((title pr))`, `title pr`},
		{`id eq "1" AND title pr OR active eq false`, `((id eq "1" and title pr) or active eq false)`},

		// Value paths: the inner filter names the attribute's sub-attributes.
		{`emails[type eq "work"]`, `emails[type eq "work"]`},
		{`emails[type eq "work" and value co "@x"]`, `emails[(type eq "work" and value co "@x")]`},
		{`emails[type eq "work"] and active eq true`, `(emails[type eq "work"] and active eq true)`},
		{`members[value eq U1] or members[value eq U2]`, `(members[value eq "U1"] or members[value eq "U2"])`},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := scimfilter.Parse(tt.filter, rfc)
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if got := f.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ filter, code string }{
		{``, scimfilter.CodeNoFilters},
		{"  \t", scimfilter.CodeNoFilters},

		{`bogus eq "x"`, scimfilter.CodeInvalidQuery},
		{`userName xx "a"`, scimfilter.CodeInvalidQuery},
		{`userName eq "a" extra`, scimfilter.CodeInvalidQuery},
		{`userName eq "a" userName eq "b"`, scimfilter.CodeInvalidQuery},
		{`"a" eq userName`, scimfilter.CodeInvalidQuery},
		{`userName eq "\x"`, scimfilter.CodeInvalidQuery},
		{`emails[bogus eq "a"]`, scimfilter.CodeInvalidQuery},
		{`bogus[value eq "a"]`, scimfilter.CodeInvalidQuery},
		{`title ( "a"`, scimfilter.CodeInvalidQuery},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`, scimfilter.CodeInvalidQuery},

		{`(userName eq "a"`, scimfilter.CodeInvalidFilterGroup},
		{`userName eq "a")`, scimfilter.CodeInvalidFilterGroup},
		{`)`, scimfilter.CodeInvalidFilterGroup},
		{`emails[type eq "work"`, scimfilter.CodeInvalidFilterGroup},
		{`emails[type eq "work")`, scimfilter.CodeInvalidFilterGroup},
		{`not (title pr`, scimfilter.CodeInvalidFilterGroup},
		{`title pr and ]`, scimfilter.CodeInvalidFilterGroup},

		{`userName`, scimfilter.CodeIncompleteFilter},
		{`userName eq`, scimfilter.CodeIncompleteFilter},
		{`userName eq "unclosed`, scimfilter.CodeIncompleteFilter},
		{`userName eq and title pr`, scimfilter.CodeIncompleteFilter},
		{`title pr and`, scimfilter.CodeIncompleteFilter},
		{`title pr or`, scimfilter.CodeIncompleteFilter},
		{`(`, scimfilter.CodeIncompleteFilter},
		{`userName eq (`, scimfilter.CodeIncompleteFilter},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := scimfilter.Parse(tt.filter, rfc)
			var fe *scimfilter.Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, %v; want a *scimfilter.Error with code %s", f, err, tt.code)
			}
			if fe.Code != tt.code {
				t.Errorf("got code %s (%s), want %s", fe.Code, fe.Detail, tt.code)
			}
		})
	}
}

// TestParseOperators: a Syntax may allow fewer operators than the RFC's, as
// Slack's list does; the others are invalid_query.
func TestParseOperators(t *testing.T) {
	t.Parallel()
	slack := scimfilter.Syntax{Known: known, Operators: []string{"eq", "co", "sw", "pr", "gt", "ge", "lt", "le"}}
	for _, tt := range []struct {
		filter string
		ok     bool
	}{
		{`userName eq "a" and (title pr or title sw "x")`, true},
		{`title gt "a" or title ge "a" or title lt "a" or title le "a" or title co "a"`, true},
		{`emails[type eq "work"]`, true},
		{`userName ne "a"`, false},
		{`userName ew "a"`, false},
		{`not (title pr)`, false},
		{`emails[not (type eq "work")]`, false},
		{`userName EW "a"`, false},
	} {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			_, err := scimfilter.Parse(tt.filter, slack)
			var fe *scimfilter.Error
			switch {
			case tt.ok && err != nil:
				t.Errorf("got %v, want it parsed", err)
			case !tt.ok && (!errors.As(err, &fe) || fe.Code != scimfilter.CodeInvalidQuery):
				t.Errorf("got %v, want invalid_query", err)
			}
		})
	}
}

// person is a Record of a user with two emails.
type person struct {
	attrs  map[string][]any
	emails []scimfilter.Record
}

func (p person) Values(attr string) []any { return p.attrs[attr] }
func (p person) Elems(attr string) []scimfilter.Record {
	if attr == "emails" {
		return p.emails
	}
	return nil
}

func TestMatch(t *testing.T) {
	t.Parallel()
	ada := person{
		attrs: map[string][]any{
			"id": {"U1"}, "username": {"ada"}, "title": {""}, "active": {true},
			"emails":       {"ada@work.example", "ada@home.example"},
			"emails.value": {"ada@work.example", "ada@home.example"},
		},
		emails: []scimfilter.Record{
			scimfilter.Elem{"value": "ada@work.example", "type": "work", "primary": true},
			scimfilter.Elem{"value": "ada@home.example", "type": "home", "primary": false},
		},
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{`userName eq "ADA"`, true},
		{`userName ne "ada"`, false},
		{`userName ne "bob"`, true},
		{`userName co "D"`, true},
		{`userName sw "ad"`, true},
		{`userName ew "da"`, true},
		{`userName gt "ab"`, true},
		{`userName ge "ada"`, true},
		{`userName lt "ada"`, false},
		{`userName le "ada"`, true},
		{`title pr`, false},
		{`userName pr`, true},
		{`title eq null`, true},
		{`name.givenName eq null`, true},
		{`name.givenName pr`, false},
		{`active eq true`, true},
		{`active eq "TRUE"`, true},
		{`active eq false`, false},
		{`active gt true`, false},
		{`id eq 1`, false},
		{`emails eq "ada@home.example"`, true},
		{`emails ne "ada@home.example"`, false},
		{`emails[type eq "work" and value eq "ada@work.example"]`, true},
		{`emails[type eq "home" and value eq "ada@work.example"]`, false},
		{`emails[primary eq false]`, true},
		{`not (emails[type eq "other"])`, true},
		{`userName eq "bob" or active eq true and title pr`, false},
		{`(userName eq "bob" or active eq true) and userName pr`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := scimfilter.Parse(tt.filter, rfc)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(ada); got != tt.want {
				t.Errorf("got %v, want %v (parsed as %s)", got, tt.want, f)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work"] or not (title pr)`, `((`, `a eq 'b'`, "\xff eq \"\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := scimfilter.Parse(s, rfc)
		if err != nil {
			var fe *scimfilter.Error
			if !errors.As(err, &fe) || fe.Code == "" {
				t.Fatalf("%q: got error %v, want a *scimfilter.Error with a code", s, err)
			}
			return
		}
		// A filter's rendering parses to the same filter.
		again, err := scimfilter.Parse(flt.String(), rfc)
		if err != nil || again.String() != flt.String() {
			t.Fatalf("%q parsed as %s, which parses as %v, %v", s, flt, again, err)
		}
	})
}
