package provision_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/slacksim"
)

// apply applies a plan and fails the test on an error.
func apply(t *testing.T, c provision.Client, p *provision.Plan, prog provision.Progress, opts provision.ApplyOptions) provision.Result {
	t.Helper()
	res, err := provision.Apply(context.Background(), c, p, prog, opts)
	if err != nil {
		t.Fatalf("Apply: %v (result %+v)", err, res)
	}
	return res
}

func plan(t *testing.T, file string, st *provision.State, opts provision.Options) *provision.Plan {
	t.Helper()
	p, err := provision.NewPlan(parse(t, file, opts.WithDefaults().MatchKey), st, opts)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p
}

// writes counts the SCIM writes the sandbox has answered.
func writes(e *env) int64 {
	var n int64
	for k, v := range e.srv.Stats().SCIM {
		if strings.HasPrefix(k, "POST ") || strings.HasPrefix(k, "PATCH ") || strings.HasPrefix(k, "PUT ") || strings.HasPrefix(k, "DELETE ") {
			n += v
		}
	}
	return n
}

func memberOf(g provision.Group, id string) bool {
	for _, m := range g.Members {
		if m.Value == id {
			return true
		}
	}
	return false
}

func TestApplyEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts provision.ApplyOptions
	}{
		{"concurrent", provision.ApplyOptions{}},
		{"sequential", provision.ApplyOptions{Sequential: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, sandboxConfig())
			s := newScenario(t, e)
			p := plan(t, s.file, s.st, provision.Options{})
			prog := provision.NewMemoryProgress()
			var seen []provision.Outcome
			tc.opts.OnOutcome = func(o provision.Outcome, finished, total int) {
				seen = append(seen, o)
				if finished != len(seen) || total != len(p.Changes) {
					t.Errorf("progress: got %d of %d after %d outcomes", finished, total, len(seen))
				}
			}
			res := apply(t, e.client, p, prog, tc.opts)
			if res != (provision.Result{Done: len(p.Changes)}) {
				t.Errorf("got %+v, want all %d done", res, len(p.Changes))
			}
			if len(seen) != len(p.Changes) {
				t.Errorf("got %d outcome callbacks, want %d", len(seen), len(p.Changes))
			}

			if u := e.user(s.updated.ID); u.Title != s.updated.Title+" (acting)" || u.UserName != s.updated.UserName {
				t.Errorf("updated: got %+v", u)
			}
			if u := e.user(s.same.ID); u.Title != s.same.Title || u.Name != s.same.Name || u.UserName != s.same.UserName {
				t.Errorf("unchanged: got %+v, want %+v", u, s.same)
			}
			if u := e.user(s.deactivated.ID); u.Active {
				t.Errorf("deactivated: %s is active", u.ID)
			}
			if u := e.user(s.reactivated.ID); !u.Active {
				t.Errorf("reactivated: %s is not active", u.ID)
			}
			made := e.usersWhere(fmt.Sprintf("emails.value eq %q", s.newEmail))
			if len(made) != 1 {
				t.Fatalf("got %d users with %s, want 1", len(made), s.newEmail)
			}
			n := made[0]
			if n.UserName != "newperson1" || n.Name.GivenName != "New" || n.Name.FamilyName != "Person" || n.Title != "Engineer" || !n.Active {
				t.Errorf("created: got %+v", n)
			}
			if o := prog.Outcome(1); o.ID != n.ID {
				t.Errorf("the create's outcome has ID %q, want %s", o.ID, n.ID)
			}
			g, _ := e.groupNamed(s.group.DisplayName)
			want := len(s.group.Members) + 2
			if memberOf(s.group, s.deactivated.ID) {
				want-- // Slack takes a deactivated person out of their groups
			}
			if !memberOf(g, n.ID) || !memberOf(g, s.reactivated.ID) || len(g.Members) != want {
				t.Errorf("group %s: got members %v, want the old ones, %s and %s", g.DisplayName, g.Members, n.ID, s.reactivated.ID)
			}
			ng, ok := e.groupNamed(s.newGroup)
			if !ok || len(ng.Members) != 1 || !memberOf(ng, n.ID) {
				t.Errorf("new group: got %+v (found %v), want %s alone", ng, ok, n.ID)
			}

			// Slack now matches the file: a new plan has nothing to do.
			again := plan(t, s.file, e.state(), provision.Options{})
			if len(again.Changes) != 0 {
				t.Errorf("planned again: got %d changes:\n%s", len(again.Changes), again)
			}
			// Applying the same plan again sends nothing.
			before := writes(e)
			apply(t, e.client, p, prog, tc.opts)
			if after := writes(e); after != before {
				t.Errorf("applying a done plan again made %d writes", after-before)
			}
		})
	}
}

