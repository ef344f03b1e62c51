// Package journeytest runs the five seed journeys (../shared/seeds/README.md)
// end to end, as a new user on a fresh clone does: `connhub serve --sandbox`
// in-process, exactly as the command runs, the CLI through cli.ExecuteEnv,
// the REST API and the proxy over HTTP, and the sandbox's consent page
// answered as a browser would. No step calls a Go API of connhub's that a
// user could not reach, and no step needs a workaround: each is a command,
// a request or a click that the README or a command's help names.
//
//	000 SAP Open Connectors + Cloud Integration  find Slack in the catalog, create
//	    and consent, ping as the API docs do, credentials for an integration flow
//	001 PingFederate provisioner                 exchange an app's client ID and
//	    secret for tokens, workspace and Enterprise Grid org, and provision with SCIM
//	002 Open Connectors instances                instance ID and token, the token on
//	    every call, view, update, re-authenticate, delete
//	003 Certero                                  user-token scopes only, by consent
//	    or a pasted token, and the usage data retrieved with them
//	004 Flexera Snow Atlas                       editions and their scopes, the
//	    authorize URL with state, the refresh token kept, subscriptions, users
//	    and activity retrieved and queried
//
// The package holds only tests.
package journeytest
