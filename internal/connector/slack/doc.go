// Package slack is connhub's own Slack client for installs and the token
// lifecycle: the authorize URL, the code exchange, refresh, auth.test,
// auth.revoke and auth.teams.list; and the Slack facts the rest of connhub
// decides with: the table of error codes and the envelope's reader. It talks to slack.com or to the Slack
// sandbox alike: [New] takes the base URL ("https://slack.com" or the sandbox's
// "http://127.0.0.1:8790"); the Web API is at base+"/api/", the consent page at
// base+"/oauth/v2/authorize". Calling arbitrary Web API methods for an instance
// is the proxy's and the sync's, through internal/slackcall.
//
// # The install (FACTS 1)
//
//	AuthorizeURL(p)        the browser goes to Slack's consent page with client_id,
//	                       scope, user_scope, state (and redirect_uri, team, PKCE)
//	  … Allow …            Slack redirects to redirect_uri?code=…&state=…
//	ExchangeCode(p)        oauth.v2.access turns the code into an Install: the bot
//	                       token (top level) and the user token (authed_user), each
//	                       with its refresh token and expiry when rotation is on
//	Refresh(…)             oauth.v2.access grant_type=refresh_token: a new access
//	                       token and a new refresh token; the used one is spent
//	AuthTest(token)        who a token is and what it may do (X-OAuth-Scopes)
//	Revoke(token)          auth.revoke ends the grant
//	Teams(token)           auth.teams.list: the workspaces an org-wide install reaches
//
// # slack-go, and where plain net/http is used
//
// oauth.v2.access (both grants), auth.revoke and auth.teams.list go through
// slack-go (github.com/slack-go/slack), pointed at the base URL with
// OAuthOptionAPIURL and OptionAPIURL. auth.test does not: slack-go's
// AuthTestResponse drops app_id, is_enterprise_install and expires_in, which an
// Identity needs, so it is one plain POST with a Bearer header (call in
// client.go). slack-go's retries are not enabled: retrying belongs to the
// *http.Client New is given, which connhub makes over its one stack
// (internal/slackcall, InstallPolicy); what it cannot retry comes back with
// RetryAfter.
//
// # Slack's codes, envelope and Retry-After, once
//
// codes.go is the one table of the Slack error codes connhub acts on: Classify
// says what to do about a code (retry, refresh, revoke, reauth, bad_app,
// refused, skip_stream, pass_over, later, no_data; fail for any other), and
// every part of connhub that decides on a Slack answer asks it. ParseEnvelope
// is the one reader of Slack's {"ok":…,"error":…} envelope (a file answer
// such as admin.analytics.getFile's gzip included), ParseRetryAfter the one
// reader of Retry-After; internal/slackcall uses both.
//
// # Failures are values
//
// Everything Slack answers that is not success becomes an [*APIError]: ok:false
// with HTTP 200 (Code is Slack's error code), 429 (Code "ratelimited",
// RetryAfter from the Retry-After header) and any other status (HTTPStatus; Code
// is empty unless the body was Slack's JSON). A Slack that cannot be reached is
// a wrapped transport error for which errors.As(err, **APIError) is false, and a
// body that is not Slack's JSON is [ErrBadResponse]. [IsTokenDead] tells a token
// that will never work again (invalid_auth, token_revoked, account_inactive,
// not_authed) from one that only expired (token_expired: refresh it,
// [IsTokenExpired]).
//
// No error, log line or panic of this package holds a token, secret, code or
// code verifier. Every secret travels as a secrets.Secret until the one place
// it is put on the wire. slack-go's own error strings are not passed on as they
// are: its transport errors are *url.Error, whose URL is rebuilt without query,
// user info or fragment (slack-go posts every value in the form body, but the
// base URL is configuration); its JSON errors can quote the body (slack-go's
// SlackResponseErrors.UnmarshalJSON prints the raw "errors" element), so a body
// that does not decode is reported as [ErrBadResponse] without its text; its
// Retry-After parse error quotes the header and is replaced by an *APIError.
package slack
