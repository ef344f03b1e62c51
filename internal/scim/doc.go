// Package scim is SCIM 2.0 through connhub: the one SCIM endpoint an
// identity provider (PingFederate, Okta, Entra ID) is pointed at, with a
// bearer that never expires, while connhub holds Slack's admin token,
// refreshes it, paces under Slack's org-wide SCIM limits and audits every
// call.
//
//	ANY /scim/v2/{Users,Groups,ServiceProviderConfig,ResourceTypes,Schemas}[/{id}]
//	                                          the instance its instance token names
//	ANY /v1/instances/{id}/scim/v2/…          for callers with an API token
//
// # Who may call
//
// The caller authenticates as everywhere in connhub (Authorization: Bearer
// <instance token>, or an API token), throttled per source address and
// credential. The policy decides (internal/authz): scim.read for GET,
// scim.write for the rest, each for the instance's own credentials and the
// organization's admins (not members: SCIM changes who works there), with
// the scope "scim" for a scoped API token. Then the instance must be able to
// provision at all (instance.SCIMReadiness): active, on a plan Slack offers
// SCIM on (Business+, Enterprise Grid), with a user token holding the admin
// scope, and on Grid an org-wide install. Each refusal says how to fix it.
//
// # The call
//
// Every call uses the instance's admin user token, so every call is in the
// audit log before it is sent (scim.read: the endpoint and filter;
// scim.write: the user or group and the attributes it sets or the PATCH
// operations and paths, never their values); if the log cannot be written
// the call is not made. It then goes through connhub's one stack to Slack
// (internal/slackcall) under Policy: the stack sets the token (refreshed
// ahead of expiry, and once more when SCIM answers 401, as it does for a
// token that expired early), waits for the SCIM limits the call spends in
// the organization's lanes (the endpoint's, then the set's:
// slackspec.SCIMLimits, the table the sandbox enforces), waits out 429s up
// to the policy's cap, and retries reads after a 5xx. Slack's status,
// headers and body come back as Slack sent them; X-Connhub-Pacing-Wait-Ms
// says how long the call waited for the limits.
//
// connhub's own failures (refusals, an unreachable Slack, a shutdown) are in
// SCIM's error format (RFC 7644 3.12: schemas, status, detail) with
// connhub's stable code and message beside them.
package scim
