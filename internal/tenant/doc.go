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
// Network-facing callers (Middleware, the proxy, the console's sign-in)
// authenticate through AuthenticateFrom, which adds the source address. With
// a Throttle it counts failed attempts (every AuthError but
// missing_credentials) in two token buckets, per source (an IPv4 address or
// an IPv6 /64 of the TCP peer; X-Forwarded-For is not trusted) and per
// credential (the SHA-256 of the token or of the Open Connectors parts,
// however spelled), and refuses a source or credential whose bucket is empty
// with a *ThrottledError, before any lookup: Middleware answers it 429
// too_many_failed_attempts with Retry-After. Its tables are bounded
// (DefaultThrottle: 10,000 keys each; refilled buckets are evicted first).
// Metrics counts connhub_auth_failures_total{reason} and
// connhub_auth_throttled_total. Authenticate itself neither throttles nor
// counts.
//
// On the first start with an empty database, Bootstrap creates a default
// organization and its admin, and gives the admin an API token:
// CONNHUB_ADMIN_TOKEN's, or a generated one printed once and written to a file
// readable by the owner only. A chosen token must pass CheckAPIToken (the
// prefix chub_ and at least 22 characters of base64url's alphabet, so 128 bits
// if random); Bootstrap, like config validation, refuses one that does not.
//
// FuzzAuthenticate (fuzz_test.go, seeds in testdata/fuzz) checks over a real
// store that only a live credential's header authenticates, up to the case
// of the scheme and part names, the whitespace around words and the order of
// the Open Connectors parts.
package tenant