func TestApplyOverwriteLeavesOnlyTheFilesMembers(t *testing.T) {
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
	keep := e.user(g.Members[0].Value)
	file := csvOf(t, []row{{"email": keep.PrimaryEmail(), "groups": g.DisplayName}})
	p := plan(t, file, st, provision.Options{Membership: provision.MembershipOverwrite})
	apply(t, e.client, p, provision.NewMemoryProgress(), provision.ApplyOptions{})
	got, _ := e.groupNamed(g.DisplayName)
	if len(got.Members) != 1 || got.Members[0].Value != keep.ID {
		t.Errorf("got members %v, want %s alone", got.Members, keep.ID)
	}
}

// bulk is a file of n new people in one new group and m title changes.
func bulk(t *testing.T, e *env, st *provision.State, prefix string, n, m int) string {
	t.Helper()
	var rows []row
	for i := range n {
		rows = append(rows, row{"userName": fmt.Sprintf("%s%02d", prefix, i), "email": fmt.Sprintf("%s%02d@example.com", prefix, i),
			"givenName": "Bulk", "groups": prefix + " group"})
	}
	for _, u := range people(e, st, true)[:m] {
		rows = append(rows, row{"email": u.PrimaryEmail(), "title": u.Title + " II"})
	}
	return csvOf(t, rows)
}

func TestApplyResumesAfterACrash(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	const creates = 30
	p := plan(t, bulk(t, e, st, "crash", creates, 10), st, provision.Options{})
	prog := provision.NewMemoryProgress()

	// The hub dies after 8 outcomes: requests in flight are cut off.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := provision.Apply(ctx, e.client, p, prog, provision.ApplyOptions{
		OnOutcome: func(_ provision.Outcome, finished, _ int) {
			if finished == 8 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the cut-off run: got %v, want context.Canceled", err)
	}
	outcomes, _ := prog.Outcomes(context.Background())
	started := 0
	for _, o := range outcomes {
		if o.Status == provision.StatusStarted {
			started++
		}
	}
	t.Logf("after the crash: %d outcomes, %d of them unknown (started)", len(outcomes), started)

	postsBefore := e.srv.Stats().SCIM["POST /Users"]
	res := apply(t, e.client, p, prog, provision.ApplyOptions{})
	if res != (provision.Result{Done: len(p.Changes)}) {
		t.Errorf("resumed: got %+v, want all %d done", res, len(p.Changes))
	}
	// Each person exists once, and no create was sent twice but those whose
	// outcome the crash made unknown (and those were looked up first).
	for i := range creates {
		email := fmt.Sprintf("crash%02d@example.com", i)
		if got := e.usersWhere(fmt.Sprintf("emails.value eq %q", email)); len(got) != 1 {
			t.Errorf("%s: %d users, want 1", email, len(got))
		}
	}
	posts := e.srv.Stats().SCIM["POST /Users"]
	if posts < creates || posts > creates+int64(started) {
		t.Errorf("the sandbox answered %d creates for %d people (%d sent after the crash), want at most %d", posts, creates, posts-postsBefore, creates+started)
	}
	g, _ := e.groupNamed("crash group")
	if len(g.Members) != creates {
		t.Errorf("the group has %d members, want %d", len(g.Members), creates)
	}
}

