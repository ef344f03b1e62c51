package slacksim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

const redirect = "http://127.0.0.1:9/oauth/callback"

func authorizeQuery(info slacksim.Info, scope, userScope string) url.Values {
	return url.Values{"client_id": {info.ClientID}, "scope": {scope}, "user_scope": {userScope}, "redirect_uri": {redirect}, "state": {"st-123"}}
}

// exchange posts oauth.v2.access with client credentials in HTTP Basic auth,
// the form Slack prefers.
func exchange(t *testing.T, base string, info slacksim.Info, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/oauth.v2.access", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(info.ClientID, info.ClientSecret)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := decodeJSON(resp, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOAuthInstallWithAPlainHTTPClient(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{TokenRotation: true})
	info := srv.Info(base)

	loc := consent(t, base, authorizeQuery(info, "users:read,channels:read", "admin,users:read"), "allow", nil)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		t.Fatalf("redirected to %s, want %s", got, redirect)
	}
	if got := loc.Query().Get("state"); got != "st-123" {
		t.Fatalf("got state %q, want st-123", got)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("redirect carries no code: %s", loc)
	}

	// Client credentials as form fields (slack-go's way) work as well as Basic.
	got, _ := webAPI(t, base, "", "oauth.v2.access", url.Values{"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "code": {code}, "redirect_uri": {redirect}})
	wantOK(t, got)
	if tt := got["token_type"]; tt != "bot" {
		t.Errorf("got token_type %v, want bot", tt)
	}
	bot, _ := got["access_token"].(string)
	if !strings.HasPrefix(bot, "xoxe.xoxb-1-") {
		t.Errorf("got bot token %q, want a rotating xoxe.xoxb-1- token", bot)
	}
	if s := got["scope"]; s != "channels:read,users:read" {
		t.Errorf("got scope %v, want channels:read,users:read", s)
	}
	if got["expires_in"] != float64(43200) || !strings.HasPrefix(got["refresh_token"].(string), "xoxe-1-") {
		t.Errorf("got expires_in %v refresh_token %v, want 43200 and an xoxe-1- token", got["expires_in"], got["refresh_token"])
	}
	team := got["team"].(map[string]any)
	if team["id"] != info.TeamID || got["enterprise"] != nil || got["is_enterprise_install"] != false {
		t.Errorf("got team %v enterprise %v, want team %s and no enterprise", team, got["enterprise"], info.TeamID)
	}
	authed := got["authed_user"].(map[string]any)
	userTok, _ := authed["access_token"].(string)
	if !strings.HasPrefix(userTok, "xoxe.xoxp-1-") || authed["token_type"] != "user" || authed["scope"] != "admin,users:read" {
		t.Errorf("got authed_user %v, want a rotating user token with admin,users:read", authed)
	}

	test, resp := webAPI(t, base, bot, "auth.test", nil)
	wantOK(t, test)
	if test["team_id"] != info.TeamID || test["bot_id"] == "" || test["user_id"] != got["bot_user_id"] {
		t.Errorf("auth.test with the bot token: got %v", test)
	}
	if h := resp.Header.Get("X-OAuth-Scopes"); h != "channels:read,users:read" {
		t.Errorf("got X-OAuth-Scopes %q, want channels:read,users:read", h)
	}
	test, _ = webAPI(t, base, userTok, "auth.test", nil)
	wantOK(t, test)
	if test["user_id"] != authed["id"] {
		t.Errorf("auth.test with the user token: got user_id %v, want %v", test["user_id"], authed["id"])
	}

	// The code is single-use.
	again, _ := webAPI(t, base, "", "oauth.v2.access", url.Values{"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "code": {code}})
	wantError(t, again, "invalid_code")

	// The install shows in the integration log, as Slack records it.
	logs, _ := webAPI(t, base, userTok, "team.integrationLogs", url.Values{"app_id": {info.AppID}})
	wantOK(t, logs)
	if entries := logs["logs"].([]any); len(entries) != 1 || entries[0].(map[string]any)["change_type"] != "added" {
		t.Errorf("got integration logs %v, want one 'added' entry for the app", logs["logs"])
	}
}

func TestOAuthDenied(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	loc := consent(t, base, authorizeQuery(srv.Info(base), "users:read", ""), "cancel", nil)
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-123" || loc.Query().Has("code") {
		t.Fatalf("got redirect %s, want error=access_denied&state=st-123 and no code", loc)
	}
	if st := srv.Stats(); st.Denials != 1 || st.CodeGrants != 0 {
		t.Errorf("got %d denials and %d code grants, want 1 and 0", st.Denials, st.CodeGrants)
	}
}

func TestAuthorizePageRejectsWhatCannotBeTrusted(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{RedirectURLs: []string{"https://hub.example/oauth/slack"}})
	info := srv.Info(base)
	q := func(change func(url.Values)) url.Values {
		v := url.Values{"client_id": {info.ClientID}, "scope": {"users:read"}, "redirect_uri": {"https://hub.example/oauth/slack/callback"}}
		change(v)
		return v
	}
	for _, tc := range []struct {
		name, code string
		query      url.Values
	}{
		{"unknown client", "invalid_client_id", q(func(v url.Values) { v.Set("client_id", "123.456") })},
		{"unregistered redirect", "bad_redirect_uri", q(func(v url.Values) { v.Set("redirect_uri", "https://evil.example/oauth/slack") })},
		{"redirect beside the registered path", "bad_redirect_uri", q(func(v url.Values) { v.Set("redirect_uri", "https://hub.example/oauth/slackx") })},
		{"unknown scope", "invalid_scope", q(func(v url.Values) { v.Set("scope", "users:read,launch:missiles") })},
		{"user-only scope as a bot scope", "invalid_scope", q(func(v url.Values) { v.Set("scope", "admin") })},
		{"no scopes", "invalid_scope", q(func(v url.Values) { v.Del("scope") })},
		{"plain PKCE", "invalid_code_challenge", q(func(v url.Values) {
			v.Set("code_challenge", strings.Repeat("a", 43))
			v.Set("code_challenge_method", "plain")
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := getPage(t, base+"/oauth/v2/authorize?"+tc.query.Encode(), http.StatusBadRequest)
			if !strings.Contains(page, `<code id="error-code">`+tc.code+`</code>`) {
				t.Errorf("error page does not name %s: %.400s", tc.code, page)
			}
		})
	}
	// A registered redirect URL, or a path below it, is accepted.
	page := getPage(t, base+"/oauth/v2/authorize?"+q(func(url.Values) {}).Encode(), http.StatusOK)
	if !strings.Contains(page, `id="allow"`) {
		t.Errorf("consent page has no Allow button: %.300s", page)
	}
}

func TestCodeExchangeErrors(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{})
	info := srv.Info(base)
	newCode := func(q url.Values) string {
		return consent(t, base, q, "allow", nil).Query().Get("code")
	}
	plain := authorizeQuery(info, "users:read", "")
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	pkce := authorizeQuery(info, "users:read", "")
	pkce.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	pkce.Set("code_challenge_method", "S256")

	for _, tc := range []struct {
		name, want string
		form       func() url.Values
		basic      bool
	}{
		{"unknown client", "invalid_client_id", func() url.Values {
			return url.Values{"client_id": {"1.2"}, "client_secret": {info.ClientSecret}, "code": {newCode(plain)}}
		}, false},
		{"wrong secret", "bad_client_secret", func() url.Values {
			return url.Values{"client_id": {info.ClientID}, "client_secret": {"nope"}, "code": {newCode(plain)}}
		}, false},
		{"unknown code", "invalid_code", func() url.Values { return url.Values{"code": {"123.456.abc"}} }, true},
		{"other redirect_uri", "bad_redirect_uri", func() url.Values {
			return url.Values{"code": {newCode(plain)}, "redirect_uri": {"http://127.0.0.1:9/elsewhere"}}
		}, true},
		{"missing redirect_uri when authorize sent one", "bad_redirect_uri", func() url.Values { return url.Values{"code": {newCode(plain)}} }, true},
		{"unknown grant type", "invalid_grant_type", func() url.Values {
			return url.Values{"code": {newCode(plain)}, "grant_type": {"password"}}
		}, true},
		{"PKCE without verifier", "invalid_code_verifier", func() url.Values {
			return url.Values{"code": {newCode(pkce)}, "redirect_uri": {redirect}}
		}, true},
		{"PKCE with the wrong verifier", "invalid_code_verifier", func() url.Values {
			return url.Values{"code": {newCode(pkce)}, "redirect_uri": {redirect}, "code_verifier": {strings.Repeat("w", 50)}}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			if tc.basic {
				got = exchange(t, base, info, tc.form())
			} else {
				got, _ = webAPI(t, base, "", "oauth.v2.access", tc.form())
			}
			wantError(t, got, tc.want)
		})
	}

	t.Run("PKCE public client needs no secret", func(t *testing.T) {
		got, _ := webAPI(t, base, "", "oauth.v2.access", url.Values{"client_id": {info.ClientID}, "code": {newCode(pkce)}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
		wantOK(t, got)
	})
	t.Run("legacy authorize URL", func(t *testing.T) {
		page := getPage(t, base+"/oauth/authorize?"+plain.Encode(), http.StatusOK)
		m := consentInput.FindStringSubmatch(page)
		resp, err := noRedirect.PostForm(base+"/oauth/authorize", url.Values{"consent": {m[1]}, "action": {"allow"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		got := exchange(t, base, info, url.Values{"code": {loc.Query().Get("code")}, "redirect_uri": {redirect}})
		wantError(t, got, "oauth_authorization_url_mismatch")
	})
	t.Run("expired code", func(t *testing.T) {
		srv, base := startSandbox(t, slacksim.Config{})
		info := srv.Info(base)
		code := consent(t, base, authorizeQuery(info, "users:read", ""), "allow", nil).Query().Get("code")
		srv.AdvanceClock(11 * time.Minute)
		wantError(t, exchange(t, base, info, url.Values{"code": {code}, "redirect_uri": {redirect}}), "invalid_code")
	})
	t.Run("consent form answered twice", func(t *testing.T) {
		page := getPage(t, base+"/oauth/v2/authorize?"+plain.Encode(), http.StatusOK)
		form := url.Values{"consent": {consentInput.FindStringSubmatch(page)[1]}, "action": {"allow"}}
		for i, want := range []int{http.StatusFound, http.StatusBadRequest} {
			resp, err := noRedirect.PostForm(base+"/oauth/v2/authorize", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("submission %d: got status %d, want %d", i+1, resp.StatusCode, want)
			}
		}
	})
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{TokenRotation: true, TokenTTL: time.Hour})
	info := srv.Info(base)
	code := consent(t, base, authorizeQuery(info, "users:read", ""), "allow", nil).Query().Get("code")
	first := exchange(t, base, info, url.Values{"code": {code}, "redirect_uri": {redirect}})
	wantOK(t, first)
	access, refresh := first["access_token"].(string), first["refresh_token"].(string)

	srv.AdvanceClock(time.Hour)
	got, _ := webAPI(t, base, access, "users.list", url.Values{"limit": {"1"}})
	wantError(t, got, "token_expired")

	next := exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	wantOK(t, next)
	if next["token_type"] != "bot" || next["access_token"] == access || next["refresh_token"] == refresh || next["expires_in"] != float64(3600) {
		t.Fatalf("refresh: got %v, want a new bot token and a new refresh token lasting 3600s", next)
	}
	if _, nested := next["authed_user"]; nested {
		t.Errorf("refresh answer has authed_user; Slack's refresh answer is flat")
	}
	got, _ = webAPI(t, base, next["access_token"].(string), "users.list", url.Values{"limit": {"1"}})
	wantOK(t, got)

	// The spent refresh token is revoked; the new one works once.
	wantError(t, exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), "invalid_refresh_token")
	wantOK(t, exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next["refresh_token"].(string)}}))
	wantError(t, exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next["refresh_token"].(string)}}), "invalid_refresh_token")

	bad := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {info.ClientID}, "client_secret": {"wrong"}}
	got, _ = webAPI(t, base, "", "oauth.v2.access", bad)
	wantError(t, got, "invalid_refresh_token")
	if st := srv.Stats(); st.Refreshes != 2 || st.CodeGrants != 1 {
		t.Errorf("got %d refreshes and %d code grants, want 2 and 1", st.Refreshes, st.CodeGrants)
	}
}

