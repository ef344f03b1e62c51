// Package authz is the one place that decides who may do what in connhub.
//
// Every service method that acts for a caller takes the caller's
// tenant.Principal and asks Allow before it does anything; the HTTP API, the
// console and the proxy only translate requests into those calls. The
// decisions are one table, Policy: for each Action, whether an organization
// admin, a member, or an instance principal may do it, and the scope that
// covers it for a scoped API token. docs/SECURITY.md shows the same table,
// and the authorization matrix test (internal/httpapi) checks every route of
// the OpenAPI document against it for every kind of principal.
//
// The kinds of principal (KindOf):
//
//	admin     a person with the admin role (API token, or User + Organization secrets)
//	member    a person with the member role
//	instance  acts for one instance only: its instance token, the Open
//	          Connectors header with an Element (even a person's), or a
//	          named credential's service identity
//
// An instance principal asking about another instance is told it does not
// exist (404), as another organization's caller would be; anything else it
// may not do is 403 forbidden, saying what is missing. A scoped API token
// may do an action only when its user's role may and one of its scopes
// covers the action. Actions without a rule are refused: the policy fails
// closed.
package authz
