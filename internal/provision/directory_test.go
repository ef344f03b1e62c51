package provision_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/provision"
)

func TestParseGood(t *testing.T) {
	t.Parallel()
	csvFile := "\uFEFFuserName,Email,emails,givenName,familyName,displayName,title,active,groups,guest_type,guest_expiration,guest_channels\n" +
		"ada,ada@example.com,,Ada,Lovelace,ada,Countess,,Analysts; Engines,,,\n" +
		`grace,grace@example.com,"g@example.org",Grace,Hopper,,"Rear Admiral, USN",FALSE,,,,` + "\n" +
		"alan,,alan@example.com;turing@example.org,,,,,yes,,multi,2027-01-31,C0123ABCD;G0456\n"
	jsonFile := `[
	 {"userName":"ada","email":"ada@example.com","givenName":"Ada","familyName":"Lovelace","displayName":"ada","title":"Countess","groups":["Analysts","Engines","analysts"]},
	 {"userName":"grace","email":"grace@example.com","emails":"g@example.org","givenName":"Grace","familyName":"Hopper","title":"Rear Admiral, USN","active":false},
	 {"userName":"alan","emails":["alan@example.com","turing@example.org"],"active":"yes","guest_type":"multi","guest_expiration":"2027-01-31T00:00:00Z","guest_channels":["C0123ABCD","G0456"],"title":null}
	]`
	want := []provision.Person{
		{UserName: "ada", Email: "ada@example.com", GivenName: "Ada", FamilyName: "Lovelace", DisplayName: "ada", Title: "Countess",
			Active: true, Groups: []string{"Analysts", "Engines"}},
		{UserName: "grace", Email: "grace@example.com", SecondaryEmail: "g@example.org", GivenName: "Grace", FamilyName: "Hopper",
			Title: "Rear Admiral, USN", Active: false},
		{UserName: "alan", Email: "alan@example.com", SecondaryEmail: "turing@example.org", Active: true, GuestType: "multi",
			GuestExpiration: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), GuestChannels: []string{"C0123ABCD", "G0456"}},
	}
	for _, tc := range []struct {
		format provision.Format
		file   string
		rows   []int
	}{
		{provision.FormatCSV, csvFile, []int{2, 3, 4}},
		{provision.FormatJSON, jsonFile, []int{1, 2, 3}},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			t.Parallel()
			d, err := provision.Parse(strings.NewReader(tc.file), tc.format, provision.MatchEmail)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(d.People) != len(want) {
				t.Fatalf("got %d people, want %d", len(d.People), len(want))
			}
			for i, p := range d.People {
				w := want[i]
				w.Row = tc.rows[i]
				if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", w) {
					t.Errorf("person %d:\ngot  %+v\nwant %+v", i, p, w)
				}
			}
			if !d.Has(provision.ColGroups) || !d.Has(provision.ColEmail) {
				t.Errorf("got columns %v, want groups and email among them", d.Columns)
			}
		})
	}
}

