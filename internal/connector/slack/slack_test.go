package slack_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
)

var ctx = context.Background()

const redirect = "http://127.0.0.1/oauth/callback"

// sandbox is a Slack sandbox served over HTTP and a client of it. It remembers
// every secret a test saw, so that TestErrorsHoldNoSecrets can look for them.
type sandbox struct {
	srv  *slacksim.Server
	ts   *httptest.Server
	info slacksim.Info
	c    *slack.Client

	mu      sync.Mutex
	secrets []string
}

func setup(t *testing.T, cfg slacksim.Config) *sandbox {
	t.Helper()
	if cfg.Users == 0 {
		cfg.Users = 100
	}
	srv, err := slacksim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	sb := &sandbox{srv: srv, ts: ts, info: srv.Info(ts.URL), c: slack.New(ts.URL, ts.Client())}
	sb.remember(sb.info.ClientSecret, sb.info.SigningSecret)
	return sb
}

func setupWorkspace(t *testing.T) *sandbox {
	t.Helper()
	return setup(t, slacksim.Config{TokenRotation: true})
}

func setupGrid(t *testing.T) *sandbox {
	t.Helper()
	return setup(t, slacksim.Config{TokenRotation: true, Edition: slacksim.EditionEnterpriseGrid})
}

func (sb *sandbox) remember(values ...string) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, v := range values {
		if v != "" {
			sb.secrets = append(sb.secrets, v)
		}
	}
}

func (sb *sandbox) rememberInstall(in slack.Install) {
	sb.remember(in.Bot.Access.Reveal(), in.Bot.Refresh.Reveal(), in.User.Access.Reveal(), in.User.Refresh.Reveal())
}

// issue gets a token from the sandbox without the browser.
func (sb *sandbox) issue(t *testing.T, req slacksim.TokenRequest) slacksim.IssuedToken {
	t.Helper()
	tok, err := sb.srv.IssueToken(req)
	if err != nil {
		t.Fatal(err)
	}
	sb.remember(tok.AccessToken, tok.RefreshToken)
	return tok
}

func (sb *sandbox) secret() secrets.Secret { return secrets.Secret(sb.info.ClientSecret) }

var consentField = regexp.MustCompile(`name="consent" value="([^"]+)"`)

// consent drives the sandbox's consent page as a browser would: GET the
// authorize URL, read the hidden consent field, POST action=allow (plus extra
// fields) to the same path, and read the code from the 302 without following
// it.
func (sb *sandbox) consent(t *testing.T, authorizeURL string, extra url.Values) (code, state string) {
	t.Helper()
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := consentField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("consent page: got HTTP %d without a consent field, want 200 with one:\n%s", resp.StatusCode, page)
	}
	form := url.Values{"consent": {string(m[1])}, "action": {"allow"}}
	for k, vs := range extra {
		form[k] = vs
	}
	u, _ := url.Parse(authorizeURL)
	u.RawQuery = ""
	resp, err = browser.PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("consent: got HTTP %d Location %q, want a 302", resp.StatusCode, resp.Header.Get("Location"))
	}
	if e := loc.Query().Get("error"); e != "" {
		t.Fatalf("consent: redirected with error %s", e)
	}
	code = loc.Query().Get("code")
	if code == "" {
		t.Fatalf("consent: redirect %s carries no code", loc.Redacted())
	}
	sb.remember(code)
	return code, loc.Query().Get("state")
}

// code runs the authorize step for the business_plus scopes of the catalog and
// returns the code.
func (sb *sandbox) code(t *testing.T, challenge string) string {
	t.Helper()
	e := edition(t, "business_plus")
	code, _ := sb.consent(t, sb.c.AuthorizeURL(slack.AuthorizeParams{ClientID: sb.info.ClientID, BotScopes: e.BotScopes,
		UserScopes: e.UserScopes, RedirectURI: redirect, State: "st", CodeChallenge: challenge}), nil)
	return code
}

func edition(t *testing.T, key string) connector.Edition {
	t.Helper()
	c, _ := connector.Get("slack")
	e, ok := c.Edition(key)
	if !ok {
		t.Fatalf("no edition %q", key)
	}
	return e
}

