package slacksim_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
)

// walk pages through a cursor-paginated method, calling between(page) after each
// page, and returns every item that items(answer) yields.
func walk(t *testing.T, base, tok, method string, args url.Values, items func(map[string]any) []string, between func(page int)) []string {
	t.Helper()
	var all []string
	cursor := ""
	for page := 1; ; page++ {
		a := url.Values{}
		for k, v := range args {
			a[k] = v
		}
		a.Set("cursor", cursor)
		got, _ := webAPI(t, base, tok, method, a)
		wantOK(t, got)
		all = append(all, items(got)...)
		meta, _ := got["response_metadata"].(map[string]any)
		cursor, _ = meta["next_cursor"].(string)
		if cursor == "" {
			return all
		}
		if page > 10000 {
			t.Fatalf("%s: more than 10000 pages", method)
		}
		if between != nil {
			between(page)
		}
	}
}

func ids(list string) func(map[string]any) []string {
	return func(got map[string]any) []string {
		var out []string
		for _, x := range got[list].([]any) {
			switch v := x.(type) {
			case string:
				out = append(out, v)
			case map[string]any:
				if id, ok := v["id"].(string); ok {
					out = append(out, id)
				} else {
					out = append(out, v["ts"].(string))
				}
			}
		}
		return out
	}
}

// onceEach checks that every ID of want appears exactly once in got and that got
// has no duplicates.
func onceEach(t *testing.T, what string, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("%s: %s seen twice", what, id)
		}
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("%s: %s seen %d times, want once", what, id, seen[id])
		}
	}
}

func TestPaginationSeesEveryRecordOnceWhileRecordsAreAdded(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Users: 180})
	tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin", "users:read", "channels:read", "channels:history"}}).AccessToken

	before := walk(t, base, tok, "users.list", url.Values{"limit": {"1000"}}, ids("members"), nil)
	if want := srv.Summary().Users["total"]; len(before) != want {
		t.Fatalf("one page of users.list: got %d users, want %d", len(before), want)
	}
	added := 0
	during := walk(t, base, tok, "users.list", url.Values{"limit": {"7"}}, ids("members"), func(page int) {
		controlJSON(t, base, "POST", "/_sandbox/users", fmt.Sprintf(`{"real_name":"New Person%d","email":"new%d@example.com"}`, page, page), 201)
		added++
	})
	onceEach(t, "users.list", during, before)
	if len(during) < len(before) || len(during) > len(before)+added {
		t.Errorf("got %d users, want between %d and %d", len(during), len(before), len(before)+added)
	}

	general := generalChannel(t, base, tok)
	members := walk(t, base, tok, "conversations.members", url.Values{"channel": {general}, "limit": {"1000"}}, ids("members"), nil)
	during = walk(t, base, tok, "conversations.members", url.Values{"channel": {general}, "limit": {"9"}}, ids("members"), func(page int) {
		controlJSON(t, base, "POST", "/_sandbox/users", fmt.Sprintf(`{"real_name":"Joiner Number%d"}`, page), 201)
	})
	onceEach(t, "conversations.members", during, members)

	history := walk(t, base, tok, "conversations.history", url.Values{"channel": {general}, "limit": {"999"}}, ids("messages"), nil)
	if len(history) < 20 {
		t.Fatalf("#general has %d messages, want a real history", len(history))
	}
	during = walk(t, base, tok, "conversations.history", url.Values{"channel": {general}, "limit": {"6"}}, ids("messages"), func(page int) {
		controlJSON(t, base, "POST", "/_sandbox/messages", fmt.Sprintf(`{"channel":%q,"text":"message %d"}`, general, page), 201)
	})
	onceEach(t, "conversations.history", during, history)
	for i := 1; i < len(during); i++ {
		if during[i] >= during[i-1] {
			t.Fatalf("history is not newest first: %s after %s", during[i], during[i-1])
		}
	}

	kinds := url.Values{"types": {"public_channel"}, "limit": {"1000"}}
	channels := walk(t, base, tok, "conversations.list", kinds, ids("channels"), nil)
	kinds.Set("limit", "4")
	onceEach(t, "conversations.list", walk(t, base, tok, "conversations.list", kinds, ids("channels"), nil), channels)
}

