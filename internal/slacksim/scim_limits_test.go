package slacksim_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

func TestSCIMRateLimit(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return start } // the window only passes when the test moves the clock
	e := scimSetup(t, cfg)
	id := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	admin := scimPick(t, scimPeople(e.webUsers()), "admin", func(u map[string]any) bool {
		return u["is_admin"] == true && u["deleted"] == false && u["id"] != e.user
	})["id"].(string)
	other := "Bearer " + e.issue(slacksim.TokenRequest{Kind: "user", UserID: admin, Scopes: []string{"admin"}})
	for i := range 300 {
		if status, _, body := e.call(http.MethodGet, "Users/"+id, "Bearer "+e.token, nil); status != http.StatusOK {
			t.Fatalf("call %d: got %d %v, want 200 within the 300-call burst", i+1, status, body)
		}
	}
	status, hdr, body := e.call(http.MethodGet, "Users/"+id, "Bearer "+e.token, nil)
	scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("got Retry-After %q, want whole seconds, at least 1", hdr.Get("Retry-After"))
	}
	status, _, body = e.call(http.MethodGet, "Users/"+id, other, nil)
	scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
	if status, _, _ := e.call(http.MethodGet, "Users?count=1", "Bearer "+e.token, nil); status != http.StatusOK {
		t.Errorf("list after the single-user budget ran out: got %d, want 200 (another limit)", status)
	}

	e.srv.AdvanceClock(time.Second)
	if status, _, body := e.call(http.MethodGet, "Users/"+id, "Bearer "+e.token, nil); status != http.StatusOK {
		t.Errorf("after the window: got %d %v, want 200", status, body)
	}

	resp, err := http.Get(e.url + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats slacksim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{"GET /Users/{id}": 303, "GET /Users": 1, "ratelimited": 2} {
		if got := stats.SCIM[key]; got != want {
			t.Errorf("stats.scim[%q]: got %d, want %d", key, got, want)
		}
	}
}

// scimFrozen is a sandbox whose clock stands still unless the test moves it,
// with window for Slack's minute.
func scimFrozen(t *testing.T, users int, window time.Duration) *scimEnv {
	t.Helper()
	cfg := scimConfig()
	cfg.Users, cfg.RateWindow = users, window
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return start }
	return scimSetup(t, cfg)
}

// scimLimitCase is a call that spends one SCIM limit of its own (and its
// set's), with that limit's burst and refill a minute (Slack's "SCIM API
// rate limits"). req makes the i-th call; user is an active member. Calls to
// IDs that do not exist spend as much as any: the limits are spent before
// the endpoint looks.
type scimLimitCase struct {
	name             string
	req              func(user string, i int) (method, path string, body any)
	burst, perMinute int
}

var scimLimitCases = []scimLimitCase{
	{"scim.users.get", func(user string, _ int) (string, string, any) { return http.MethodGet, "Users/" + user, nil }, 300, 300},
	{"scim.users.create", func(_ string, i int) (string, string, any) {
		name := "burst" + strconv.Itoa(i)
		return http.MethodPost, "Users", map[string]any{"schemas": scimUserSchemas, "userName": name,
			"emails": []map[string]any{{"value": name + "@new.example"}}}
	}, 20, 180},
	{"scim.users.update", func(user string, i int) (string, string, any) {
		return http.MethodPatch, "Users/" + user, scimPatchBody(scimOp("replace", "title", "T"+strconv.Itoa(i)))
	}, 20, 180},
	{"scim.users.delete", func(string, int) (string, string, any) { return http.MethodDelete, "Users/U0NOBODY00", nil }, 20, 180},
	{"scim.users.update by PUT", func(string, int) (string, string, any) {
		return http.MethodPut, "Users/U0NOBODY00", map[string]any{"schemas": scimUserSchemas, "userName": "x"}
	}, 20, 180},
	{"scim.groups.get", func(string, int) (string, string, any) { return http.MethodGet, "Groups/S0NOTHERE0", nil }, 300, 300},
	{"scim.groups.create", func(_ string, i int) (string, string, any) {
		return http.MethodPost, "Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "Burst " + strconv.Itoa(i)}
	}, 20, 180},
	{"scim.groups.update", func(string, int) (string, string, any) {
		return http.MethodPatch, "Groups/S0NOTHERE0", scimPatchBody(scimOp("replace", "displayName", "x"))
	}, 80, 180},
	{"scim.groups.delete", func(string, int) (string, string, any) { return http.MethodDelete, "Groups/S0NOTHERE0", nil }, 20, 180},
}