func TestApplyLostAnswersAreNotSentTwice(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	p := plan(t, bulk(t, e, st, "lost", 6, 0), st, provision.Options{})
	e.proxy.add(&fault{method: http.MethodPost, route: "/Users", lose: true, count: 3})
	e.proxy.add(&fault{method: http.MethodPost, route: "/Groups", lose: true, count: 1})
	s := &sleeps{}
	prog := provision.NewMemoryProgress()
	apply(t, e.client, p, prog, provision.ApplyOptions{Retry: provision.Retry{Sleep: s.sleep}})
	if got := e.srv.Stats().SCIM["POST /Users"]; got != 6 {
		t.Errorf("the sandbox answered %d creates for 6 people, want 6: a lost answer was sent again", got)
	}
	if got := e.srv.Stats().SCIM["POST /Groups"]; got != 1 {
		t.Errorf("the sandbox answered %d group creates, want 1", got)
	}
	found := 0
	outcomes, _ := prog.Outcomes(context.Background())
	for _, o := range outcomes {
		if o.Status != provision.StatusDone || o.ID == "" {
			t.Errorf("got outcome %s, want done with an ID", o)
		}
		if strings.Contains(o.Note, "found in Slack") {
			found++
		}
	}
	if found != 4 {
		t.Errorf("got %d changes found done after a lost answer, want 4", found)
	}
	g, _ := e.groupNamed("lost group")
	if len(g.Members) != 6 {
		t.Errorf("the group has %d members, want 6", len(g.Members))
	}
}

func TestApplyCreateConflictWithTheSamePersonIsDone(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	p := plan(t, csvOf(t, []row{{"userName": "twice", "email": "twice@example.com"}, {"userName": "other", "email": "other@example.com"}}), st, provision.Options{})
	// Someone makes the first person between the plan and its apply, and
	// a different person takes the second one's email.
	for _, u := range []map[string]any{
		{"schemas": []string{provision.SchemaUser}, "userName": "twice", "emails": []map[string]any{{"value": "twice@example.com", "primary": true}}},
		{"schemas": []string{provision.SchemaUser}, "userName": "someoneelse", "emails": []map[string]any{{"value": "other@example.com", "primary": true}}},
	} {
		if status := e.do(http.MethodPost, "/Users", nil, u, nil); status != http.StatusCreated {
			t.Fatalf("POST /Users: %d", status)
		}
	}
	prog := provision.NewMemoryProgress()
	res := apply(t, e.client, p, prog, provision.ApplyOptions{})
	if res != (provision.Result{Done: 1, Failed: 1}) {
		t.Errorf("got %+v, want one done and one failed", res)
	}
	if o := prog.Outcome(1); o.Status != provision.StatusDone || o.HTTPStatus != http.StatusConflict || o.ID == "" {
		t.Errorf("the same person: got %s, want done after a 409, with the ID", o)
	}
	if o := prog.Outcome(2); o.Status != provision.StatusFailed || o.HTTPStatus != http.StatusConflict || o.Error != "email_taken" {
		t.Errorf("another person: got %s (%d), want failed 409 email_taken", o, o.HTTPStatus)
	}
}

func TestApplyStopsInA5xxStormAndResumes(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	p := plan(t, bulk(t, e, st, "storm", 2, 2), st, provision.Options{})
	e.proxy.add(&fault{method: http.MethodPatch, route: "/Users/{id}", status: http.StatusServiceUnavailable})
	s := &sleeps{}
	prog := provision.NewMemoryProgress()
	opts := provision.ApplyOptions{Retry: provision.Retry{Attempts: 3, Sleep: s.sleep}}
	res, err := provision.Apply(context.Background(), e.client, p, prog, opts)
	var stopped *provision.StoppedError
	if !errors.As(err, &stopped) {
		t.Fatalf("got %v (%+v), want a StoppedError", err, res)
	}
	if stopped.Status != http.StatusServiceUnavailable || stopped.Method != http.MethodPatch || !strings.HasPrefix(stopped.Path, "/Users/") ||
		p.Changes[stopped.Index-1].Kind != provision.KindUpdate || !strings.Contains(err.Error(), "503 4 times") {
		t.Errorf("got %+v: %v", stopped, err)
	}
	if o := prog.Outcome(stopped.Index); o.Status != provision.StatusStarted {
		t.Errorf("the change that stopped the run: got %s, want it left started", o)
	}
	if res.Failed != 0 || res.Pending == 0 {
		t.Errorf("got %+v, want nothing failed and something pending", res)
	}
	t.Log(err)

	e.proxy.clear()
	res = apply(t, e.client, p, prog, opts)
	if res != (provision.Result{Done: len(p.Changes)}) {
		t.Errorf("resumed: got %+v, want all %d done", res, len(p.Changes))
	}
	if got := e.srv.Stats().SCIM["POST /Users"]; got != 2 {
		t.Errorf("the sandbox answered %d creates, want 2", got)
	}
}

func TestApplyWaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	p := plan(t, bulk(t, e, st, "limited", 3, 0), st, provision.Options{})
	e.proxy.add(&fault{method: http.MethodPost, route: "/Users", status: http.StatusTooManyRequests, retryAfter: "2", count: 2})
	s := &sleeps{}
	res := apply(t, e.client, p, provision.NewMemoryProgress(), provision.ApplyOptions{Retry: provision.Retry{Sleep: s.sleep}})
	if res.Done != len(p.Changes) {
		t.Errorf("got %+v, want all done", res)
	}
	if w := s.all(); len(w) != 2 || w[0] != 2*time.Second || w[1] != 2*time.Second {
		t.Errorf("got waits %v, want Retry-After's 2s twice", w)
	}

	// Past its bound, a 429 stops the run.
	p = plan(t, bulk(t, e, e.state(), "toolimited", 1, 0), e.state(), provision.Options{})
	e.proxy.add(&fault{method: http.MethodPost, route: "/Users", status: http.StatusTooManyRequests, retryAfter: "1"})
	_, err := provision.Apply(context.Background(), e.client, p, provision.NewMemoryProgress(),
		provision.ApplyOptions{Retry: provision.Retry{Sleep: s.sleep, RateLimited: 3}})
	var stopped *provision.StoppedError
	if !errors.As(err, &stopped) || stopped.Status != http.StatusTooManyRequests {
		t.Errorf("endless 429s: got %v, want a StoppedError", err)
	}
}

// holdClient holds the first create until an update and a deactivation are
// in flight too: a run that sent one kind of change after another would
// never release it.
type holdClient struct {
	provision.Client
	mu       sync.Mutex
	held     bool
	seen     map[string]bool
	released chan struct{}
	timedOut bool
}

func (h *holdClient) Do(ctx context.Context, method, path string, q url.Values, body any) (int, []byte, error) {
	h.mu.Lock()
	hold := method == http.MethodPost && path == "/Users" && !h.held
	h.held = h.held || hold
	if method == http.MethodPatch || method == http.MethodDelete {
		h.seen[method] = true
		if h.seen[http.MethodPatch] && h.seen[http.MethodDelete] && h.released != nil {
			close(h.released)
			h.released = nil
		}
	}
	wait := h.released
	h.mu.Unlock()
	if hold && wait != nil {
		select {
		case <-wait:
		case <-time.After(30 * time.Second): // a liveness bound, not a timing check
			h.mu.Lock()
			h.timedOut = true
			h.mu.Unlock()
		}
	}
	return h.Client.Do(ctx, method, path, q, body)
}

func TestApplyRunsKindsSideBySide(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	act := people(e, st, true)
	p := plan(t, csvOf(t, []row{
		{"userName": "side1", "email": "side1@example.com"},
		{"userName": "side2", "email": "side2@example.com"},
		{"email": act[0].PrimaryEmail(), "title": "Side by side"},
		{"email": act[1].PrimaryEmail(), "active": "false"},
	}), st, provision.Options{})
	h := &holdClient{Client: e.client, seen: map[string]bool{}, released: make(chan struct{})}
	res := apply(t, h, p, provision.NewMemoryProgress(), provision.ApplyOptions{})
	if h.timedOut {
		t.Error("the first create was held and no update and deactivation came: kinds of changes ran one after another")
	}
	if res.Done != len(p.Changes) {
		t.Errorf("got %+v, want all done", res)
	}
}

