// Package console is connhub's web console: server-rendered pages (Go
// html/template, embedded with the stylesheet and two small scripts), served
// by `connhub serve` at every path the API does not own. It calls the
// services (internal/instance) directly with the signed-in principal, never
// the HTTP API.
//
// The Events page lists the newest Slack events the person may see
// (internal/events decides which: those of the instances they may read,
// and for admins those that reached none), filtered by instance and type,
// and static/events.js adds newer ones as they come, from the same
// server-sent events the API streams, without a reload; under the CSP, no
// script is inline.
//
// The Provisioning pages (for who may read provisioning: admins, with a
// token that has the scim scope if it is scoped) plan a directory file
// against an instance's Slack people and apply it over SCIM, through
// internal/provision, which decides by the principal. A file is uploaded or
// pasted, with the options of the API (match key, deactivate missing,
// groups merge or overwrite, the brake, force); a file with problems comes
// back with each problem and its row, and nothing is planned; the brake's
// refusal shows as an error. A plan's page shows its counts and its diff
// (Plan.String, a line each, marked by sign) and applies it; a run's page
// shows its progress and each change's outcome, a page of 200 at a time,
// reloads itself (meta refresh) while the run is queued or running, and
// resumes a stopped or failed one.
//
// Sign-in takes an API token (chub_…), or the User and Organization
// secrets, checks them with tenant.Authenticator and opens a server-side
// session: a random 256-bit ID in an HttpOnly, SameSite=Lax cookie (Secure
// over https). Sessions live in the store (store.ConsoleSession), under the
// SHA-256 of their ID, never the ID: every replica on the database carries
// every session on, and a restart signs no one out. A session remembers the
// API credential's ID, never the token (or the hashes of the secrets), and
// loads the credential on every request, so revoking the token signs its
// sessions out on every replica; deleting the organization, user or token
// deletes them. A session lasts Options.SessionTTL; each sign-in sweeps a
// few expired ones away; signing in again replaces the browser's session;
// signing out deletes it. Every POST form carries a CSRF token derived from
// the session ID (HMAC-SHA256 keyed by it, so the same on every replica and
// stored nowhere; the sign-in form, which has no session yet, a
// double-submitted cookie), compared in constant time; a form larger than
// the API's body limit is answered 413 saying so, not as a stale one. A
// flash message left by a POST is taken once, by whichever replica serves
// the next page.
//
// Secrets (the instance token, the ready Authorization header) are shown
// only in answer to a POST, on a page that is not cached, and never put in
// a URL or a cookie.
//
// Routes:
//
//	GET  /signin · POST /signin · POST /signout
//	GET  /?q=                                     the connector catalog, searched
//	GET  /connectors/{key}/authenticate           name and edition of a new instance
//	POST /connectors/{key}/instances              Create Instance → 303 to Slack's consent page
//	GET  /instances?after=                        instance cards
//	GET  /instances/{id}                          one instance (the OAuth callback links here)
//	POST /instances/{id}/ping                     auth.test, then back with the result
//	POST /instances/{id}/token                    View Token
//	GET  /instances/{id}/edit · POST …/edit       Update name and tags (no re-auth)
//	POST /instances/{id}/reauthenticate           → 303 to Slack's consent page
//	GET  /instances/{id}/delete · POST …/delete   confirmation, then delete (tokens revoked at Slack)
//	GET  /instances/{id}/credentials · POST …     base URL; the Authorization header on request
//	GET  /instances/{id}/syncs · POST …           sync status (runs, per-stream progress); Sync now
//	GET  /instances/{id}/records?stream=&where=   the records browser
//	GET  /events?instance=&type=                  the Slack events the person may see, newest first, live (static/events.js)
//	GET  /events/stream?instance_id=&type=&after= the page's live events: the API's event stream (internal/eventstream), by session
//	GET  /settings                                API tokens (one's own; an admin's: the organization's) and, for admins, people
//	POST /settings/tokens · POST /settings/tokens/{id}/revoke     make a token (shown once), revoke one
//	POST /settings/users · POST /settings/users/{id}              add a person (first token shown once); change a role, remove
//	GET  /provisioning                            the instances, to pick one to provision, each saying whether it can
//	GET  /instances/{id}/provisioning?plans=&runs= its plans and runs, newest first; the form that makes a plan
//	POST /instances/{id}/provisioning/plans       plan an uploaded or pasted file (multipart) → 303 to the plan
//	GET  /instances/{id}/provisioning/plans/{plan}        counts, options, diff; Apply
//	POST /instances/{id}/provisioning/plans/{plan}/apply  → 303 to the run
//	GET  /instances/{id}/provisioning/runs/{run}?after=   progress and outcomes, live while it runs
//	POST /instances/{id}/provisioning/runs/{run}/resume   a stopped or failed run, again
//	GET  /audit?action=&actor=&target=&after=     the audit log (admins), newest first
//	POST /audit/verify                            check the log's hash chain
//	GET  /static/console.css, /static/console.js, /static/events.js
//
// Install flow: Authenticate → Create Instance (a pending instance) → Slack's
// consent page → the API's callback (/v1/oauth/slack/callback), whose page
// names the instance and links to "Test in the API docs" (/docs?instance=ID)
// and to /instances/{id}, or on failure says why and links to re-authenticate.
//
// Every control has a visible label and a stable id, for people using
// assistive technology and for the browser tests alike; the ids of an
// instance's controls end with its ID: ping-ID, view-token-ID, api-docs-ID,
// credentials-ID, syncs-ID, records-ID, events-ID, provisioning-ID, edit-ID, delete-ID and,
// while it is not active, reauthenticate-ID. The rest: token, signin, user-secret,
// organization-secret, signin-secrets, signout, nav-connectors,
// nav-instances, nav-docs, connector-search, authenticate-slack,
// instance-name, instance-edition, instance-tags, create-instance,
// instance-token, copy-instance-token, api-docs-with-token, edit-name,
// edit-tags, update-instance, reauthenticate-instance, delete-shared,
// delete-revoke-shared, delete-force,
// confirm-delete, cancel-delete, base-url, reveal-credentials,
// authorization-header, sync-streams, start-sync, run-status,
// records-stream, records-where, records-submit, nav-settings, nav-audit,
// token-name, create-token, new-secret, revoke-token-ID, user-email,
// create-user, role-ID, save-role-ID, remove-user-ID, audit-action,
// audit-filter, verify-audit, audit-verified, audit-events, nav-events,
// events-instance, events-type, events-filter, events-live (its
// data-state: live, connecting or stopped), events, events-body, event-ID
// (a row, by the event's evt_ ID), no-events, nav-provisioning,
// provisioning-instances, pick-ID, not-ready, plan-file, plan-text,
// plan-format, plan-match-key, plan-membership, plan-deactivate-missing,
// plan-brake, plan-force, make-plan, file-problems, plans, plan-ID (a row),
// open-plan-ID, plan-run-ID, no-plans, runs, run-ID (a row), open-run-ID,
// no-runs, plan-id, plan-who, plan-options, plan-applied, plan-run,
// plan-counts, count-KEY, apply-plan, plan-diff, run-id,
// run-status, run-reason, run-progress, run-counts, resume-run, outcomes,
// outcome-N (a row, by the change's index), outcomes-prev, outcomes-next;
// messages are flash and error.
package console
