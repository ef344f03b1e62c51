package provision_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/provision"
)

// row is one person of a test's directory file, by column.
type row map[string]string

var fileColumns = []string{"userName", "email", "givenName", "familyName", "title", "active", "groups"}

// csvOf writes a directory file with fileColumns.
func csvOf(t *testing.T, rows []row) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(fileColumns)
	for _, r := range rows {
		rec := make([]string, len(fileColumns))
		for i, c := range fileColumns {
			rec[i] = r[c]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func parse(t *testing.T, file string, key provision.MatchKey) *provision.Directory {
	t.Helper()
	d, err := provision.Parse(strings.NewReader(file), provision.FormatCSV, key)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

// people are the state's users that a test may change freely: members (not
// guests), not the primary owner.
func people(e *env, st *provision.State, active bool) []provision.User {
	var out []provision.User
	for _, u := range st.Users {
		if u.Active == active && u.Guest == nil && u.ID != e.owner && u.PrimaryEmail() != "" {
			out = append(out, u)
		}
	}
	return out
}

// scenario is a directory file that asks for one of each change against a
// sandbox's state.
type scenario struct {
	st                                      *provision.State
	updated, same, reactivated, deactivated provision.User
	group                                   provision.Group // an existing group the new person and the reactivated one join
	newEmail, skippedEmail, newGroup        string
	file                                    string
}

func newScenario(t *testing.T, e *env) *scenario {
	t.Helper()
	s := &scenario{st: e.state(), newEmail: "new.person1@example.com", skippedEmail: "gone.before@example.com", newGroup: "Brand New Group"}
	active, inactive := people(e, s.st, true), people(e, s.st, false)
	if len(active) < 3 || len(inactive) < 1 {
		t.Fatalf("the sandbox has %d active and %d deactivated people to use; want 3 and 1", len(active), len(inactive))
	}
	s.updated, s.same, s.deactivated, s.reactivated = active[0], active[1], active[2], inactive[0]
	for _, g := range s.st.Groups {
		if g.DisplayName != "Admins" && len(g.Members) >= 2 {
			s.group = g
			break
		}
	}
	if s.group.ID == "" {
		t.Fatal("the sandbox has no group with members")
	}
	s.file = csvOf(t, []row{
		{"userName": s.updated.UserName, "email": s.updated.PrimaryEmail(), "title": s.updated.Title + " (acting)"},
		// Case aside, the same; empty cells leave the rest alone.
		{"userName": strings.ToUpper(s.same.UserName), "email": strings.ToUpper(s.same.PrimaryEmail()), "title": s.same.Title},
		{"email": s.reactivated.PrimaryEmail(), "active": "true", "groups": s.group.DisplayName},
		{"email": s.deactivated.PrimaryEmail(), "active": "false"},
		{"userName": "newperson1", "email": s.newEmail, "givenName": "New", "familyName": "Person", "title": "Engineer",
			"groups": strings.ToUpper(s.group.DisplayName) + ";" + s.newGroup},
		{"userName": "gonebefore", "email": s.skippedEmail, "active": "false"},
	})
	return s
}

func TestPlanAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	s := newScenario(t, e)
	p, err := provision.NewPlan(parse(t, s.file, provision.MatchEmail), s.st, provision.Options{})
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	want := provision.Counts{Create: 1, Update: 1, Reactivate: 1, Deactivate: 1, GroupCreate: 1, GroupUpdate: 1, MembersAdded: 3, Skipped: 1}
	if p.Counts != want {
		t.Errorf("got counts %+v, want %+v", p.Counts, want)
	}
	kinds := map[provision.Kind]provision.Change{}
	for i, c := range p.Changes {
		if c.Index != i+1 {
			t.Errorf("change %d has index %d", i+1, c.Index)
		}
		kinds[c.Kind] = c
	}
	order := []provision.Kind{provision.KindCreate, provision.KindReactivate, provision.KindUpdate,
		provision.KindGroupCreate, provision.KindGroupUpdate, provision.KindDeactivate}
	for i, c := range p.Changes {
		if c.Kind != order[i] {
			t.Errorf("change %d is a %s, want %s", c.Index, c.Kind, order[i])
		}
	}

	upd := kinds[provision.KindUpdate]
	if upd.Target != s.updated.ID || len(upd.Attrs) != 1 || upd.Attrs[0] != (provision.AttrChange{Attr: "title", Old: s.updated.Title, New: s.updated.Title + " (acting)"}) {
		t.Errorf("update: got %+v", upd)
	}
	wantBody := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":` +
		mustQuote(s.updated.Title+" (acting)") + `}]}`
	if upd.Request.Method != "PATCH" || upd.Request.Path != "/Users/"+s.updated.ID || string(upd.Request.Body) != wantBody {
		t.Errorf("update request: got %s %s %s\nwant PATCH /Users/%s %s", upd.Request.Method, upd.Request.Path, upd.Request.Body, s.updated.ID, wantBody)
	}

	create := kinds[provision.KindCreate]
	var body map[string]any
	json.Unmarshal(create.Request.Body, &body)
	if create.Request.Method != "POST" || create.Request.Path != "/Users" || body["userName"] != "newperson1" ||
		!reflect.DeepEqual(body["schemas"], []any{provision.SchemaUser}) {
		t.Errorf("create request: got %s %s %s", create.Request.Method, create.Request.Path, create.Request.Body)
	}

	react := kinds[provision.KindReactivate]
	if react.Target != s.reactivated.ID || react.Attrs[0].Attr != "active" || !strings.Contains(string(react.Request.Body), `"path":"active","value":true`) {
		t.Errorf("reactivation: got %+v %s", react, react.Request.Body)
	}
	deact := kinds[provision.KindDeactivate]
	if deact.Target != s.deactivated.ID || deact.Request.Method != "DELETE" || deact.Request.Path != "/Users/"+s.deactivated.ID || deact.Request.Body != nil {
		t.Errorf("deactivation: got %+v", deact)
	}

	gu := kinds[provision.KindGroupUpdate]
	if gu.Target != s.group.ID || len(gu.Added) != 2 || len(gu.Removed) != 0 {
		t.Errorf("group update: got %+v", gu)
	}
	if !slices.Equal(gu.Needs, []int{create.Index, react.Index}) {
		t.Errorf("group update needs %v, want the create %d and the reactivation %d", gu.Needs, create.Index, react.Index)
	}
	if !strings.Contains(string(gu.Request.Body), `"value":"change:1"`) || !strings.Contains(string(gu.Request.Body), `"value":"`+s.reactivated.ID+`"`) {
		t.Errorf("group update body: got %s", gu.Request.Body)
	}
	gc := kinds[provision.KindGroupCreate]
	if gc.Key != s.newGroup || !strings.Contains(string(gc.Request.Body), `"displayName":"Brand New Group","members":[{"value":"change:1"}]`) {
		t.Errorf("group create: got %+v %s", gc, gc.Request.Body)
	}
	if len(p.Skipped) != 1 || p.Skipped[0].Key != s.skippedEmail {
		t.Errorf("got skips %+v, want the inactive person missing from Slack", p.Skipped)
	}

	// The plan is data: stored as JSON and read back, it is the same plan.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back provision.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, p) {
		t.Errorf("the plan read back from JSON differs:\n%s", b)
	}

	text := p.String()
	for _, want := range []string{
		"+ [1] create " + s.newEmail + " (row 6)",
		"^ [2] reactivate " + s.reactivated.PrimaryEmail(),
		"~ [3] update " + s.updated.PrimaryEmail() + "  " + s.updated.ID + " (row 2)",
		`title:  ` + mustQuote(s.updated.Title) + ` → ` + mustQuote(s.updated.Title+" (acting)"),
		`+ [4] create group "Brand New Group"`,
		"+ " + s.newEmail + "  (after [1])",
		"- [6] deactivate " + s.deactivated.PrimaryEmail(),
		"! skip " + s.skippedEmail,
		"Plan: 1 to create, 1 to update, 1 to reactivate, 1 to deactivate; groups: 1 to create, 1 to update (3 members added, 0 removed); 1 skipped.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan's text lacks %q:\n%s", want, text)
		}
	}
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPlanOverwriteRemovesMembers(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	var g provision.Group
	for _, x := range st.Groups {
		if len(x.Members) >= 3 {
			g = x
			break
		}
	}
	if g.ID == "" {
		t.Fatal("no group with 3 members")
	}
	keep := e.user(g.Members[0].Value)
	file := csvOf(t, []row{{"email": keep.PrimaryEmail(), "groups": g.DisplayName}})
	for _, m := range []provision.Membership{provision.MembershipMerge, provision.MembershipOverwrite} {
		p, err := provision.NewPlan(parse(t, file, provision.MatchEmail), st, provision.Options{Membership: m})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		switch m {
		case provision.MembershipMerge:
			if len(p.Changes) != 0 {
				t.Errorf("merge: got %d changes, want none (the person is already a member):\n%s", len(p.Changes), p)
			}
		case provision.MembershipOverwrite:
			if p.Counts.GroupUpdate != 1 || p.Counts.MembersRemoved != len(g.Members)-1 || p.Counts.MembersAdded != 0 {
				t.Errorf("overwrite: got %+v, want %d members removed from %s:\n%s", p.Counts, len(g.Members)-1, g.DisplayName, p)
			}
		}
	}
}

