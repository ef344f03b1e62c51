package slack

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	slackgo "github.com/slack-go/slack"
)

// AuthorizeParams is what the consent page is asked to show.
type AuthorizeParams struct {
	ClientID      string
	BotScopes     []string
	UserScopes    []string
	RedirectURI   string // optional: Slack then uses the app's first Redirect URL
	State         string // connhub's signed, single-use state
	Team          string // optional: the workspace (T…) or org (E…) to preselect
	CodeChallenge string // optional: PKCE, from NewPKCE
}

// AuthorizeURL is the URL of Slack's consent page for p. It always carries
// client_id, scope, user_scope (comma-joined; either may be empty) and state;
// redirect_uri and team when set; code_challenge with
// code_challenge_method=S256 when a challenge is set.
func (c *Client) AuthorizeURL(p AuthorizeParams) string {
	q := url.Values{
		"client_id":  {p.ClientID},
		"scope":      {strings.Join(p.BotScopes, ",")},
		"user_scope": {strings.Join(p.UserScopes, ",")},
		"state":      {p.State},
	}
	if p.RedirectURI != "" {
		q.Set("redirect_uri", p.RedirectURI)
	}
	if p.Team != "" {
		q.Set("team", p.Team)
	}
	if p.CodeChallenge != "" {
		q.Set("code_challenge", p.CodeChallenge)
		q.Set("code_challenge_method", "S256")
	}
	return c.base + "/oauth/v2/authorize?" + q.Encode()
}

// NewPKCE makes a PKCE code verifier (43 characters of URL-safe base64, from
// crypto/rand) and its S256 challenge. The verifier stays with connhub until
// ExchangeCode; the challenge goes in the authorize URL.
func NewPKCE() (verifier secrets.Secret, challenge string, err error) {
	v, err := slackgo.GenerateCodeVerifier()
	if err != nil {
		return "", "", err
	}
	return secrets.Secret(v), slackgo.GenerateCodeChallenge(v), nil
}

// ExchangeParams is what oauth.v2.access needs to turn a code into tokens.
type ExchangeParams struct {
	ClientID     string
	ClientSecret secrets.Secret // may be empty for a PKCE public client
	Code         string         // from the redirect; single use
	RedirectURI  string         // the one the authorize URL named, if any
	CodeVerifier secrets.Secret // PKCE: NewPKCE's verifier
}

// Install is what an install granted.
type Install struct {
	AppID          string
	TeamID         string // empty for an org-wide install
	TeamName       string
	EnterpriseID   string // set on Enterprise Grid
	EnterpriseName string
	OrgWide        bool // is_enterprise_install
	BotUserID      string
	AuthedUserID   string // the person who installed
	Bot, User      Token  // zero Token when not granted
}

// Token is one access token with what came with it.
type Token struct {
	Access    secrets.Secret
	Refresh   secrets.Secret // empty without token rotation
	ExpiresAt time.Time      // zero: no expiry
	Scopes    []string
	Kind      string // "bot" or "user"
}

// IsZero reports whether the token was not granted.
func (t Token) IsZero() bool { return t.Access.IsZero() }

// ExchangeCode turns the code of an authorize redirect into an Install
// (oauth.v2.access, grant_type authorization_code). Slack's refusals come back
// as *APIError: invalid_code, bad_redirect_uri, bad_client_secret,
// invalid_code_verifier, …
func (c *Client) ExchangeCode(ctx context.Context, p ExchangeParams) (Install, error) {
	const method = "oauth.v2.access"
	opts := []slackgo.OAuthOption{slackgo.OAuthOptionAPIURL(c.apiURL)}
	if !p.CodeVerifier.IsZero() {
		opts = append(opts, slackgo.OAuthOptionCodeVerifier(p.CodeVerifier.Reveal()))
	}
	resp, err := slackgo.GetOAuthV2ResponseContext(ctx, c.hc, p.ClientID, p.ClientSecret.Reveal(), p.Code, p.RedirectURI, opts...)
	if err != nil {
		return Install{}, fromSlackGo(method, err)
	}
	if err := slackOK(method, resp.SlackResponse); err != nil {
		return Install{}, err
	}
	in := Install{
		AppID: resp.AppID, TeamID: resp.Team.ID, TeamName: resp.Team.Name,
		EnterpriseID: resp.Enterprise.ID, EnterpriseName: resp.Enterprise.Name, OrgWide: resp.IsEnterpriseInstall,
		BotUserID: resp.BotUserID, AuthedUserID: resp.AuthedUser.ID,
	}
	if resp.AccessToken != "" {
		top := Token{Access: secrets.Secret(resp.AccessToken), Refresh: secrets.Secret(resp.RefreshToken),
			ExpiresAt: c.expiry(resp.ExpiresIn), Scopes: splitScopes(resp.Scope), Kind: "bot"}
		// FACTS 1.2: with user scopes only there is no top-level token. Should
		// Slack ever put the user token there (token_type "user") and not in
		// authed_user, file it where it belongs.
		if resp.TokenType == "user" && resp.AuthedUser.AccessToken == "" {
			top.Kind = "user"
			in.User = top
		} else {
			in.Bot = top
		}
	}
	if u := resp.AuthedUser; u.AccessToken != "" {
		in.User = Token{Access: secrets.Secret(u.AccessToken), Refresh: secrets.Secret(u.RefreshToken),
			ExpiresAt: c.expiry(u.ExpiresIn), Scopes: splitScopes(u.Scope), Kind: "user"}
	}
	if in.Bot.IsZero() && in.User.IsZero() {
		return Install{}, badResponse(method)
	}
	return in, nil
}

// Refresh trades a refresh token for a new access token and a new refresh
// token (oauth.v2.access, grant_type refresh_token). The refresh token given is
// spent: using it again gives invalid_refresh_token. ExpiresAt is now plus
// expires_in. An empty clientSecret suits a PKCE public client.
func (c *Client) Refresh(ctx context.Context, clientID string, clientSecret, refresh secrets.Secret) (Token, error) {
	const method = "oauth.v2.access"
	resp, err := slackgo.RefreshOAuthV2TokenContext(ctx, c.hc, clientID, clientSecret.Reveal(), refresh.Reveal(), slackgo.OAuthOptionAPIURL(c.apiURL))
	if err != nil {
		return Token{}, fromSlackGo(method, err)
	}
	if err := slackOK(method, resp.SlackResponse); err != nil {
		return Token{}, err
	}
	if resp.AccessToken == "" {
		return Token{}, badResponse(method)
	}
	kind := resp.TokenType
	if kind != "user" {
		kind = "bot"
	}
	return Token{Access: secrets.Secret(resp.AccessToken), Refresh: secrets.Secret(resp.RefreshToken),
		ExpiresAt: c.expiry(resp.ExpiresIn), Scopes: splitScopes(resp.Scope), Kind: kind}, nil
}
