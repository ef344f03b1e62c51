// Package instance owns connector instances: authenticated connections to one
// Slack workspace or Enterprise Grid org, each with its own ID and instance
// token. It creates them (through Slack's OAuth install, a pasted token, or an
// imported refresh token), keeps their Slack tokens fresh, pings them, hands
// their credentials to integration tools, and deletes them for good; and it
// registers the Slack apps they install with (a new client secret is proven
// by a refresh at Slack before it is stored: UpdateApp).
//
// Every method that acts for a caller takes the caller's tenant.Principal and
// asks internal/authz first (Authorize does the same for the services beside
// this one). What a caller changes or reveals is recorded in the audit log in
// the transaction that does it (audited): a reveal is answered only after its
// event commits. Named credentials (credentials.go) are integration tools'
// identities of their own: a service user bound to the instance, whose secret
// or API token the value carries, never a person's.
//
// # States
//
//	pending ──callback ok──▶ active ──refresh fails / token dead──▶ needs_reauth
//	   │                       │  └──token revoked at Slack──────▶ revoked
//	   ├─denied, bad code,     │
//	   │ expired state──▶ failed└──(re-authenticate: a new authorize URL; the
//	   │                          instance keeps its ID and instance token)
//	   └─every link expired (the sweeper)──▶ expired
//
// An Enterprise Grid org-wide install that no workspace is granted to yet
// (Slack's default) is needs_workspaces, its reason saying how an org admin
// grants one; a ping reads the grant again (auth.teams.list) and makes it
// active once a workspace is there, and so does each sync's start.
//
// needs_reauth, revoked, failed and expired return to active through a successful
// re-authentication. StatusReason says why an instance left active (or never
// got there): an error code and a sentence.
//
// A callback whose state connhub did not sign, or whose state was used
// already, touches no instance: the answer names none.
//
// # The OAuth install
//
// Create stores the instance (pending), an OAuth state (single use, ten
// minutes) and a PKCE verifier, and returns Slack's authorize URL. The state
// parameter is "<state ID>.<signature>": the state's ID is 256 random bits
// (nothing of the time or of the instance ID in it), the signature an HMAC
// of the ID with a hub-wide key (an installation secret, the same on every
// replica). Callback checks the HMAC, in constant time, before it asks the
// store anything, so a forged state is answered exactly as one connhub never
// issued (invalid_state) and consumes nothing; a used or expired state is
// answered alike (state_expired: "this authorize link was used or expired").
// Then it exchanges the code, stores the tokens sealed, and activates the
// instance.
//
// # The sweeper
//
// RunSweeper (started by serve, every minute) deletes OAuth states that
// expired over SweepGrace ago, and marks expired (ExpiredReason) the pending
// instances none of whose states can complete them any more: nobody
// consented before the authorize URL expired. An expired install is
// re-authenticated like a failed one, for a new URL.
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
