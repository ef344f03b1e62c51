package slack

import (
	"errors"
	"maps"
	"slices"
)

// Action is what connhub does when Slack answers an error code. Every code
// connhub acts on is in one table, codes, and every place that decides on a
// Slack failure (the sync's streams and fan-outs, the instance's status, the
// API's answer to an install) asks it through Classify or ActionOf.
type Action int

const (
	// Fail: a code not in the table. The call failed, and whatever needed
	// it fails with Slack's code (a sync stream fails; resume tries again).
	Fail Action = iota
	// Retry: Slack's trouble, not the request's; it comes with HTTP 429,
	// which the call stack waits out (internal/slackcall).
	Retry
	// Refresh: the access token's time is up. The call stack refreshes it
	// once and sends the call again; the same code after that refresh means
	// the grant is gone: the instance needs re-authentication.
	Refresh
	// Revoke: the grant is gone for good (the app was removed, the user or
	// workspace deleted): the instance is revoked.
	Revoke
	// Reauth: Slack refuses the token: the instance needs re-authentication.
	Reauth
	// BadApp: Slack refused the app's client ID or secret: the app's
	// configuration is wrong (a new secret on trial is not kept).
	BadApp
	// Refused: Slack refused what the caller brought (an OAuth code, its
	// redirect URI or PKCE verifier, a refresh token): the caller's input,
	// not Slack's failure.
	Refused
	// SkipStream: Slack will not answer this here (a scope, a plan, an admin
	// the token lacks): a sync skips the stream and goes on with the others.
	SkipStream
	// PassOver: Slack will not answer for this one channel (it vanished, the
	// bot is not in it): a sync passes the channel over and the stream goes
	// on.
	PassOver
	// Later: what was asked for is not ready yet: the stream stops here and
	// a later sync gets it (admin.analytics.getFile's file of today).
	Later
	// NoData: there is nothing for what was asked (a day without analytics):
	// the stream moves past it.
	NoData
)

var actionNames = [...]string{"fail", "retry", "refresh", "revoke", "reauth", "bad_app", "refused", "skip_stream", "pass_over", "later", "no_data"}

func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return "unknown"
	}
	return actionNames[a]
}

// rule is a code's row in the table.
type rule struct {
	action Action
	// perChannel: in a fan-out over channels, the code passes over the one
	// channel rather than skipping the stream (missing_scope: the scope of
	// one channel type, such as groups:history for private channels).
	perChannel bool
}

// codes are the Slack error codes connhub acts on (FACTS 1.5, 3.1, and
// Slack's method table, internal/slackspec). A code not here is Fail.
var codes = map[string]rule{
	// Slack's budget (HTTP 429, body {"ok":false,"error":"ratelimited"}).
	"ratelimited": {action: Retry},

	// The token.
	"token_expired":    {action: Refresh},
	"token_revoked":    {action: Revoke}, // revoked, app removed, user or workspace deleted
	"account_inactive": {action: Revoke}, // the bot's or user's account is deactivated
	"invalid_auth":     {action: Reauth}, // unknown token (or an IP outside the allow list)
	"not_authed":       {action: Reauth}, // no token reached Slack

	// What an install or a refresh brought. invalid_refresh_token is not
	// Reauth at once: under concurrent refreshes it may mean another caller
	// rotated the refresh token first, which the instance service checks in
	// its store before it marks the instance.
	"invalid_refresh_token": {action: Refused},
	"bad_client_secret":     {action: BadApp},
	"invalid_client_id":     {action: BadApp},
	"invalid_code":          {action: Refused},
	"code_already_used":     {action: Refused},
	"bad_redirect_uri":      {action: Refused},
	"invalid_code_verifier": {action: Refused},

	// A stream Slack will not answer for this install.
	"missing_scope":                    {action: SkipStream, perChannel: true},
	"not_allowed_token_type":           {action: SkipStream},
	"paid_only":                        {action: SkipStream},
	"feature_not_available":            {action: SkipStream},
	"plan_upgrade_required":            {action: SkipStream},
	"not_an_admin":                     {action: SkipStream},
	"team_access_not_granted":          {action: SkipStream},
	"member_analytics_disabled":        {action: SkipStream},
	"org_level_email_display_disabled": {action: SkipStream},
	"restricted_action":                {action: SkipStream},

	// One channel of a fan-out.
	"channel_not_found":                     {action: PassOver},
	"not_in_channel":                        {action: PassOver},
	"method_not_supported_for_channel_type": {action: PassOver},
	"fetch_members_failed":                  {action: PassOver},

	// admin.analytics.getFile's days.
	"file_not_yet_available": {action: Later},
	"data_not_available":     {action: NoData},
	"file_not_found":         {action: NoData},
}

// Classify is what connhub does about Slack's error code.
func Classify(code string) Action { return codes[code].action }

// PassesOver reports whether code, met for one channel of a fan-out, passes
// that channel over rather than stopping the stream.
func PassesOver(code string) bool {
	r := codes[code]
	return r.action == PassOver || r.perChannel
}

// Codes lists the codes the table classifies, sorted.
func Codes() []string { return slices.Sorted(maps.Keys(codes)) }

// CallerInput reports whether code says Slack refused what the caller
// brought (a token, a code, the app's credentials), so that an API answers
// 400 rather than 502.
func CallerInput(code string) bool {
	switch Classify(code) {
	case Refresh, Revoke, Reauth, BadApp, Refused:
		return true
	}
	return false
}

// ActionOf is Classify of err's Slack code: Fail when err is not Slack's
// *APIError.
func ActionOf(err error) Action {
	var e *APIError
	if !errors.As(err, &e) {
		return Fail
	}
	return Classify(e.Code)
}