func TestPlanProblemsFoundAgainstSlack(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	act := people(e, st, true)
	a, b := act[0], act[1]
	for _, tc := range []struct {
		key  provision.MatchKey
		rows []row
		want []problem
	}{
		{provision.MatchEmail,
			[]row{{"email": "someone.new@example.com"}, {"userName": a.UserName, "email": b.PrimaryEmail()}},
			[]problem{{2, "userName", provision.ProblemMissingAttribute}, {3, "userName", provision.ProblemConflict}}},
		{provision.MatchUserName,
			[]row{{"userName": "someone_new"}, {"userName": a.UserName, "email": b.PrimaryEmail()}},
			[]problem{{2, "email", provision.ProblemMissingAttribute}, {3, "email", provision.ProblemConflict}}},
	} {
		_, err := provision.NewPlan(parse(t, csvOf(t, tc.rows), tc.key), st, provision.Options{MatchKey: tc.key})
		var ps provision.Problems
		if !errors.As(err, &ps) {
			t.Fatalf("%s: got %v, want problems", tc.key, err)
		}
		var got []problem
		for _, p := range ps {
			got = append(got, problem{p.Row, p.Column, p.Code})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got problems %v, want %v\n%v", tc.key, got, tc.want, err)
		}
	}
}

func TestPlanBrake(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	var active []provision.User
	for _, u := range st.Users {
		if u.Active {
			active = append(active, u)
		}
	}
	// The file keeps half the active people, the primary owner not among
	// them: the rest would be deactivated.
	var rows []row
	for _, u := range active[:len(active)/2] {
		if u.ID != e.owner {
			rows = append(rows, row{"email": u.PrimaryEmail()})
		}
	}
	d := parse(t, csvOf(t, rows), provision.MatchEmail)
	_, err := provision.NewPlan(d, st, provision.Options{DeactivateMissing: true})
	var be *provision.BrakeError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want the brake", err)
	}
	wantDeact := len(active) - len(rows) - 1 // the primary owner is skipped
	if be.Deactivations != wantDeact || be.ActiveUsers != len(active) || be.Share != provision.DefaultBrakeShare || be.Plan == nil {
		t.Errorf("got %+v, want %d deactivations of %d active users at share 0.1", be, wantDeact, len(active))
	}
	for _, want := range []string{"deactivates " + itoa(wantDeact) + " of " + itoa(len(active)) + " active users", "10%", "force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the brake's error %q lacks %q", err, want)
		}
	}

	p, err := provision.NewPlan(d, st, provision.Options{DeactivateMissing: true, Force: true})
	if err != nil {
		t.Fatalf("forced: %v", err)
	}
	if p.Counts.Deactivate != wantDeact || len(p.Skipped) != 1 || p.Skipped[0].Target != e.owner {
		t.Errorf("forced: got %+v, skipped %+v; want %d deactivations and the owner skipped", p.Counts, p.Skipped, wantDeact)
	}

	// A share that allows it passes without force.
	if _, err := provision.NewPlan(d, st, provision.Options{DeactivateMissing: true, BrakeShare: 0.6}); err != nil {
		t.Errorf("brake share 0.6: %v", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
