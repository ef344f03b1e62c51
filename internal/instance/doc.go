// Package instance owns connector instances: authenticated connections to one
// Slack workspace or Enterprise Grid org, each with its own ID and instance
// token. It creates them (through Slack's OAuth install, a pasted token, or an
// imported refresh token), keeps their Slack tokens fresh, pings them, hands
// their credentials to integration tools, and deletes them for good.
//
// # States
//
//	pending ──callback ok──▶ active ──refresh fails / token dead──▶ needs_reauth
//	   │                       │  └──token revoked at Slack──────▶ revoked
//	   └─denied, bad code,     │
//	     bad state──▶ failed   └──(re-authenticate: a new authorize URL; the
//	                              instance keeps its ID and instance token)
//
// needs_reauth, revoked and failed return to active through a successful
// re-authentication. StatusReason says why an instance left active: Slack's
// error code and a sentence.
//
// # The OAuth install
//
// Create stores the instance (pending), an OAuth state (single use, ten
// minutes) and a PKCE verifier, and returns Slack's authorize URL. The state
// parameter is "<state ID>.<signature>": an HMAC over the state's ID, its
// organization, its instance and its expiry with a hub-wide key (an
// installation secret, the same on every replica), so a tampered state is
// refused before the store is asked, and a replayed or expired one after.
// Callback exchanges the code, stores the tokens sealed, and activates the
// instance.
//
// # Tokens
//
// AccessToken returns a token that is good for now: one that expires within
// the refresh margin is refreshed first. Any number of concurrent callers
// cause one refresh: in-process a single flight, across replicas sharing a
// database a lease on the instance row (RefreshLeaseOwner/Until) that one
// replica takes while the others wait for the token version to move. The
// rotated refresh token is stored in the same write as the new access token,
// before anyone uses it. A failed refresh marks the instance needs_reauth.
// Refresher renews idle instances ahead of expiry in the background.
package instance
