package slacksim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read", "team:read"}}).AccessToken

	controlJSON(t, base, "POST", "/_sandbox/faults", `{"method":"users.list","error":"internal_error","count":2}`, 201)
	for i := 0; i < 2; i++ {
		got, _ := webAPI(t, base, tok, "users.list", nil)
		wantError(t, got, "internal_error")
	}
	got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}})
	wantOK(t, got) // the fault expired after two calls
	got, _ = webAPI(t, base, tok, "team.info", nil)
	wantOK(t, got) // and never touched another method

	controlJSON(t, base, "POST", "/_sandbox/faults", `{"method":"team.info","status":503,"count":1}`, 201)
	resp, err := http.Post(base+"/api/team.info", "application/x-www-form-urlencoded", strings.NewReader("token="+tok))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "Service Unavailable") {
		t.Errorf("5xx fault: got %d %q %.100s, want 503 with an HTML body", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	controlJSON(t, base, "POST", "/_sandbox/faults", `{"method":"*","malformed":true,"count":1}`, 201)
	resp, err = http.Post(base+"/api/team.info", "application/x-www-form-urlencoded", strings.NewReader("token="+tok))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), `{"ok":true`) || strings.HasSuffix(string(body), "}") {
		t.Errorf("malformed fault: got %d %q, want a truncated 200 body", resp.StatusCode, body)
	}

	controlJSON(t, base, "POST", "/_sandbox/faults", `{"method":"team.info","status":429,"count":1}`, 201)
	_, r429 := webAPI(t, base, tok, "team.info", nil)
	if r429.StatusCode != 429 || r429.Header.Get("Retry-After") != "1" {
		t.Errorf("429 fault: got %d Retry-After %q", r429.StatusCode, r429.Header.Get("Retry-After"))
	}

	f := controlJSON(t, base, "POST", "/_sandbox/faults", `{"method":"team.info","latency_ms":30}`, 201)["fault"].(map[string]any)
	start := time.Now()
	got, _ = webAPI(t, base, tok, "team.info", nil)
	wantOK(t, got)
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("latency fault: answered in %s, want at least 30ms", waited)
	}
	list := controlJSON(t, base, "GET", "/_sandbox/faults", "", 200)["faults"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["hits"] != float64(1) {
		t.Errorf("got faults %v, want the latency fault with one hit", list)
	}
	controlJSON(t, base, "DELETE", fmt.Sprintf("/_sandbox/faults/%v", f["id"]), "", 200)
	controlJSON(t, base, "DELETE", fmt.Sprintf("/_sandbox/faults/%v", f["id"]), "", 404)

	for _, bad := range []string{`{}`, `{"method":"x"}`, `{"method":"x","status":200}`, `{"method":"x","error":"Bad Code"}`, `{"method":"x","rate":2,"error":"e"}`, `{"method":"x","eror":"typo"}`, `not json`} {
		got := controlJSON(t, base, "POST", "/_sandbox/faults", bad, 400)
		if got["ok"] != false || got["message"] == "" {
			t.Errorf("fault %s: got %v, want ok:false with a message", bad, got)
		}
	}
	if st := srv.Stats().Methods["users.list"]; st.Faults != 2 {
		t.Errorf("got %d faults counted for users.list, want 2", st.Faults)
	}
}

