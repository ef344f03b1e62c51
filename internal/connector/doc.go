// Package connector owns the connector catalog: which services connhub connects
// to, the editions (plans) of each, the ways an instance can authenticate, and
// the features connhub offers on it with the OAuth scopes each needs. It is
// data, served by GET /v1/connectors?q= and read when an install builds its
// authorize URL ([Edition.BotScopes], [Edition.UserScopes]) and when ping checks
// what an instance was granted ([Edition.MissingScopes]). The Slack client itself
// lives in internal/connector/slack.
//
// # The Slack connector
//
// Slack is the one connector so far. Its editions are the five plans the Snow
// Atlas guide (seed 004) supports: Free, Pro, Business+, Enterprise Grid and
// Enterprise Grid with compliance. Plan is what team.billing.info reports for
// each ("", "std", "plus", "enterprise", "compliance"), so ping can tell the
// edition of a workspace it is connected to ([Connector.EditionByPlan]). The
// Grid editions install org-wide (OrgInstall): admin.* methods answer only a
// token from an org-wide install (FACTS 3.2).
//
// The authentication methods are the three journeys of the seeds: oauth2, the
// install through Slack's consent page (seeds 000, 001, 004); token, an existing
// bot or user token pasted in and checked with auth.test (Certero, seed 003); and
// refresh_token, a client ID, client secret and refresh token imported and
// checked by refreshing (Snow Atlas, seed 004, which keeps authed_user's
// refresh_token).
//
// # Features and their scopes
//
// Each feature names the Web API methods it calls and the scopes those need,
// from FACTS section 3 and internal/slackspec; an edition's scopes are the union
// of its features' scopes. Where a seed asks for the scope, it is named:
//
//	feature           methods                                   scopes (bot | user)                                  editions  seed
//	users             users.list, users.info, users.getPresence users:read, users:read.email |                       all       003 users:read; 004 users:read (all), users:read.email (enterprise)
//	profiles          users.profile.get                         users.profile:read |                                 all       003
//	billing           team.billing.info, team.billableInfo      team.billing:read | admin                            all       004 team.billing:read and admin
//	access_logs       team.accessLogs                           | admin                                              paid      003 and 004 admin
//	integration_logs  team.integrationLogs                      | admin                                              all       003 and 004 admin
//	analytics         admin.analytics.getFile                   | admin.analytics:read                               Business+ and Grid  004 (enterprise)
//	org_users         admin.users.list                          | admin.users:read                                   Grid      004 (enterprise)
//	channels          conversations.list, .members, users.conversations  channels:read, groups:read, im:read, mpim:read |  all  003
//	messages          conversations.history, .replies           channels:history, groups:history, im:history, mpim:history |  all  003 channels:history, im:history
//	files             files.list                                files:read |                                         all       003
//	usergroups        usergroups.list, usergroups.users.list    usergroups:read |                                    paid      003
//	team              team.info                                 team:read |                                          all       003; 004 (enterprise)
//	emoji             emoji.list                                emoji:read |                                         all       FACTS 3
//	bookmarks         bookmarks.list                            bookmarks:read |                                     all       004 (a bot scope there too)
//	calls             calls.info                                calls:read |                                         all       003
//	scim              SCIM /scim/v2/ Users and Groups           | admin                                              Business+ and Grid  001 (PingFederate provisioning)
//
// Two choices differ from the seeds, which ask for user scopes only (003) or
// nearly so (004):
//
//   - connhub asks for a bot scope wherever a bot token may call the method,
//     and for a user scope only where Slack grants the method to user tokens
//     alone (admin, admin.analytics:read, admin.users:read). A bot token does not
//     die when the person who installed the app leaves or is deactivated; a user
//     token does (token_revoked). Every bot scope in the catalog is also a user
//     scope, so a user token that holds it serves the feature as well, which is
//     how [Edition.MissingScopes] counts it: an instance made from a pasted user
//     token (003) or an imported user refresh token (004) is not reported as
//     missing what its user token has.
//   - "Paid" gates follow Slack and the sandbox: team.accessLogs answers paid_only
//     and usergroups.* plan_upgrade_required on Free; analytics and SCIM are for
//     Business+ and Grid; admin.users.list for Grid.
//
// auth.teams.list, which lists the workspaces an org-wide install reaches, needs
// no scope and so is no feature here.
package connector
