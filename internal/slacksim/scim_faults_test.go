package slacksim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestSCIMFaults: faults that name a SCIM limit (or "*") answer SCIM calls in
// SCIM's shape, before authentication and the rate limits, and expire as
// method faults do.
func TestSCIMFaults(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	user := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	fault := func(body string) { controlJSON(t, e.url, "POST", "/_sandbox/faults", body, http.StatusCreated) }
	auth := "Bearer " + e.token
	newUser := func(name string) map[string]any {
		return map[string]any{"schemas": scimUserSchemas, "userName": name, "emails": []map[string]any{{"value": name + "@new.example"}}}
	}
	retitle := scimPatchBody(scimOp("replace", "title", "Faulted"))

	t.Run("a 5xx on one endpoint", func(t *testing.T) {
		fault(`{"scim":"scim.users.create","status":503,"count":1}`)
		status, _, body := e.call(http.MethodGet, "Users?count=1", auth, nil)
		if status != http.StatusOK {
			t.Errorf("GET /Users: got %d %v, want 200: the fault is for creates", status, body)
		}
		status, _, body = e.call(http.MethodPost, "Users", auth, newUser("faulted1"))
		scimWantError(t, status, body, http.StatusServiceUnavailable, "service_unavailable")
		if body["detail"] != "service_unavailable" || scimJSON(body["schemas"]) != `["urn:ietf:params:scim:api:messages:2.0:Error"]` {
			t.Errorf("got %v, want the RFC 7644 fields too", body)
		}
		e.do(http.MethodPost, "Users", newUser("faulted1"), http.StatusCreated) // count 1: spent
	})

	t.Run("a 429 on a set", func(t *testing.T) {
		fault(`{"scim":"scim.write","status":429,"count":2}`)
		for _, c := range []struct {
			method, path string
			body         any
		}{{http.MethodPatch, "Users/" + user, retitle}, {http.MethodDelete, "Groups/S0NOTHERE0", nil}} {
			status, hdr, body := e.call(c.method, c.path, auth, c.body)
			scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
			if got := hdr.Get("Retry-After"); got != "1" {
				t.Errorf("%s %s: got Retry-After %q, want 1", c.method, c.path, got)
			}
		}
		e.do(http.MethodPatch, "Users/"+user, retitle, http.StatusOK)
	})

	t.Run("before authentication, with the code given", func(t *testing.T) {
		fault(`{"scim":"*","status":500,"error":"internal_error","count":1}`)
		status, _, body := e.call(http.MethodGet, "ServiceProviderConfig", "", nil)
		scimWantError(t, status, body, http.StatusInternalServerError, "internal_error")
		status, _, body = e.call(http.MethodGet, "ServiceProviderConfig", "", nil)
		scimWantError(t, status, body, http.StatusUnauthorized, "missing_authentication")
	})

	t.Run("a truncated body", func(t *testing.T) {
		fault(`{"scim":"scim.read","malformed":true,"count":1}`)
		req, _ := http.NewRequest(http.MethodGet, e.url+"/scim/v2/Users", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || json.Valid(raw) {
			t.Errorf("got %d %s, want 200 and a body that is not whole JSON", resp.StatusCode, raw)
		}
	})

	t.Run("latency lets the call through", func(t *testing.T) {
		f := controlJSON(t, e.url, "POST", "/_sandbox/faults", `{"scim":"scim.users.get","latency_ms":5,"count":1}`, http.StatusCreated)["fault"].(map[string]any)
		if got := e.do(http.MethodGet, "Users/"+user, nil, http.StatusOK)["id"]; got != user {
			t.Errorf("got user %v, want %s", got, user)
		}
		for _, g := range controlJSON(t, e.url, "GET", "/_sandbox/faults", "", http.StatusOK)["faults"].([]any) {
			if g.(map[string]any)["id"] == f["id"] {
				t.Errorf("got fault %v still in force, want it spent after its one call", g)
			}
		}
	})

	for _, bad := range []string{
		`{"scim":"scim.bogus","status":500}`,
		`{"scim":"POST /Users","status":500}`,
		`{"scim":"*","drop":true}`,
		`{"scim":"*","error":"internal_error"}`,
		`{"scim":"*"}`,
		`{"scim":"*","method":"users.list","status":500}`,
	} {
		if got := controlJSON(t, e.url, "POST", "/_sandbox/faults", bad, http.StatusBadRequest); got["ok"] != false {
			t.Errorf("fault %s: got %v, want refused", bad, got)
		}
	}

	if st := e.srv.Stats().SCIM; st["faults"] != 5 || st["errors"] != 1 || st["ratelimited"] != 0 {
		t.Errorf("got stats faults %d, errors %d, ratelimited %d; want 5 answered by faults (latency only delays), 1 error (the unauthenticated call), none rate limited",
			st["faults"], st["errors"], st["ratelimited"])
	}
}