func TestWorkspaceChangesShowThroughTheAPI(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "users:read.email", "channels:read", "channels:history"}}).AccessToken

	made := controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Grace Hopper","email":"grace@navy.example","title":"Rear Admiral"}`, 201)
	id := made["user"].(map[string]any)["id"].(string)
	got, _ := webAPI(t, base, tok, "users.lookupByEmail", url.Values{"email": {"grace@navy.example"}})
	wantOK(t, got)
	if got["user"].(map[string]any)["id"] != id {
		t.Fatalf("lookupByEmail found %v, want %s", got["user"], id)
	}
	before := got["user"].(map[string]any)["updated"].(float64)

	controlJSON(t, base, "PATCH", "/_sandbox/users/"+id, `{"title":"Commodore","role":"admin"}`, 200)
	got, _ = webAPI(t, base, tok, "users.info", url.Values{"user": {id}})
	u := got["user"].(map[string]any)
	if u["profile"].(map[string]any)["title"] != "Commodore" || u["is_admin"] != true || u["updated"].(float64) <= before {
		t.Errorf("after PATCH: got title %v is_admin %v updated %v (was %v)", u["profile"].(map[string]any)["title"], u["is_admin"], u["updated"], before)
	}

	controlJSON(t, base, "POST", "/_sandbox/users/"+id+"/deactivate", "", 200)
	got, _ = webAPI(t, base, tok, "users.info", url.Values{"user": {id}})
	if got["user"].(map[string]any)["deleted"] != true {
		t.Errorf("after deactivate: got deleted %v, want true", got["user"].(map[string]any)["deleted"])
	}
	general := generalChannel(t, base, tok)
	members := walk(t, base, tok, "conversations.members", url.Values{"channel": {general}, "limit": {"1000"}}, ids("members"), nil)
	for _, m := range members {
		if m == id {
			t.Errorf("a deactivated user is still a member of #general")
		}
	}
	controlJSON(t, base, "POST", "/_sandbox/users/"+id+"/reactivate", "", 200)

	posted := controlJSON(t, base, "POST", "/_sandbox/messages", fmt.Sprintf(`{"channel":%q,"text":"hello"}`, general), 201)
	reply := controlJSON(t, base, "POST", "/_sandbox/messages", fmt.Sprintf(`{"channel":%q,"text":"a reply","thread_ts":%q}`, general, posted["ts"]), 201)
	got, _ = webAPI(t, base, tok, "conversations.replies", url.Values{"channel": {general}, "ts": {posted["ts"].(string)}})
	wantOK(t, got)
	msgs := got["messages"].([]any)
	if len(msgs) != 2 || msgs[1].(map[string]any)["ts"] != reply["ts"] || msgs[0].(map[string]any)["latest_reply"] != reply["ts"] {
		t.Errorf("conversations.replies: got %v", msgs)
	}

	ch := controlJSON(t, base, "POST", "/_sandbox/channels", `{"name":"new-project"}`, 201)["channel"].(map[string]any)
	controlJSON(t, base, "POST", "/_sandbox/channels", `{"name":"new-project"}`, 409)
	controlJSON(t, base, "POST", "/_sandbox/channels/"+ch["id"].(string)+"/archive", "", 200)
	got, _ = webAPI(t, base, tok, "conversations.info", url.Values{"channel": {ch["id"].(string)}})
	if got["channel"].(map[string]any)["is_archived"] != true {
		t.Errorf("archived channel: got is_archived %v", got["channel"].(map[string]any)["is_archived"])
	}
	controlJSON(t, base, "POST", "/_sandbox/channels/"+general+"/archive", "", 400)
	controlJSON(t, base, "POST", "/_sandbox/nothing", "", 404)
}

func TestResetReturnsToTheGeneratedState(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	want := srv.Summary().Users["total"]
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}}).AccessToken
	controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Extra Person"}`, 201)
	srv.AdvanceClock(time.Hour)
	webAPI(t, base, tok, "users.list", nil)

	controlJSON(t, base, "POST", "/_sandbox/reset", `{"what":["stats"]}`, 200)
	if st := srv.Stats(); len(st.Methods) != 0 {
		t.Errorf("after a stats reset: got %v", st.Methods)
	}
	controlJSON(t, base, "POST", "/_sandbox/reset", `{"what":["teleport"]}`, 400)
	controlJSON(t, base, "POST", "/_sandbox/reset", ``, 200)
	if got := srv.Summary().Users["total"]; got != want {
		t.Errorf("after a full reset: got %d users, want %d", got, want)
	}
	got, _ := webAPI(t, base, tok, "users.list", nil)
	wantError(t, got, "invalid_auth")
	clock := controlJSON(t, base, "GET", "/_sandbox/clock", "", 200)
	if clock["offset"] != "0s" {
		t.Errorf("after a full reset the clock is offset by %v", clock["offset"])
	}
}

func TestTokenControl(t *testing.T) {
	t.Parallel()
	_, base := startSandbox(t, slacksim.Config{TokenRotation: true})
	got := controlJSON(t, base, "POST", "/_sandbox/tokens", `{"kind":"user","scopes":["users:read"]}`, 201)
	if !strings.HasPrefix(got["access_token"].(string), "xoxe.xoxp-1-") || got["refresh_token"] == "" {
		t.Errorf("got %v, want a rotating user token with a refresh token", got)
	}
	for _, bad := range []string{`{"scopes":[]}`, `{"kind":"robot","scopes":["users:read"]}`, `{"scopes":["admin"]}`, `{"scopes":["users:read"],"org":true}`, `{"scopes":["users:read"],"team_id":"T0NOPE"}`} {
		controlJSON(t, base, "POST", "/_sandbox/tokens", bad, 400)
	}
}
