// Package tenant owns who is calling: organizations, their users and the
// credentials they authenticate with, and the middleware that turns an
// Authorization header into a Principal.
//
// Two header forms are accepted:
//
//	Authorization: Bearer chub_…                       an API token of a user
//	Authorization: Bearer chi_…                        an instance token (it acts for its instance)
//	Authorization: User <user secret>, Organization <organization secret>[, Element <instance token>]
//
// the second being SAP Open Connectors' form, which integration tools already
// send. Every token and secret is random (secrets.NewToken), stored only as its
// SHA-256 hash, looked up by that hash and compared in constant time. Failures
// say what was wrong with the header, never echo it, and all look the same
// whether the organization, user or instance exists or not.
//
// On the first start with an empty database, Bootstrap creates a default
// organization and its admin, and gives the admin an API token:
// CONNHUB_ADMIN_TOKEN's, or a generated one printed once and written to a file
// readable by the owner only.
package tenant