// fault makes the sandbox misbehave (POST /_sandbox/faults).
func (sb *sandbox) fault(t *testing.T, f map[string]any) {
	t.Helper()
	body, _ := json.Marshal(f)
	resp, err := http.Post(sb.ts.URL+"/_sandbox/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("add fault %s: got HTTP %d %s, want 201", body, resp.StatusCode, msg)
	}
}

// wantExpiry checks t is ttl after some moment in [before, after], to the
// second expires_in is counted in.
func wantExpiry(t *testing.T, got time.Time, before, after time.Time, ttl time.Duration) {
	t.Helper()
	lo, hi := before.Add(ttl-time.Second), after.Add(ttl)
	if got.Before(lo) || got.After(hi) {
		t.Errorf("got ExpiresAt %s, want between %s and %s", got.Format(time.RFC3339), lo.Format(time.RFC3339), hi.Format(time.RFC3339))
	}
}

func wantAPIError(t *testing.T, err error, code string, status int) *slack.APIError {
	t.Helper()
	var e *slack.APIError
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want an *APIError %s", err, code)
	}
	if e.Code != code || e.HTTPStatus != status {
		t.Fatalf("got APIError code %q HTTP %d, want %q HTTP %d", e.Code, e.HTTPStatus, code, status)
	}
	return e
}