func TestApplySkipsThePrimaryOwner(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	st.Protected = nil // the caller did not say who the primary owner is
	owner := e.user(e.owner)
	p := plan(t, csvOf(t, []row{{"email": owner.PrimaryEmail(), "active": "false"}}), st, provision.Options{})
	if p.Counts.Deactivate != 1 {
		t.Fatalf("got %+v, want the owner's deactivation planned", p.Counts)
	}
	prog := provision.NewMemoryProgress()
	res := apply(t, e.client, p, prog, provision.ApplyOptions{})
	if o := prog.Outcome(1); res.Skipped != 1 || o.Error != "cannot_disable_primary_owner" || o.HTTPStatus != http.StatusForbidden {
		t.Errorf("got %+v, outcome %s, want skipped with Slack's refusal", res, o)
	}
	if !e.user(e.owner).Active {
		t.Error("the primary owner was deactivated")
	}
}

func TestApplyGuestsOnEnterpriseGrid(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{Seed: 3, Users: 40, Workspaces: 2, Edition: slacksim.EditionEnterpriseGrid, RateLimits: true, RateWindow: time.Second})
	st := e.state()
	file := `[{"userName":"partner1","email":"partner1@partner.example","displayName":"Partner One",
	  "guest_type":"multi","guest_expiration":"2030-01-31","guest_channels":["C0123ABCD"]}]`
	d, err := provision.Parse(strings.NewReader(file), provision.FormatJSON, provision.MatchEmail)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision.NewPlan(d, st, provision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prog := provision.NewMemoryProgress()
	apply(t, e.client, p, prog, provision.ApplyOptions{})
	u := e.user(prog.Outcome(1).ID)
	if u.Guest == nil || u.Guest.Type != "multi" || u.Guest.Expiration != "2030-01-31T00:00:00Z" || u.DisplayName != "Partner One" {
		t.Errorf("got %+v guest %+v, want a multi-channel guest until 2030-01-31", u, u.Guest)
	}

	// A new expiration is one PATCH of the extension's expiration.
	file = strings.Replace(file, "2030-01-31", "2031-06-30", 1)
	d, _ = provision.Parse(strings.NewReader(file), provision.FormatJSON, provision.MatchEmail)
	p, err = provision.NewPlan(d, e.state(), provision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts.Update != 1 || len(p.Changes[0].Attrs) != 1 || p.Changes[0].Attrs[0].Attr != "guest.expiration" {
		t.Fatalf("got %s", p)
	}
	apply(t, e.client, p, provision.NewMemoryProgress(), provision.ApplyOptions{})
	if u := e.user(u.ID); u.Guest == nil || u.Guest.Expiration != "2031-06-30T00:00:00Z" {
		t.Errorf("got guest %+v, want the expiration moved", u.Guest)
	}
}

func TestApplyUpdatesEveryAttribute(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	st := e.state()
	u := people(e, st, true)[0]
	const header = "userName,email,emails,givenName,familyName,displayName,title\n"
	steps := []struct {
		key  provision.MatchKey
		file string
	}{
		// Matched by userName: a new primary email, a secondary one, names,
		// display name and title.
		{provision.MatchUserName, header + u.UserName + ",Renamed@Example.com,second@example.org,Given,Family,gf,Chief\n"},
		// Matched by email: a new userName.
		{provision.MatchEmail, header + "renamed_user,renamed@example.com,,,,,\n"},
	}
	for i, step := range steps {
		p := plan(t, step.file, e.state(), provision.Options{MatchKey: step.key})
		if p.Counts.Update != 1 || len(p.Changes) != 1 {
			t.Fatalf("step %d: got %s", i+1, p)
		}
		apply(t, e.client, p, provision.NewMemoryProgress(), provision.ApplyOptions{})
		if again := plan(t, step.file, e.state(), provision.Options{MatchKey: step.key}); len(again.Changes) != 0 {
			t.Errorf("step %d: planned again, got changes:\n%s", i+1, again)
		}
	}
	got := e.user(u.ID)
	if got.UserName != "renamed_user" || got.PrimaryEmail() != "renamed@example.com" || got.SecondaryEmail() != "second@example.org" ||
		got.Name != (provision.Name{GivenName: "Given", FamilyName: "Family"}) || got.DisplayName != "gf" || got.Title != "Chief" {
		t.Errorf("got %+v", got)
	}
}
