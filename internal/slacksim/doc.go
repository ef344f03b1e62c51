// Package slacksim is the Slack sandbox: an offline emulator of the parts of
// the Slack platform connhub uses, faithful enough that a real Slack client
// (slack-go, unmodified) works against it. It imports nothing of connhub's but
// internal/slackspec, the table of Slack's methods: it is Slack, seen from
// outside.
//
// # What it serves
//
//	/oauth/v2/authorize      the consent page (GET) and its form (POST)
//	/api/<method>            the Web API: OAuth and auth methods, users, conversations,
//	                         usergroups, team, billing, access and integration logs,
//	                         analytics files, files, emoji, bookmarks, calls, chat.postMessage
//	/scim/v2/                SCIM users and groups
//	/_sandbox/               the sandbox's own controls (control.go)
//
// # How a Web API call is answered (server.go)
//
// parseAPIRequest reads the method, merges query and body arguments and finds
// the token as Slack does (request.go). invoke then resolves the token to a
// principal (token_expired, token_revoked, invalid_auth), picks the workspace
// (org-wide tokens name it with team_id), spends the rate budget of (app,
// workspace, method) as a sliding log (ratelimit.go), checks the token type and
// scopes from slackspec, checks required arguments, and runs the method. Every
// answer is Slack's envelope: HTTP 200 with ok:false for logical errors, 429 with
// Retry-After for rate limits (respond.go).
//
// # The model (world.go, generate.go)
//
// A world is one workspace, or an Enterprise Grid org with several, generated
// deterministically from the seed: people with roles (owners, admins, members,
// guests), deactivated and invited accounts, bots, Slackbot; channels with
// members, messages and threads; files, user groups, emoji, bookmarks, calls,
// access logs and integration logs. Each person has an activity level and a
// last active day, and presence, access logs, billing (Fair Billing: active in
// the last 14 days) and analytics files all derive from it, so they agree. The
// world has one lock: reads share it, changes take it alone.
//
// # Tokens (tokens.go, oauth.go)
//
// A grant is one authorization: an app's bot in a workspace (or org) or one
// user's consent. Reinstalling adds scopes to the grant. With rotation on, each
// refresh issues a new access token and a new refresh token and spends the old
// refresh token; the old access token lives out its TTL. auth.revoke ends the
// whole grant. The sandbox clock (controls: POST /_sandbox/clock) moves token
// expiry, code expiry and rate windows together.
//
// # A saved sandbox (snapshot.go, statefile.go)
//
// With WithStateFile the sandbox keeps its word across restarts: its mutable
// state (the world with every change made to it, the apps and their secrets,
// every grant and token with its scopes, expiry and revoked state, org-install
// grants, the clock's advance, the address it served at) is one JSON snapshot,
// objects named by their Slack IDs. It is written whole to a temporary file,
// synced and renamed over the state file (0600): before answering anything
// that issues, spends or revokes a token, changes a secret or grants a
// workspace; a second after other changes; and when Serve stops. New loads it
// when the file exists and refuses it, with StateMismatchError, when it was
// saved for another world (seed, users, channels, workspaces, edition): a
// sandbox never drops the tokens a client holds because a setting changed.
// Rate windows, faults, stats, open consent pages and unexchanged codes live
// for one run.
//
// Where Slack's documentation is silent, the choice made is written next to
// the code and collected in docs/ARCHITECTURE.md.
package slacksim