func TestAuthorizeURL(t *testing.T) {
	t.Parallel()
	c := slack.New("https://slack.com/", nil)
	tests := []struct {
		name string
		p    slack.AuthorizeParams
		want url.Values
	}{
		{name: "bot and user scopes",
			p:    slack.AuthorizeParams{ClientID: "1.2", BotScopes: []string{"users:read", "team:read"}, UserScopes: []string{"admin"}, State: "s1"},
			want: url.Values{"client_id": {"1.2"}, "scope": {"users:read,team:read"}, "user_scope": {"admin"}, "state": {"s1"}}},
		{name: "user scopes only",
			p:    slack.AuthorizeParams{ClientID: "1.2", UserScopes: []string{"admin", "users:read"}, State: "s1"},
			want: url.Values{"client_id": {"1.2"}, "scope": {""}, "user_scope": {"admin,users:read"}, "state": {"s1"}}},
		{name: "everything",
			p: slack.AuthorizeParams{ClientID: "1.2", BotScopes: []string{"users:read"}, RedirectURI: "https://hub.example/cb?x=1", State: "s&2",
				Team: "T123", CodeChallenge: "abc"},
			want: url.Values{"client_id": {"1.2"}, "scope": {"users:read"}, "user_scope": {""}, "state": {"s&2"},
				"redirect_uri": {"https://hub.example/cb?x=1"}, "team": {"T123"}, "code_challenge": {"abc"}, "code_challenge_method": {"S256"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(c.AuthorizeURL(tt.p))
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != "https://slack.com/oauth/v2/authorize" {
				t.Errorf("got %s, want https://slack.com/oauth/v2/authorize", got)
			}
			if got := u.Query(); !equalValues(got, tt.want) {
				t.Errorf("got query %v, want %v", got, tt.want)
			}
		})
	}
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestNewPKCE(t *testing.T) {
	t.Parallel()
	v1, c1, err := slack.NewPKCE()
	if err != nil {
		t.Fatal(err)
	}
	v2, _, _ := slack.NewPKCE()
	if len(v1.Reveal()) != 43 || v1 == v2 {
		t.Errorf("got verifiers of %d characters, equal %v; want 43 characters, different each time", len(v1.Reveal()), v1 == v2)
	}
	sum := sha256.Sum256([]byte(v1.Reveal()))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); c1 != want {
		t.Errorf("got challenge %s, want %s", c1, want)
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		pkce   bool
		public bool // a PKCE public client: no client secret at the exchange
	}{
		{name: "confidential client"},
		{name: "with PKCE", pkce: true},
		{name: "PKCE public client", pkce: true, public: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := setupWorkspace(t)
			e := edition(t, "business_plus")
			var verifier secrets.Secret
			var challenge string
			if tt.pkce {
				var err error
				if verifier, challenge, err = slack.NewPKCE(); err != nil {
					t.Fatal(err)
				}
				sb.remember(verifier.Reveal())
			}
			code, state := sb.consent(t, sb.c.AuthorizeURL(slack.AuthorizeParams{ClientID: sb.info.ClientID, BotScopes: e.BotScopes,
				UserScopes: e.UserScopes, RedirectURI: redirect, State: "st-42", CodeChallenge: challenge}), nil)
			if state != "st-42" {
				t.Errorf("got state %q, want st-42", state)
			}
			p := slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: code, RedirectURI: redirect, CodeVerifier: verifier}
			if tt.public {
				p.ClientSecret = ""
			}
			before := time.Now()
			in, err := sb.c.ExchangeCode(ctx, p)
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			sb.rememberInstall(in)
			if in.AppID != sb.info.AppID || in.TeamID != sb.info.TeamID || in.TeamName == "" || in.OrgWide || in.EnterpriseID != "" {
				t.Errorf("got app %s team %s %q org-wide %v enterprise %q, want app %s team %s with a name, not org-wide",
					in.AppID, in.TeamID, in.TeamName, in.OrgWide, in.EnterpriseID, sb.info.AppID, sb.info.TeamID)
			}
			if in.BotUserID == "" || in.AuthedUserID == "" {
				t.Errorf("got bot user %q authed user %q, want both", in.BotUserID, in.AuthedUserID)
			}
			for _, tok := range []struct {
				got    slack.Token
				kind   string
				scopes []string
			}{{in.Bot, "bot", e.BotScopes}, {in.User, "user", e.UserScopes}} {
				if tok.got.Kind != tok.kind || tok.got.Access.IsZero() || tok.got.Refresh.IsZero() {
					t.Errorf("%s token: got kind %q, access set %v, refresh set %v; want all", tok.kind, tok.got.Kind, !tok.got.Access.IsZero(), !tok.got.Refresh.IsZero())
				}
				if !slices.Equal(tok.got.Scopes, tok.scopes) {
					t.Errorf("%s token: got scopes %v, want %v", tok.kind, tok.got.Scopes, tok.scopes)
				}
				wantExpiry(t, tok.got.ExpiresAt, before, after, 12*time.Hour)
			}
			// The tokens work, and say who they are.
			id, err := sb.c.AuthTest(ctx, in.Bot.Access)
			if err != nil || id.UserID != in.BotUserID || id.Kind != "bot" {
				t.Errorf("auth.test of the bot token: got %+v, %v; want the bot user %s", id, err, in.BotUserID)
			}
			id, err = sb.c.AuthTest(ctx, in.User.Access)
			if err != nil || id.UserID != in.AuthedUserID || id.Kind != "user" {
				t.Errorf("auth.test of the user token: got %+v, %v; want the installer %s", id, err, in.AuthedUserID)
			}
			// The code is single use.
			_, err = sb.c.ExchangeCode(ctx, p)
			wantAPIError(t, err, "invalid_code", http.StatusOK)
		})
	}
}

