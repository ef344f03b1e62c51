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
//	/scim/v2/                SCIM users and groups (scim.go; filters in scimfilter)
//	/_sandbox/               the sandbox's own controls (control.go)
//
// and, once an app's Request URL is set, it POSTs events to it (Events below).
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
// # Events (events.go, eventdelivery.go, control_events.go, control_changes.go)
//
// An app's Event Subscriptions page is POST /_sandbox/event_subscriptions
// {"request_url", "bot_events", "user_events"} or SetEventSubscription. As at
// Slack, the URL first gets url_verification ({"token","challenge","type"},
// signed like every delivery) and the subscription is enabled only if the
// challenge comes back within the ack timeout (as text/plain, as a form
// challenge=…, or as JSON {"challenge": …}); otherwise it is kept as
// "unverified" with the reason and the control answers 400
// url_verification_failed. Setting it again replaces it (the old one's queued
// and retrying deliveries are dropped) and re-enables a disabled one.
//
// Every change to the workspace, through the controls, through Web API
// writes (chat.postMessage, conversations.join, auth.revoke) or through SCIM
// (users created, changed, deactivated; groups created, changed, deleted:
// Slack has no subteam_deleted, so subteam_updated with date_delete), is emitted under
// the world lock as an event in Slack's event_callback envelope: token (the
// app's verification token, derived from its signing secret), team_id,
// api_app_id, event, event_id (Ev and ten characters, random, so unique
// across restarts), event_time, authorizations (one entry), is_ext_shared_channel
// (always false: the sandbox has no Slack Connect), event_context ("4-" and
// base64 of {et, tid, aid, cid}, opaque as Slack's); on Enterprise Grid also
// enterprise_id, context_team_id (the channel's own workspace for channel
// events) and context_enterprise_id. Each event goes to one subscription
// only if its type is in bot_events (for bot installs) or user_events (for
// user installs), and only where a live grant of the app reaches the
// workspace it happened in: a workspace install sees its workspace, an
// org-wide install all its workspaces but each event once. authorizations
// holds one grant (a bot's when there is one), as Slack has done since
// 2021-02-24; the sandbox does not emulate apps.event.authorizations.list.
// tokens_revoked and app_uninstalled go to the grant just revoked.
//
// Event shapes, decided from Slack's event reference, slack-go's
// slackevents and @slack/types where they differ:
//   - message: the message as conversations.history draws it, plus channel,
//     channel_type (channel, group, im, mpim) and event_ts; a thread reply
//     carries thread_ts and parent_user_id. No blocks or client_msg_id. A
//     reply does not also send message_changed for its parent.
//     message_changed: hidden, message (the edited message with edited),
//     previous_message, ts = event_ts = the time of the edit.
//     message_deleted: hidden, deleted_ts, previous_message. Joining and
//     leaving a channel also post channel_join/channel_leave messages.
//   - user_change (user as users.info draws it, with email whatever the
//     grant's scopes, cache_ts in seconds) and team_join (user).
//   - channel_created only for public channels, with id, is_channel, name,
//     name_normalized, created, creator, is_shared, is_org_shared,
//     context_team_id. A private channel's rename, archive, unarchive and
//     deletion are group_rename, group_archive, group_unarchive and
//     group_deleted, as Slack names them; public ones channel_*.
//     channel_archive/unarchive carry the acting user (the primary owner for
//     the controls); channel_deleted only the channel.
//   - member_joined_channel and member_left_channel: channel_type "C" or "G"
//     (not the message event's words), team, and inviter when one was named.
//   - subteam_created and subteam_updated carry the group as usergroups.list
//     draws it with users and user_count; a membership change sends
//     subteam_members_changed then subteam_updated. added_users_count and
//     removed_users_count are numbers, as Slack sends them and SDKs parse them,
//     though Slack's reference example shows strings.
//   - emoji_changed: subtype add with name and value (a URL or "alias:x"),
//     subtype remove with names (the emoji and its aliases).
//   - tokens_revoked: tokens {oauth: [user IDs], bot: [bot user IDs]};
//     app_uninstalled: just its type, with no event_ts, as documented.
//     Every other event gets event_ts when it has none, POST /_sandbox/events
//     included, which otherwise sends the given event unchanged.
//   - The sandbox does not check an event's scopes (channels:read,
//     users:read…) or whether a bot is in a private channel: an event goes to
//     every subscribed install of the workspace.
//
// Deliveries are queued per subscription and sent by its own goroutine, first
// attempts in the order of emission, never under the world lock. Each POST is
// signed with the app's signing secret (X-Slack-Signature: v0=hex(HMAC-SHA256
// of "v0:ts:body"), X-Slack-Request-Timestamp in the sandbox clock's seconds,
// so an advanced clock makes deliveries look stale to a verifier, as they
// would be). A delivery is acked by a 2xx within Config.EventAckTimeout (3 s,
// not scaled); otherwise it is retried three times with the same body and
// event_id: at once, then after one and five of Slack's minutes, each scaled
// like the rate limits (a minute becomes RateWindow), with X-Slack-Retry-Num
// 1..3 and X-Slack-Retry-Reason (http_timeout, connection_failed, http_error,
// too_many_redirects past two redirects, ssl_error, unknown_error). An
// answer with X-Slack-No-Retry: 1 ends it. A subscription enabled for at
// least Slack's hour (scaled) whose attempts in the last hour are at least
// ten and 95% failures is disabled, with the reason shown, and its queue
// dropped. GET /_sandbox/events/deliveries lists the last 10,000 deliveries,
// oldest first, each with its attempts; faults with "event" (a type or "*")
// delay attempts (latency_ms) or drop them (drop: not sent, failed as
// connection_failed, then retried); /_sandbox/stats counts them under
// "events". Close stops the senders and drops what was not sent. A
// subscription, like faults and stats, lives for one run: it is not in the
// state file.
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