// TestSCIMBursts: each limit is a bucket of its burst that refills at its
// rate a minute. With a ten-minute window, the bucket gains a call every
// 600s/perMinute, which Retry-After says in whole seconds, rounded up.
func TestSCIMBursts(t *testing.T) {
	t.Parallel()
	const window = 10 * time.Minute
	for _, tc := range scimLimitCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := scimFrozen(t, 20, window)
			user := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
			n := 0
			// burst calls as fast as a client can: every one passes, the next
			// is refused; returns how many passed.
			burst := func(max int) (passed int, refusal http.Header) {
				t.Helper()
				for range max + 1 {
					method, path, body := tc.req(user, n)
					n++
					status, hdr, out := e.call(method, path, "Bearer "+e.token, body)
					if status == http.StatusTooManyRequests {
						scimWantError(t, status, out, http.StatusTooManyRequests, "too_many_requests")
						return passed, hdr
					}
					passed++
				}
				return passed, nil
			}
			interval := window / time.Duration(tc.perMinute)
			wantRetry := int((interval + time.Second - 1) / time.Second)

			passed, refusal := burst(tc.burst)
			if passed != tc.burst || refusal == nil {
				t.Fatalf("got %d calls before a 429, want the burst of %d", passed, tc.burst)
			}
			if got := refusal.Get("Retry-After"); got != strconv.Itoa(wantRetry) {
				t.Errorf("got Retry-After %q, want %d (one call's refill, %s, in whole seconds)", got, wantRetry, interval)
			}

			// Retry-After later the bucket holds one call, and only one.
			e.srv.AdvanceClock(time.Duration(wantRetry) * time.Second)
			if passed, _ := burst(tc.burst); passed != 1 {
				t.Errorf("Retry-After later: got %d calls before a 429, want 1", passed)
			}

			// A full refill later the whole burst passes again.
			e.srv.AdvanceClock(time.Duration(tc.burst) * interval)
			if passed, _ := burst(tc.burst); passed != tc.burst {
				t.Errorf("after the refill time: got %d calls before a 429, want %d", passed, tc.burst)
			}
		})
	}
}

// TestSCIMSteadyRate: calls at a limit's rate never see a 429, however many.
// The clock moves by exactly one call's refill between calls.
func TestSCIMSteadyRate(t *testing.T) {
	t.Parallel()
	const window = time.Second
	for _, tc := range scimLimitCases[1:4] { // users' create, update, delete
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := scimFrozen(t, 20, window)
			user := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
			refused := 0
			for i := range 3 * tc.perMinute {
				method, path, body := tc.req(user, i)
				if status, _, _ := e.call(method, path, "Bearer "+e.token, body); status == http.StatusTooManyRequests {
					refused++
				}
				e.srv.AdvanceClock(window / time.Duration(tc.perMinute))
			}
			if refused != 0 {
				t.Errorf("got %d of %d calls refused at %d a window, want none", refused, 3*tc.perMinute, tc.perMinute)
			}
		})
	}
}

// TestSCIMSteadyRateRealClock paces PATCHes with a ticker at the update
// limit's rate, on the real clock with a one-second window: however the
// machine delays them, none is refused. It asserts what was refused, never
// how long anything took.
func TestSCIMSteadyRateRealClock(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	cfg.Users = 20
	e := scimSetup(t, cfg)
	user := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	tick := time.NewTicker(cfg.RateWindow / 180) // scim.users.update: 180 a minute
	defer tick.Stop()
	refused := 0
	for i := range 100 {
		<-tick.C
		status, _, _ := e.call(http.MethodPatch, "Users/"+user, "Bearer "+e.token, scimPatchBody(scimOp("replace", "title", "T"+strconv.Itoa(i))))
		if status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 0 {
		t.Errorf("got %d of 100 paced calls refused, want none", refused)
	}
}

// TestSCIMRefusedCallsSpendNothing: a call its set refuses takes nothing from
// its endpoint's bucket. With the reads emptied and 300 reads by ID refused,
// a refill of ten reads lets ten reads by ID through: their own bucket was
// not charged for the refusals (it would hold three).
func TestSCIMRefusedCallsSpendNothing(t *testing.T) {
	t.Parallel()
	const window = 10 * time.Second
	e := scimFrozen(t, 10, window)
	user := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	get := func(path string) int {
		status, _, _ := e.call(http.MethodGet, path, "Bearer "+e.token, nil)
		return status
	}
	for i := range 1000 {
		if status := get("ServiceProviderConfig"); status != http.StatusOK {
			t.Fatalf("read %d: got %d, want 200 within the reads' burst of 1000", i+1, status)
		}
	}
	for i := range 300 {
		if status := get("Users/" + user); status != http.StatusTooManyRequests {
			t.Fatalf("read by ID %d: got %d, want 429 from the reads' limit", i+1, status)
		}
	}
	e.srv.AdvanceClock(10 * window / 1000)
	passed := 0
	for get("Users/"+user) == http.StatusOK {
		passed++
	}
	if passed != 10 {
		t.Errorf("got %d reads by ID after ten reads' refill, want 10", passed)
	}
	if got := e.srv.Stats().SCIM["ratelimited"]; got != 301 {
		t.Errorf("got stats.scim.ratelimited %d, want 301", got)
	}
}

// TestSCIMUserLimitsAreSeparate: create, update and delete of users are
// limits of their own, as Slack's page lists them.
func TestSCIMUserLimitsAreSeparate(t *testing.T) {
	t.Parallel()
	e := scimFrozen(t, 20, time.Minute)
	user := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	create := scimLimitCases[1]
	for i := range 20 {
		method, path, body := create.req(user, i)
		if status, _, out := e.call(method, path, "Bearer "+e.token, body); status != http.StatusCreated {
			t.Fatalf("create %d: got %d %v, want 201", i+1, status, out)
		}
	}
	method, path, body := create.req(user, 20)
	status, _, out := e.call(method, path, "Bearer "+e.token, body)
	scimWantError(t, status, out, http.StatusTooManyRequests, "too_many_requests")
	for _, c := range scimLimitCases[2:5] {
		method, path, body := c.req(user, 0)
		if status, _, _ := e.call(method, path, "Bearer "+e.token, body); status == http.StatusTooManyRequests {
			t.Errorf("%s after the creates ran out: got 429, want its own bucket", c.name)
		}
	}
}