func TestInstallWithoutRotation(t *testing.T) {
	t.Parallel()
	sb := setup(t, slacksim.Config{})
	in, err := sb.c.ExchangeCode(ctx, slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: sb.code(t, ""), RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	sb.rememberInstall(in)
	for _, tok := range []slack.Token{in.Bot, in.User} {
		if tok.Access.IsZero() || !tok.Refresh.IsZero() || !tok.ExpiresAt.IsZero() {
			t.Errorf("%s token: got access set %v, refresh set %v, expiry %v; want a long-lived token", tok.Kind, !tok.Access.IsZero(), !tok.Refresh.IsZero(), tok.ExpiresAt)
		}
	}
}

func TestInstallUserScopesOnly(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	code, _ := sb.consent(t, sb.c.AuthorizeURL(slack.AuthorizeParams{ClientID: sb.info.ClientID, UserScopes: []string{"admin", "users:read"},
		RedirectURI: redirect, State: "st"}), nil)
	in, err := sb.c.ExchangeCode(ctx, slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: code, RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	sb.rememberInstall(in)
	if !in.Bot.IsZero() || in.User.Kind != "user" || !slices.Equal(in.User.Scopes, []string{"admin", "users:read"}) {
		t.Errorf("got bot set %v, user %s %v; want no bot token and a user token with admin,users:read", !in.Bot.IsZero(), in.User.Kind, in.User.Scopes)
	}
}

func TestOrgWideInstall(t *testing.T) {
	t.Parallel()
	sb := setupGrid(t)
	e := edition(t, "enterprise_grid")
	sum := sb.srv.Summary()
	extra := url.Values{"install_into": {sb.info.EnterpriseID}}
	var want []slack.Team
	for _, tm := range sum.Teams {
		extra.Add("org_team", tm.ID)
		want = append(want, slack.Team{ID: tm.ID, Name: tm.Name})
	}
	code, _ := sb.consent(t, sb.c.AuthorizeURL(slack.AuthorizeParams{ClientID: sb.info.ClientID, BotScopes: e.BotScopes,
		UserScopes: e.UserScopes, RedirectURI: redirect, State: "st", Team: sb.info.EnterpriseID}), extra)
	in, err := sb.c.ExchangeCode(ctx, slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: code, RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	sb.rememberInstall(in)
	if !in.OrgWide || in.TeamID != "" || in.EnterpriseID != sb.info.EnterpriseID || in.EnterpriseName == "" {
		t.Errorf("got org-wide %v team %q enterprise %q %q, want an org-wide install into %s", in.OrgWide, in.TeamID, in.EnterpriseID, in.EnterpriseName, sb.info.EnterpriseID)
	}
	id, err := sb.c.AuthTest(ctx, in.User.Access)
	if err != nil {
		t.Fatal(err)
	}
	if !id.OrgWide || id.EnterpriseID != sb.info.EnterpriseID {
		t.Errorf("auth.test: got org-wide %v enterprise %q, want org-wide in %s", id.OrgWide, id.EnterpriseID, sb.info.EnterpriseID)
	}
	got, err := sb.c.Teams(ctx, in.Bot.Access)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b slack.Team) int { return strings.Compare(a.ID, b.ID) })
	if !slices.Equal(got, want) {
		t.Errorf("got teams %v, want %v", got, want)
	}
}

func TestExchangeCodeErrors(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	tests := []struct {
		name   string
		pkce   bool
		change func(p *slack.ExchangeParams)
		want   string
	}{
		{name: "bad code", change: func(p *slack.ExchangeParams) { p.Code = "not-a-code" }, want: "invalid_code"},
		{name: "wrong redirect", change: func(p *slack.ExchangeParams) { p.RedirectURI = "http://127.0.0.1/elsewhere" }, want: "bad_redirect_uri"},
		{name: "wrong secret", change: func(p *slack.ExchangeParams) { p.ClientSecret = "0123456789abcdef0123456789abcdef" }, want: "bad_client_secret"},
		{name: "unknown client", change: func(p *slack.ExchangeParams) { p.ClientID = "1.1" }, want: "invalid_client_id"},
		{name: "wrong verifier", pkce: true, change: func(p *slack.ExchangeParams) { p.CodeVerifier = "wrong-verifier-wrong-verifier-wrong-verifier" }, want: "invalid_code_verifier"},
		{name: "no verifier", pkce: true, change: func(p *slack.ExchangeParams) { p.CodeVerifier = "" }, want: "invalid_code_verifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var verifier secrets.Secret
			var challenge string
			if tt.pkce {
				verifier, challenge, _ = slack.NewPKCE()
			}
			p := slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: sb.code(t, challenge), RedirectURI: redirect, CodeVerifier: verifier}
			tt.change(&p)
			_, err := sb.c.ExchangeCode(ctx, p)
			wantAPIError(t, err, tt.want, http.StatusOK)
			if got, want := err.Error(), "slack: oauth.v2.access: "+tt.want; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if slack.IsTokenDead(err) {
				t.Errorf("IsTokenDead(%v): got true, want false", err)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind   string
		scopes []string
	}{
		{"bot", []string{"team:read", "users:read"}},
		{"user", []string{"admin", "users:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			sb := setupWorkspace(t)
			old := sb.issue(t, slacksim.TokenRequest{Kind: tt.kind, Scopes: tt.scopes})
			before := time.Now()
			tok, err := sb.c.Refresh(ctx, sb.info.ClientID, sb.secret(), secrets.Secret(old.RefreshToken))
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			sb.remember(tok.Access.Reveal(), tok.Refresh.Reveal())
			if tok.Access.Reveal() == old.AccessToken || tok.Refresh.Reveal() == old.RefreshToken || tok.Access.IsZero() || tok.Refresh.IsZero() {
				t.Errorf("got access new %v refresh new %v, want both new", tok.Access.Reveal() != old.AccessToken, tok.Refresh.Reveal() != old.RefreshToken)
			}
			if tok.Kind != tt.kind || !slices.Equal(tok.Scopes, tt.scopes) {
				t.Errorf("got %s token with %v, want %s with %v", tok.Kind, tok.Scopes, tt.kind, tt.scopes)
			}
			wantExpiry(t, tok.ExpiresAt, before, after, 12*time.Hour)
			if id, err := sb.c.AuthTest(ctx, tok.Access); err != nil || id.Kind != tt.kind {
				t.Errorf("auth.test of the new token: got %s, %v; want a %s token", id.Kind, err, tt.kind)
			}

			// The used refresh token is spent.
			_, err = sb.c.Refresh(ctx, sb.info.ClientID, sb.secret(), secrets.Secret(old.RefreshToken))
			wantAPIError(t, err, "invalid_refresh_token", http.StatusOK)
			// A wrong secret does not spend the new one.
			_, err = sb.c.Refresh(ctx, sb.info.ClientID, "0123456789abcdef0123456789abcdef", tok.Refresh)
			wantAPIError(t, err, "bad_client_secret", http.StatusOK)
			next, err := sb.c.Refresh(ctx, sb.info.ClientID, sb.secret(), tok.Refresh)
			if err != nil {
				t.Fatalf("refresh after a refused one: %v", err)
			}
			sb.remember(next.Access.Reveal(), next.Refresh.Reveal())
		})
	}
}

func TestAuthTest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind   string
		scopes []string
	}{
		{"bot", []string{"channels:read", "team:read", "users:read"}},
		{"user", []string{"admin", "users:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			sb := setupWorkspace(t)
			tok := sb.issue(t, slacksim.TokenRequest{Kind: tt.kind, Scopes: tt.scopes})
			before := time.Now()
			id, err := sb.c.AuthTest(ctx, secrets.Secret(tok.AccessToken))
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			if id.Kind != tt.kind || id.TeamID != sb.info.TeamID || id.UserID != tok.UserID || id.Team == "" || id.User == "" || !strings.HasPrefix(id.URL, "https://") {
				t.Errorf("got %+v, want a %s of team %s, user %s", id, tt.kind, sb.info.TeamID, tok.UserID)
			}
			if !slices.Equal(id.Scopes, tt.scopes) {
				t.Errorf("got scopes %v (X-OAuth-Scopes), want %v", id.Scopes, tt.scopes)
			}
			if (id.BotID != "") != (tt.kind == "bot") || id.BotID != tok.BotID {
				t.Errorf("got bot ID %q, want %q", id.BotID, tok.BotID)
			}
			if tt.kind == "bot" && id.AppID != sb.info.AppID {
				t.Errorf("got app %q, want %s", id.AppID, sb.info.AppID)
			}
			if id.OrgWide || id.EnterpriseID != "" {
				t.Errorf("got org-wide %v enterprise %q, want a workspace token", id.OrgWide, id.EnterpriseID)
			}
			wantExpiry(t, id.ExpiresAt, before, after, 12*time.Hour)

			// An hour later the token has 11 hours left.
			sb.srv.AdvanceClock(time.Hour)
			before = time.Now()
			id, err = sb.c.AuthTest(ctx, secrets.Secret(tok.AccessToken))
			after = time.Now()
			if err != nil {
				t.Fatal(err)
			}
			wantExpiry(t, id.ExpiresAt, before, after, 11*time.Hour)

			// Past its time it is expired, not dead.
			sb.srv.AdvanceClock(12 * time.Hour)
			_, err = sb.c.AuthTest(ctx, secrets.Secret(tok.AccessToken))
			wantAPIError(t, err, "token_expired", http.StatusOK)
			if slack.IsTokenDead(err) || !slack.IsTokenExpired(err) {
				t.Errorf("token_expired: got dead %v expired %v, want not dead, expired", slack.IsTokenDead(err), slack.IsTokenExpired(err))
			}
		})
	}
}