// problem is what a test expects of a Problem.
type problem struct {
	row  int
	col  string
	code provision.ProblemCode
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	const header = "userName,email,active,groups\n"
	tests := []struct {
		name   string
		format provision.Format
		key    provision.MatchKey
		file   string
		want   []problem
	}{
		{"empty csv", provision.FormatCSV, provision.MatchEmail, "", []problem{{0, "", provision.ProblemMalformedFile}}},
		{"unknown and duplicate columns", provision.FormatCSV, provision.MatchEmail,
			"userName,email,mail,EMAIL\nada,ada@example.com,x,y\n",
			[]problem{{1, "mail", provision.ProblemUnknownColumn}, {1, "email", provision.ProblemDuplicateColumn}}},
		{"wrong number of fields", provision.FormatCSV, provision.MatchEmail,
			header + "ada,ada@example.com,true,\nbob,bob@example.com\ncy,cy@example.com,true,,extra\n",
			[]problem{{3, "", provision.ProblemMalformedRow}, {4, "", provision.ProblemMalformedRow}}},
		{"bad quoting", provision.FormatCSV, provision.MatchEmail,
			header + "ada,ada@example.com,true,\nb\"ob,bob@example.com,true,\ncy,cy@example.com,true,\n\"dan,dan@example.com,true,\nx,y,z,w\n",
			[]problem{{3, "", provision.ProblemMalformedRow}, {5, "", provision.ProblemMalformedRow}}},
		{"a quoted newline keeps line numbers", provision.FormatCSV, provision.MatchEmail,
			header + "ada,ada@example.com,true,\"A\nB\"\nbob,not-an-email,true,\n",
			[]problem{{2, "groups", provision.ProblemInvalidValue}, {4, "email", provision.ProblemInvalidEmail}}},
		{"missing and duplicate keys", provision.FormatCSV, provision.MatchEmail,
			header + "ada,Ada@Example.com,,\nbob,,,\nada2,ada@example.com,,\n",
			[]problem{{3, "email", provision.ProblemMissingKey}, {4, "email", provision.ProblemDuplicateKey}}},
		{"duplicate userName when matching by email", provision.FormatCSV, provision.MatchEmail,
			header + "ada,ada@example.com,,\nADA,ada2@example.com,,\n",
			[]problem{{3, "userName", provision.ProblemDuplicateValue}}},
		{"userName key", provision.FormatCSV, provision.MatchUserName,
			header + ",ada@example.com,,\nbob,bob@example.com,,\nBob,bob2@example.com,,\n",
			[]problem{{2, "userName", provision.ProblemMissingKey}, {4, "userName", provision.ProblemDuplicateKey}}},
		{"invalid emails", provision.FormatCSV, provision.MatchEmail,
			"email,emails\nada@example,\n\"Ada <ada@example.com>\",\nok@example.com,also bad\n",
			[]problem{{2, "email", provision.ProblemInvalidEmail}, {3, "email", provision.ProblemInvalidEmail},
				{4, "emails", provision.ProblemInvalidEmail}}},
		{"bad booleans", provision.FormatCSV, provision.MatchEmail,
			header + "ada,ada@example.com,maybe,\nbob,bob@example.com,TRUE,\n",
			[]problem{{2, "active", provision.ProblemInvalidBoolean}}},
		{"invalid values", provision.FormatCSV, provision.MatchEmail,
			"userName,email,emails,displayName,guest_type,guest_expiration,guest_channels\n" +
				"ada@example.com,ada@example.com,,@ada,,,\n" +
				"bob,bob@example.com,b1@example.com;b2@example.com,,single,soon,\n" +
				"cy,cy@example.com,,,,2027-01-01,C0123ABCD\n" +
				"dan,dan@example.com,,,multi,,general\n",
			[]problem{{2, "userName", provision.ProblemInvalidValue}, {2, "displayName", provision.ProblemInvalidValue},
				{3, "emails", provision.ProblemInvalidValue}, {3, "guest_type", provision.ProblemInvalidValue},
				{3, "guest_expiration", provision.ProblemInvalidValue}, {3, "guest_expiration", provision.ProblemInvalidValue},
				{4, "guest_expiration", provision.ProblemInvalidValue}, {4, "guest_channels", provision.ProblemInvalidValue},
				{5, "guest_channels", provision.ProblemInvalidValue}}},
		{"json not an array", provision.FormatJSON, provision.MatchEmail, `{"email":"a@example.com"}`,
			[]problem{{0, "", provision.ProblemMalformedFile}}},
		{"json elements", provision.FormatJSON, provision.MatchEmail,
			`[{"email":"a@example.com","mail":"x"},"bob",{"email":"c@example.com","mail":"y","active":"nope"},{"email":"A@example.com","groups":[1]}]`,
			[]problem{{1, "mail", provision.ProblemUnknownColumn}, {2, "", provision.ProblemMalformedRow},
				{3, "active", provision.ProblemInvalidBoolean},
				{4, "groups", provision.ProblemInvalidValue}, {4, "email", provision.ProblemDuplicateKey}}},
		{"json wrong types", provision.FormatJSON, provision.MatchEmail,
			`[{"email":"a@example.com","title":{"x":1},"userName":["a"]}]`,
			[]problem{{1, "userName", provision.ProblemInvalidValue}, {1, "title", provision.ProblemInvalidValue}}},
		{"json broken mid-file", provision.FormatJSON, provision.MatchEmail,
			`[{"email":"a@example.com"},{"email":"b@example.com",}]`,
			[]problem{{2, "", provision.ProblemMalformedRow}}},
		{"json trailing data", provision.FormatJSON, provision.MatchEmail,
			`[{"email":"a@example.com"}] []`,
			[]problem{{0, "", provision.ProblemMalformedFile}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := provision.Parse(strings.NewReader(tc.file), tc.format, tc.key)
			var ps provision.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse: got %v (directory %v), want problems", err, d)
			}
			if d != nil {
				t.Errorf("got a directory with problems")
			}
			var got []problem
			for _, p := range ps {
				got = append(got, problem{p.Row, p.Column, p.Code})
				if p.Message == "" {
					t.Errorf("problem %+v has no message", p)
				}
			}
			slices.SortStableFunc(got, func(a, b problem) int { return a.row - b.row })
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got problems %v, want %v\n%v", got, tc.want, err)
			}
		})
	}
}

func TestParseDuplicateNamesBothRows(t *testing.T) {
	t.Parallel()
	_, err := provision.Parse(strings.NewReader("email\nada@example.com\nbob@example.com\nADA@example.com\n"), provision.FormatCSV, provision.MatchEmail)
	var ps provision.Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("got %v, want one problem", err)
	}
	if p := ps[0]; p.Row != 4 || p.OtherRow != 2 || !strings.Contains(p.Message, "rows 2 and 4") {
		t.Errorf("got %+v, want row 4, other row 2, a message naming both", p)
	}
}

func TestParseBadArguments(t *testing.T) {
	t.Parallel()
	if _, err := provision.Parse(strings.NewReader("email\n"), "xml", provision.MatchEmail); err == nil {
		t.Error("format xml: got no error")
	}
	if _, err := provision.Parse(strings.NewReader("email\n"), provision.FormatCSV, "id"); err == nil {
		t.Error("match key id: got no error")
	}
}
