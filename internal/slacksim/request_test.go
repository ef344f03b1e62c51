package slacksim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
)

func rawCall(t testing.TB, base, method, path, contentType string, body io.Reader, header http.Header) (map[string]any, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer is not JSON (%v): %.200s", err, b)
	}
	return out, resp
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read", "channels:read"}}).AccessToken
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	form := "limit=2"

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("token", tok)
	mw.WriteField("limit", "2")
	mw.Close()

	for _, tc := range []struct {
		name, method, path, ctype, body string
		header                          http.Header
		wantErr                         string // "" means ok
		wantWarning                     string
		wantStatus                      int
	}{
		{"form with Bearer", "POST", "/api/users.list", "application/x-www-form-urlencoded", form, bearer, "", "", 200},
		{"token in the form body", "POST", "/api/users.list", "application/x-www-form-urlencoded", form + "&token=" + tok, nil, "", "", 200},
		{"token in the query", "GET", "/api/users.list?limit=2&token=" + tok, "", "", nil, "", "", 200},
		{"query and body arguments merge", "POST", "/api/users.list?token=" + tok, "application/x-www-form-urlencoded", form, nil, "", "", 200},
		{"multipart with the token", "POST", "/api/users.list", mw.FormDataContentType(), mp.String(), nil, "", "", 200},
		{"text/plain form", "POST", "/api/users.list", "text/plain", form, bearer, "", "", 200},
		{"form with a charset", "POST", "/api/users.list", "application/x-www-form-urlencoded; charset=utf-8", form, bearer, "", "superfluous_charset", 200},
		{"JSON with a charset", "POST", "/api/users.list", "application/json; charset=utf-8", `{"limit":2}`, bearer, "", "", 200},
		{"JSON without a charset", "POST", "/api/users.list", "application/json", `{"limit":2}`, bearer, "", "missing_charset", 200},
		{"JSON cannot carry the token", "POST", "/api/users.list", "application/json; charset=utf-8", `{"token":"` + tok + `"}`, nil, "not_authed", "", 200},
		{"JSON that is not an object", "POST", "/api/users.list", "application/json", `[1,2]`, bearer, "invalid_json", "", 200},
		{"broken JSON", "POST", "/api/users.list", "application/json", `{"limit":`, bearer, "invalid_json", "", 200},
		{"unknown content type", "POST", "/api/users.list", "application/xml", "<x/>", bearer, "invalid_post_type", "", 200},
		{"body without a content type", "POST", "/api/users.list", "", form, bearer, "missing_post_type", "", 200},
		{"bad charset", "POST", "/api/users.list", "application/x-www-form-urlencoded; charset=koi8-r", form, bearer, "invalid_charset", "", 200},
		{"broken form encoding", "POST", "/api/users.list", "application/x-www-form-urlencoded", "limit=%zz", bearer, "invalid_form_data", "", 200},
		{"multipart without boundary", "POST", "/api/users.list", "multipart/form-data", "x", bearer, "invalid_form_data", "", 200},
		{"PHP-style array argument", "POST", "/api/users.list", "application/x-www-form-urlencoded", "users[0]=U1", bearer, "invalid_array_arg", "", 200},
		{"argument name with a dash", "POST", "/api/users.list", "application/x-www-form-urlencoded", "bad-name=1", bearer, "invalid_arg_name", "", 200},
		{"no token", "POST", "/api/users.list", "application/x-www-form-urlencoded", form, nil, "not_authed", "", 200},
		{"unknown token", "POST", "/api/users.list", "application/x-www-form-urlencoded", form, http.Header{"Authorization": {"Bearer xoxb-nope"}}, "invalid_auth", "", 200},
		{"unknown method", "POST", "/api/users.fly", "", "", bearer, "unknown_method", "", 200},
		{"retired method", "POST", "/api/channels.list", "", "", bearer, "method_deprecated", "", 200},
		{"documented but not emulated", "POST", "/api/admin.apps.approve", "", "", bearer, "unknown_method", "", 200},
		{"not a method name", "GET", "/api/%20", "", "", bearer, "unknown_method", "", 200},
		{"missing required argument", "POST", "/api/conversations.info", "", "", bearer, "invalid_arguments", "", 200},
		{"bad limit where documented", "POST", "/api/conversations.list", "application/x-www-form-urlencoded", "limit=ten", bearer, "invalid_limit", "", 200},
		{"bad limit elsewhere", "POST", "/api/users.list", "application/x-www-form-urlencoded", "limit=-3", bearer, "invalid_arguments", "", 200},
		{"bad cursor", "POST", "/api/users.list", "application/x-www-form-urlencoded", "cursor=bm9wZQ==", bearer, "invalid_cursor", "", 200},
		{"cursor of another list", "POST", "/api/users.list", "application/x-www-form-urlencoded", "cursor=Y2hhbm5lbDpDMTIz", bearer, "invalid_cursor", "", 200},
		{"oversized body", "POST", "/api/users.list", "application/x-www-form-urlencoded", "x=" + strings.Repeat("a", 9<<20), bearer, "request_too_large", "", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			got, resp := rawCall(t, base, tc.method, tc.path, tc.ctype, body, tc.header)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantErr == "" {
				wantOK(t, got)
			} else {
				wantError(t, got, tc.wantErr)
			}
			if tc.wantWarning != "" {
				meta, _ := got["response_metadata"].(map[string]any)
				if got["warning"] != tc.wantWarning || meta == nil || len(meta["warnings"].([]any)) != 1 {
					t.Errorf("got warning %v and response_metadata %v, want %s in both", got["warning"], meta, tc.wantWarning)
				}
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("got Content-Type %q, want application/json; charset=utf-8", ct)
			}
		})
	}
}