func TestRefreshNeedsTheClientSecret(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{TokenRotation: true})
	info := srv.Info(base)
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}})
	got, _ := webAPI(t, base, "", "oauth.v2.access", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {info.ClientID}, "client_secret": {"wrong"}})
	wantError(t, got, "bad_client_secret")
	got, _ = webAPI(t, base, "", "oauth.v2.access", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {info.ClientID}})
	wantError(t, got, "bad_client_secret")
	// The failed attempts did not spend the refresh token.
	wantOK(t, exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}))
}

func TestWithoutRotationTokensAreLongLivedAndStable(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{TokenRotation: false})
	info := srv.Info(base)
	install := func(scope string) map[string]any {
		code := consent(t, base, authorizeQuery(info, scope, ""), "allow", nil).Query().Get("code")
		got := exchange(t, base, info, url.Values{"code": {code}, "redirect_uri": {redirect}})
		wantOK(t, got)
		return got
	}
	first := install("users:read")
	if tok := first["access_token"].(string); !strings.HasPrefix(tok, "xoxb-") || first["refresh_token"] != nil || first["expires_in"] != nil {
		t.Fatalf("got %v, want a long-lived xoxb- token with no refresh token", first)
	}
	// Reinstalling with another scope keeps the bot token and adds the scope, as Slack does.
	second := install("channels:read")
	if second["access_token"] != first["access_token"] || second["scope"] != "channels:read,users:read" || second["bot_user_id"] != first["bot_user_id"] {
		t.Errorf("reinstall: got token %v scope %v bot %v; want the same token and bot with both scopes", second["access_token"], second["scope"], second["bot_user_id"])
	}
	srv.AdvanceClock(1000 * time.Hour)
	got, _ := webAPI(t, base, first["access_token"].(string), "auth.test", nil)
	wantOK(t, got)
	got, _ = webAPI(t, base, "", "oauth.v2.exchange", url.Values{"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "token": {first["access_token"].(string)}})
	wantError(t, got, "token_rotation_not_enabled")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{TokenRotation: true})
	info := srv.Info(base)
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}})

	got, _ := webAPI(t, base, tok.AccessToken, "auth.revoke", url.Values{"test": {"true"}})
	wantOK(t, got)
	if got["revoked"] != false {
		t.Fatalf("auth.revoke test=true: got revoked %v, want false", got["revoked"])
	}
	got, _ = webAPI(t, base, tok.AccessToken, "auth.revoke", nil)
	wantOK(t, got)
	if got["revoked"] != true {
		t.Fatalf("auth.revoke: got revoked %v, want true", got["revoked"])
	}
	got, _ = webAPI(t, base, tok.AccessToken, "auth.test", nil)
	wantError(t, got, "token_revoked")
	wantError(t, exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}), "invalid_refresh_token")
	if st := srv.Stats(); st.Revocations != 1 {
		t.Errorf("got %d revocations, want 1", st.Revocations)
	}
}