func generalChannel(t *testing.T, base, tok string) string {
	t.Helper()
	got, _ := webAPI(t, base, tok, "conversations.list", url.Values{"limit": {"1000"}})
	for _, c := range got["channels"].([]any) {
		if c.(map[string]any)["is_general"] == true {
			return c.(map[string]any)["id"].(string)
		}
	}
	t.Fatal("no #general")
	return ""
}

func TestBillableInfoCursorWalkCoversTheWorkspace(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Users: 120})
	tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin", "users:read"}}).AccessToken
	keys := func(got map[string]any) []string {
		var out []string
		for id := range got["billable_info"].(map[string]any) {
			out = append(out, id)
		}
		return out
	}
	whole := walk(t, base, tok, "team.billableInfo", nil, keys, nil)
	if want := srv.Summary().Users["total"]; len(whole) != want {
		t.Fatalf("team.billableInfo without a cursor: got %d users, want %d", len(whole), want)
	}
	onceEach(t, "team.billableInfo", walk(t, base, tok, "team.billableInfo", url.Values{"limit": {"11"}}, keys, nil), whole)
}

func TestAccessLogsPageAndCursorAgree(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Users: 150, Edition: slacksim.EditionPro})
	tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin"}}).AccessToken
	key := func(got map[string]any) []string {
		var out []string
		for _, l := range got["logins"].([]any) {
			m := l.(map[string]any)
			out = append(out, fmt.Sprintf("%v/%v/%v", m["user_id"], m["ip"], m["user_agent"]))
		}
		return out
	}
	var classic []string
	total := -1
	for page := 1; ; page++ {
		got, _ := webAPI(t, base, tok, "team.accessLogs", url.Values{"count": {"25"}, "page": {fmt.Sprint(page)}})
		wantOK(t, got)
		if got["warning"] != "use_cursor_pagination_instead" {
			t.Errorf("classic paging: got warning %v, want use_cursor_pagination_instead", got["warning"])
		}
		p := got["paging"].(map[string]any)
		total = int(p["total"].(float64))
		classic = append(classic, key(got)...)
		if page >= int(p["pages"].(float64)) {
			break
		}
	}
	if len(classic) != total || total == 0 {
		t.Fatalf("classic paging: got %d logins, paging says %d", len(classic), total)
	}
	onceEach(t, "team.accessLogs cursor", walk(t, base, tok, "team.accessLogs", url.Values{"limit": {"30"}}, key, nil), classic)
	onceEach(t, "team.accessLogs from a bare call", walk(t, base, tok, "team.accessLogs", nil, key, nil), classic)

	got, _ := webAPI(t, base, tok, "team.accessLogs", url.Values{"page": {"101"}})
	wantError(t, got, "over_pagination_limit")
}

func TestFilesListModesAgree(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Users: 200})
	tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"files:read"}}).AccessToken
	var classic []string
	for page := 1; ; page++ {
		got, _ := webAPI(t, base, tok, "files.list", url.Values{"count": {"10"}, "page": {fmt.Sprint(page)}})
		wantOK(t, got)
		classic = append(classic, ids("files")(got)...)
		if page >= int(got["paging"].(map[string]any)["pages"].(float64)) {
			break
		}
	}
	if len(classic) == 0 {
		t.Fatal("files.list found no files")
	}
	onceEach(t, "files.list cursor", walk(t, base, tok, "files.list", url.Values{"limit": {"8"}}, ids("files"), nil), classic)
	onceEach(t, "files.list from a bare call", walk(t, base, tok, "files.list", nil, ids("files"), nil), classic)
}