func TestAuthTestLongLivedToken(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	rotation := false
	tok := sb.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read"}, Rotation: &rotation})
	id, err := sb.c.AuthTest(ctx, secrets.Secret(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if !id.ExpiresAt.IsZero() {
		t.Errorf("got ExpiresAt %s, want zero for a token that does not expire", id.ExpiresAt)
	}
}

func TestDeadTokens(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	tests := []struct {
		name  string
		token secrets.Secret
		want  string
	}{
		{"no token", "", "not_authed"},
		{"unknown token", "xoxb-1-not-a-token", "invalid_auth"},
	}
	for _, tt := range tests {
		_, err := sb.c.AuthTest(ctx, tt.token)
		wantAPIError(t, err, tt.want, http.StatusOK)
		if !slack.IsTokenDead(err) {
			t.Errorf("%s: IsTokenDead(%v): got false, want true", tt.name, err)
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"bot", "user"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sb := setupWorkspace(t)
			tok := sb.issue(t, slacksim.TokenRequest{Kind: kind, Scopes: []string{"users:read"}})
			if err := sb.c.Revoke(ctx, secrets.Secret(tok.AccessToken)); err != nil {
				t.Fatal(err)
			}
			_, err := sb.c.AuthTest(ctx, secrets.Secret(tok.AccessToken))
			wantAPIError(t, err, "token_revoked", http.StatusOK)
			if !slack.IsTokenDead(err) {
				t.Errorf("IsTokenDead(%v): got false, want true", err)
			}
			// Its refresh token died with it, and revoking again is refused.
			_, err = sb.c.Refresh(ctx, sb.info.ClientID, sb.secret(), secrets.Secret(tok.RefreshToken))
			wantAPIError(t, err, "invalid_refresh_token", http.StatusOK)
			err = sb.c.Revoke(ctx, secrets.Secret(tok.AccessToken))
			wantAPIError(t, err, "token_revoked", http.StatusOK)
			if got := sb.srv.Stats().Revocations; got != 1 {
				t.Errorf("got %d revocations at the sandbox, want 1", got)
			}
		})
	}
}

func TestTeams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pageSize int
		kind     string
		calls    int64
	}{
		{name: "one page", pageSize: 1000, kind: "bot", calls: 1},
		{name: "pages of two", pageSize: 2, kind: "bot", calls: 3},
		{name: "user token, pages of one", pageSize: 1, kind: "user", calls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := setup(t, slacksim.Config{TokenRotation: true, Edition: slacksim.EditionEnterpriseGrid, Workspaces: 5})
			slack.SetTeamsPageSize(sb.c, tt.pageSize)
			tok := sb.issue(t, slacksim.TokenRequest{Org: true, Kind: tt.kind, Scopes: []string{"users:read"}})
			got, err := sb.c.Teams(ctx, secrets.Secret(tok.AccessToken))
			if err != nil {
				t.Fatal(err)
			}
			var want []slack.Team
			for _, tm := range sb.srv.Summary().Teams {
				want = append(want, slack.Team{ID: tm.ID, Name: tm.Name})
			}
			slices.SortFunc(want, func(a, b slack.Team) int { return strings.Compare(a.ID, b.ID) })
			if !slices.Equal(got, want) {
				t.Errorf("got teams %v, want %v", got, want)
			}
			if n := sb.srv.Stats().Methods["auth.teams.list"].Calls; n != tt.calls {
				t.Errorf("got %d auth.teams.list calls, want %d", n, tt.calls)
			}
		})
	}
}