func TestTokenTypesAndScopes(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	bot := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"channels:read", "team:read"}}).AccessToken
	usr := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin", "users:read"}}).AccessToken

	got, resp := webAPI(t, base, bot, "users.list", nil)
	wantError(t, got, "missing_scope")
	if got["needed"] != "users:read" || got["provided"] != "channels:read,team:read" {
		t.Errorf("missing_scope: got needed %v provided %v, want users:read and channels:read,team:read", got["needed"], got["provided"])
	}
	if h, a := resp.Header.Get("X-OAuth-Scopes"), resp.Header.Get("X-Accepted-OAuth-Scopes"); h != "channels:read,team:read" || a != "users:read" {
		t.Errorf("missing_scope: got X-OAuth-Scopes %q and X-Accepted-OAuth-Scopes %q, want the granted and the accepted scopes", h, a)
	}
	got, _ = webAPI(t, base, bot, "team.accessLogs", nil)
	wantError(t, got, "not_allowed_token_type")
	got, _ = webAPI(t, base, usr, "team.accessLogs", url.Values{"count": {"5"}})
	wantOK(t, got)
	got, _ = webAPI(t, base, bot, "conversations.list", url.Values{"types": {"public_channel,im"}})
	wantError(t, got, "missing_scope")
	if got["needed"] != "im:read" {
		t.Errorf("got needed %v, want im:read", got["needed"])
	}
	got, _ = webAPI(t, base, bot, "conversations.list", url.Values{"types": {"public_channel,fax"}})
	wantError(t, got, "invalid_types")
}

func TestEmailNeedsItsScope(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	without := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}}).AccessToken
	with := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "users:read.email"}}).AccessToken
	count := func(tok string) (emails int) {
		got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"200"}})
		wantOK(t, got)
		for _, m := range got["members"].([]any) {
			if _, ok := m.(map[string]any)["profile"].(map[string]any)["email"]; ok {
				emails++
			}
		}
		return emails
	}
	if n := count(without); n != 0 {
		t.Errorf("without users:read.email: got %d emails, want 0", n)
	}
	if n := count(with); n < 100 {
		t.Errorf("with users:read.email: got %d emails, want most people's", n)
	}
}

// FuzzWebAPI throws arbitrary requests at the Web API. Whatever comes in, the
// answer is Slack's JSON envelope with a status Slack uses: never a panic, never
// an HTML 500.
func FuzzWebAPI(f *testing.F) {
	srv, err := slacksim.New(slacksim.Config{Users: 40, Channels: 6})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin", "users:read", "users:read.email", "channels:read", "channels:history", "groups:read", "files:read", "team:read", "usergroups:read", "chat:write"}})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Add("users.list", "limit=3&cursor=", "application/x-www-form-urlencoded", "include_locale=true")
	f.Add("conversations.history", "channel=C1&latest=1.5&oldest=abc", "application/json", `{"limit":"x"}`)
	f.Add("oauth.v2.access", "", "application/x-www-form-urlencoded", "code=1.2.3&grant_type=refresh_token&refresh_token=xoxe-1-x")
	f.Add("team.accessLogs", "page=101&count=1001", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"before\"\r\n\r\n-1\r\n--x--\r\n")
	f.Add("files.list", "types=images,zips&ts_from=1e9&user=U", "text/plain; charset=iso-8859-1", "cursor=ZmlsZTpG")
	f.Add("chat.postMessage", "", "application/json; charset=utf-8", `{"channel":"general","text":"hi","thread_ts":"1.000001"}`)
	f.Add("admin.analytics.getFile", "type=member&date=2026-02-30", "", "")
	f.Fuzz(func(t *testing.T, method, query, contentType, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.URL.Path, req.URL.RawQuery = "/api/"+method, query
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusTooManyRequests, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s %q: got status %d: %.200s", method, query, rec.Code, rec.Body.Bytes())
		}
		if rec.Header().Get("Content-Type") == "application/gzip" {
			return
		}
		var env struct {
			OK    *bool  `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.OK == nil {
			t.Fatalf("%s %q: answer is not Slack's envelope (%v): %.200s", method, query, err, rec.Body.Bytes())
		}
		if !*env.OK && env.Error == "" {
			t.Fatalf("%s: ok:false without an error code", method)
		}
	})
}

// Slack gzips a JSON answer for a client that accepts it (Go's transport
// asks for it unless told not to), and sends it plain to one that does not.
func TestGzipWhenAccepted(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}}).AccessToken
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, accept := range []string{"gzip", "gzip;q=0", ""} {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/users.list?limit=50", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		gz := resp.Header.Get("Content-Encoding") == "gzip"
		if gz != (accept == "gzip") {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", accept, resp.Header.Get("Content-Encoding"))
		}
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		var page struct {
			OK      bool             `json:"ok"`
			Members []map[string]any `json:"members"`
		}
		if err := json.Unmarshal(body, &page); err != nil || !page.OK || len(page.Members) != 50 {
			t.Errorf("Accept-Encoding %q: %v, %d members", accept, err, len(page.Members))
		}
	}
}
