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
			t.Fatalf("call %d: got %d %v, want 200 within the 300-call budget", i+1, status, body)
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
		t.Errorf("list after the single-user budget ran out: got %d, want 200 (another class)", status)
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

func TestSCIMWriteBudget(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return start }
	e := scimSetup(t, cfg)
	id := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	patch := scimPatchBody(scimOp("replace", "title", "Tester"))
	for i := range 180 {
		if status, _, body := e.call(http.MethodPatch, "Users/"+id, "Bearer "+e.token, patch); status != http.StatusOK {
			t.Fatalf("write %d: got %d %v, want 200 within the 180-write budget", i+1, status, body)
		}
	}
	status, _, body := e.call(http.MethodPost, "Users", "Bearer "+e.token, map[string]any{
		"schemas": scimUserSchemas, "userName": "late", "emails": []map[string]any{{"value": "late@new.example"}}})
	scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
	if status, _, _ := e.call(http.MethodPatch, "Groups/S0NOTHERE0", "Bearer "+e.token, patch); status != http.StatusNotFound {
		t.Errorf("group write after the user budget ran out: got %d, want 404 (its own budget)", status)
	}
}