func TestTeamsOfAWorkspaceToken(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	tok := sb.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read"}})
	got, err := sb.c.Teams(ctx, secrets.Secret(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != sb.info.TeamID {
		t.Errorf("got teams %v, want just %s", got, sb.info.TeamID)
	}
}

// calls runs each of the client's calls with live credentials, so that a fault
// or an unreachable Slack can be tried on every path: slack-go's
// (oauth.v2.access, auth.revoke, auth.teams.list) and the plain one (auth.test).
func calls(t *testing.T, sb *sandbox, c *slack.Client) []struct {
	method string
	run    func() error
} {
	t.Helper()
	tok := sb.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read"}})
	access, refresh := secrets.Secret(tok.AccessToken), secrets.Secret(tok.RefreshToken)
	return []struct {
		method string
		run    func() error
	}{
		{"auth.test", func() error { _, err := c.AuthTest(ctx, access); return err }},
		{"oauth.v2.access", func() error { _, err := c.Refresh(ctx, sb.info.ClientID, sb.secret(), refresh); return err }},
		{"oauth.v2.access", func() error {
			_, err := c.ExchangeCode(ctx, slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: "code-1", RedirectURI: redirect})
			return err
		}},
		{"auth.teams.list", func() error { _, err := c.Teams(ctx, access); return err }},
		{"auth.revoke", func() error { return c.Revoke(ctx, access) }},
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      map[string]any
		code       string
		status     int
		retryAfter time.Duration
	}{
		{name: "429", fault: map[string]any{"status": 429}, code: "ratelimited", status: 429, retryAfter: time.Second},
		{name: "503", fault: map[string]any{"status": 503}, status: 503},
		{name: "500", fault: map[string]any{"status": 500}, status: 500},
		{name: "ok:false", fault: map[string]any{"error": "internal_error"}, code: "internal_error", status: 200},
		{name: "malformed body", fault: map[string]any{"malformed": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := setupWorkspace(t)
			for _, call := range calls(t, sb, sb.c) {
				f := map[string]any{"method": call.method, "count": 1}
				for k, v := range tt.fault {
					f[k] = v
				}
				sb.fault(t, f)
				err := call.run()
				if tt.status == 0 {
					var e *slack.APIError
					if !errors.Is(err, slack.ErrBadResponse) || errors.As(err, &e) {
						t.Errorf("%s: got %v, want ErrBadResponse and no APIError", call.method, err)
					}
					continue
				}
				e := wantAPIError(t, err, tt.code, tt.status)
				if e.Method != call.method || e.RetryAfter != tt.retryAfter {
					t.Errorf("%s: got method %s retry after %s, want %s and %s", call.method, e.Method, e.RetryAfter, call.method, tt.retryAfter)
				}
				if slack.IsTokenDead(err) {
					t.Errorf("%s: IsTokenDead(%v): got true, want false", call.method, err)
				}
			}
		})
	}
}

func TestSlackUnreachable(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c := slack.New(closed.URL, nil)
	for _, call := range calls(t, sb, c) {
		err := call.run()
		var e *slack.APIError
		if err == nil || errors.As(err, &e) || errors.Is(err, slack.ErrBadResponse) {
			t.Errorf("%s: got %v, want a transport error that is no APIError", call.method, err)
			continue
		}
		if want := "slack: " + call.method + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got %q, want it to start %q", err, want)
		}
	}
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	sb := setupWorkspace(t)
	tok := sb.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read"}})
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := sb.c.AuthTest(canceled, secrets.Secret(tok.AccessToken))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("auth.test: got %v, want context.Canceled", err)
	}
	_, err = sb.c.Teams(canceled, secrets.Secret(tok.AccessToken))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("auth.teams.list: got %v, want context.Canceled", err)
	}
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  slack.APIError
		want string
	}{
		{slack.APIError{Method: "auth.test", Code: "invalid_auth", HTTPStatus: 200}, "slack: auth.test: invalid_auth"},
		{slack.APIError{Method: "auth.test", Code: "ratelimited", HTTPStatus: 429, RetryAfter: 30 * time.Second}, "slack: auth.test: ratelimited (HTTP 429), retry after 30s"},
		{slack.APIError{Method: "auth.test", HTTPStatus: 503}, "slack: auth.test: HTTP 503 Service Unavailable"},
		{slack.APIError{Method: "users.list", Code: "missing_scope", HTTPStatus: 200, Needed: "users:read", Provided: "team:read"}, "slack: users.list: missing_scope, needed users:read"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestErrorsHoldNoSecrets runs every path of the client, successes and
// failures, and looks for any token, refresh token, code, verifier or client
// secret in what the errors and results print.
func TestErrorsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	sb := setupGrid(t)
	var printed []string
	see := func(vs ...any) {
		for _, v := range vs {
			if v == nil {
				continue
			}
			printed = append(printed, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v))
			if err, ok := v.(error); ok {
				printed = append(printed, err.Error())
			}
		}
	}

	// An install with PKCE, org-wide, and everything done with its tokens.
	e := edition(t, "enterprise_grid")
	verifier, challenge, _ := slack.NewPKCE()
	sb.remember(verifier.Reveal())
	code, _ := sb.consent(t, sb.c.AuthorizeURL(slack.AuthorizeParams{ClientID: sb.info.ClientID, BotScopes: e.BotScopes, UserScopes: e.UserScopes,
		RedirectURI: redirect, State: "st", CodeChallenge: challenge}), url.Values{"install_into": {sb.info.EnterpriseID}})
	p := slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: code, RedirectURI: redirect, CodeVerifier: verifier}
	in, err := sb.c.ExchangeCode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	sb.rememberInstall(in)
	see(in)
	_, err = sb.c.ExchangeCode(ctx, p) // a used code
	see(err)
	for _, change := range []func(*slack.ExchangeParams){
		func(p *slack.ExchangeParams) { p.RedirectURI = "http://127.0.0.1/elsewhere" },
		func(p *slack.ExchangeParams) { p.ClientSecret += "x" },
		func(p *slack.ExchangeParams) { p.CodeVerifier += "x" },
	} {
		v, ch, _ := slack.NewPKCE()
		sb.remember(v.Reveal())
		q := slack.ExchangeParams{ClientID: sb.info.ClientID, ClientSecret: sb.secret(), Code: sb.code(t, ch), RedirectURI: redirect, CodeVerifier: v}
		change(&q)
		_, err := sb.c.ExchangeCode(ctx, q)
		see(err)
	}
	for _, tok := range []slack.Token{in.Bot, in.User} {
		id, err := sb.c.AuthTest(ctx, tok.Access)
		see(id, err)
		teams, err := sb.c.Teams(ctx, tok.Access)
		see(teams, err)
		next, err := sb.c.Refresh(ctx, sb.info.ClientID, sb.secret(), tok.Refresh)
		sb.remember(next.Access.Reveal(), next.Refresh.Reveal())
		see(next, err)
		_, err = sb.c.Refresh(ctx, sb.info.ClientID, sb.secret(), tok.Refresh) // spent
		see(err)
		_, err = sb.c.Refresh(ctx, sb.info.ClientID, sb.secret()+"x", next.Refresh)
		see(err)
		see(sb.c.Revoke(ctx, next.Access))
		_, err = sb.c.AuthTest(ctx, next.Access) // revoked
		see(err)
		see(sb.c.Revoke(ctx, next.Access))
		_, err = sb.c.Teams(ctx, next.Access)
		see(err)
	}
	// Faults and an unreachable Slack on every call.
	for _, f := range []map[string]any{{"status": 429}, {"status": 503}, {"error": "internal_error"}, {"malformed": true}} {
		for _, call := range calls(t, sb, sb.c) {
			f["method"], f["count"] = call.method, 1
			sb.fault(t, f)
			see(call.run())
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, call := range calls(t, sb, slack.New(closed.URL, nil)) {
		see(call.run())
	}
	// A base URL with credentials in it does not show them either.
	withUser := strings.Replace(closed.URL, "http://", "http://admin:hunter2-secret@", 1) + "/?token=xoxb-in-query"
	sb.remember("hunter2-secret", "xoxb-in-query")
	for _, call := range calls(t, sb, slack.New(withUser, nil)) {
		see(call.run())
	}

	sb.mu.Lock()
	defer sb.mu.Unlock()
	if len(sb.secrets) < 20 || len(printed) < 100 {
		t.Fatalf("saw %d secrets and %d printed values; is the test still running the paths?", len(sb.secrets), len(printed))
	}
	for _, out := range printed {
		for _, s := range sb.secrets {
			if strings.Contains(out, s) {
				t.Errorf("printed value holds a secret: %q", out)
			}
		}
	}
}
