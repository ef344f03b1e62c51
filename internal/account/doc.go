// Package account manages who can use the hub: organizations (hub operators
// make them), the people of an organization (admins add, change and remove
// them) and API tokens (everyone makes, lists and revokes their own; admins
// see and revoke the organization's). Every method takes the caller's
// tenant.Principal and asks internal/authz; every change is in the audit
// log, written in its transaction. New secrets (an API token, a user
// secret, an organization secret) are returned once and stored only as
// hashes (and, for the Open Connectors secrets, sealed).
//
// Guards beyond the policy: an organization keeps at least one admin; a
// scoped API token makes tokens with its own scopes only, so no token mints
// a stronger one; service identities (a named credential's) are managed
// through their credential, not as users.
package account
