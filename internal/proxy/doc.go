// Package proxy is connhub's authenticated pass-through to Slack:
//
//	ANY /v1/slack/{method}                 the instance chosen by its instance token
//	ANY /v1/instances/{id}/slack/{method}  for callers with an API token
//
// The caller authenticates as everywhere in connhub (Authorization: Bearer
// <instance token>, or the Open Connectors header with Element), or, so that
// unmodified Slack clients such as slack-go work when pointed at connhub, with
// the instance token where Slack's own token would go: the "token" field of a
// form body or of the query. Failed attempts are throttled per source address
// and credential as everywhere (tenant's AuthenticateFrom): over the limit the
// proxy answers 429 too_many_failed_attempts with Retry-After, unforwarded. The query and body go to Slack as they came
// (less that token field) with the instance's Slack token in the Authorization
// header; Slack's status, body and useful headers come back as they are,
// streamed. The upstream is always the configured Slack: no caller names a
// host.
//
// # Who may call, and with which token
//
// The policy (internal/authz, action proxy) decides who may call Slack for
// an instance: its own instance principals, and the organization's people.
// The call goes with the bot token, unless X-Connhub-Token says user, the
// method is one Slack takes user tokens only for (internal/slackspec), or
// the instance has no bot token; the user token goes only where the
// instance's AllowUserToken lets it (else 403 user_token_not_allowed). A
// write (by Slack's method table) and every call with the user token are in
// the audit log before they are sent (proxy.write, proxy.user_token: the
// method's name, never its arguments); if the log cannot be written the call
// is not made (503 audit_unavailable).
//
// The call goes to Slack through connhub's one stack (internal/slackcall)
// under the proxy's policy (slackcall.ProxyPolicy, as Options.Retries and
// MaxRetryAfter adjust it), and the *http.Response the stack hands back is
// copied to the caller as it comes: the answer streams. The stack waits for
// the method's budget in the workspace in the shared pacer
// (internal/ratelimit), so callers almost never meet a 429. When Slack
// answers 429 anyway it honours Retry-After up to a cap (30 s) and tries
// again, and above the cap the proxy answers Slack's 429 with its
// Retry-After; on token_expired (a short answer, peeked at) it refreshes the
// token once (through the instance service's single flight) and tries once
// more; a 5xx or a network error on a read method is retried twice with
// jittered backoff, never on a write. The time spent waiting is in the
// X-Connhub-Pacing-Wait-Ms header and in the metrics, the retries in
// X-Connhub-Retries.
//
// # Bodies
//
// The caller is authenticated before its body is read. A caller with no
// Authorization header and no token in the query, sending a form, may have
// its token in the body: for it alone the proxy reads the first 256 KiB
// (formPrefix) unauthenticated and looks for the token in its whole fields;
// a token further in is not looked for. The rest is read after
// authentication, up to MaxBody (10 MiB; 413 above). Every body byte held
// counts against one budget for the process, MaxBodiesInFlight: a call that
// would pass it is answered 503 "overloaded" with Retry-After (before its
// body is read when it has a Content-Length). The token field is then dropped from the form, the other
// fields going to Slack byte for byte as they came.
//
// # Lanes and shutdown
//
// A call spends the lane slackcall.Lane names: a caller's team_id counts
// only when the org-wide install was granted that workspace, and a
// caller's channel only for chat.postMessage, within the pacer's cap (see
// internal/ratelimit). When the pacer is closed (connhub is shutting down),
// a call waiting for its budget is answered 503 "shutting_down" with
// Retry-After; nothing was sent to Slack.
package proxy