func TestExchangeTurnsALongLivedTokenIntoARotatingOne(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{TokenRotation: true})
	info := srv.Info(base)
	noRotation := false
	legacy := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}, Rotation: &noRotation})
	if !strings.HasPrefix(legacy.AccessToken, "xoxb-") || legacy.RefreshToken != "" {
		t.Fatalf("got %+v, want a long-lived token", legacy)
	}
	form := url.Values{"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "token": {legacy.AccessToken}}
	got, _ := webAPI(t, base, "", "oauth.v2.exchange", form)
	wantOK(t, got)
	if !strings.HasPrefix(got["access_token"].(string), "xoxe.xoxb-1-") || !strings.HasPrefix(got["refresh_token"].(string), "xoxe-1-") {
		t.Fatalf("got %v, want a rotating token and a refresh token", got)
	}
	again, _ := webAPI(t, base, "", "oauth.v2.exchange", form)
	wantError(t, again, "token_already_exchanged")
	test, _ := webAPI(t, base, legacy.AccessToken, "auth.test", nil)
	wantError(t, test, "token_revoked")

	for _, tc := range []struct {
		name, want string
		form       url.Values
	}{
		{"unknown token", "invalid_token", url.Values{"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "token": {"xoxb-1-2-3"}}},
		{"rotating token", "invalid_token", url.Values{"client_id": {info.ClientID}, "client_secret": {info.ClientSecret}, "token": {got["access_token"].(string)}}},
		{"wrong secret", "bad_client_secret", url.Values{"client_id": {info.ClientID}, "client_secret": {"x"}, "token": {legacy.AccessToken}}},
		{"unknown client", "invalid_client_id", url.Values{"client_id": {"9.9"}, "client_secret": {"x"}, "token": {legacy.AccessToken}}},
		{"no secret", "invalid_arguments", url.Values{"client_id": {info.ClientID}, "token": {legacy.AccessToken}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := webAPI(t, base, "", "oauth.v2.exchange", tc.form)
			wantError(t, got, tc.want)
		})
	}
}

func TestEnterpriseGridOrgWideInstall(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Workspaces: 3, TokenRotation: true})
	info := srv.Info(base)
	if info.EnterpriseID == "" {
		t.Fatal("Grid sandbox announces no enterprise_id")
	}
	teams := srv.Summary().Teams
	added := url.Values{"install_into": {info.EnterpriseID}, "org_team": {teams[0].ID, teams[2].ID}}
	code := consent(t, base, authorizeQuery(info, "users:read", "admin.analytics:read"), "allow", added).Query().Get("code")
	got := exchange(t, base, info, url.Values{"code": {code}, "redirect_uri": {redirect}})
	wantOK(t, got)
	if got["team"] != nil || got["is_enterprise_install"] != true || got["enterprise"].(map[string]any)["id"] != info.EnterpriseID {
		t.Fatalf("org install: got team %v enterprise %v is_enterprise_install %v", got["team"], got["enterprise"], got["is_enterprise_install"])
	}
	if id := got["bot_user_id"].(string); !strings.HasPrefix(id, "W") {
		t.Errorf("got bot user %s, want a W-prefixed Grid user ID", id)
	}
	bot := got["access_token"].(string)

	list, _ := webAPI(t, base, bot, "auth.teams.list", nil)
	wantOK(t, list)
	var ids []string
	for _, tm := range list["teams"].([]any) {
		ids = append(ids, tm.(map[string]any)["id"].(string))
	}
	if len(ids) != 2 || !strings.Contains(strings.Join(ids, ","), teams[0].ID) || !strings.Contains(strings.Join(ids, ","), teams[2].ID) {
		t.Errorf("auth.teams.list: got %v, want the two workspaces chosen on the consent page", ids)
	}
	test, _ := webAPI(t, base, bot, "auth.test", nil)
	if test["team_id"] != info.EnterpriseID || test["is_enterprise_install"] != true {
		t.Errorf("auth.test with an org token: got %v", test)
	}

	users, _ := webAPI(t, base, bot, "users.list", url.Values{"limit": {"5"}})
	wantError(t, users, "missing_argument")
	users, _ = webAPI(t, base, bot, "users.list", url.Values{"limit": {"5"}, "team_id": {teams[1].ID}})
	wantError(t, users, "team_access_not_granted")
	users, _ = webAPI(t, base, bot, "users.list", url.Values{"limit": {"5"}, "team_id": {teams[2].ID}})
	wantOK(t, users)

	// An app installed org-wide cannot then be installed into one workspace.
	code = consent(t, base, authorizeQuery(info, "users:read", ""), "allow", url.Values{"install_into": {teams[1].ID}}).Query().Get("code")
	wantError(t, exchange(t, base, info, url.Values{"code": {code}, "redirect_uri": {redirect}}), "cannot_install_an_org_installed_app")
}
