// Package slackcall is the one way connhub calls Slack's Web API: a Stack of
// http.RoundTrippers that the proxy, the sync engine, the install client and
// token refreshes all send through, each under its own Policy.
//
//	retryTransport  Policy: a 429 is waited out (its Retry-After, up to
//	                MaxRetryAfter, RateLimited times); a 5xx, a network error
//	                or (Whole) a garbled answer is sent again, Retries times
//	                with jittered exponential backoff, only for methods that
//	                only read (Read): a write may have been acted on
//	tokenTransport  a request whose Call names an instance and a token kind
//	                gets Authorization: Bearer from the token source
//	                (instance.Service.SlackToken: refreshed ahead of expiry,
//	                once for all concurrent callers); on a short token_expired
//	                answer, refreshes it (forced) and sends once more
//	paceTransport   waits for the Call's lane's budget in the pacer
//	                (internal/ratelimit) and reports the wait; on a 429, tells
//	                the pacer its Retry-After (Backoff)
//	Base            one pooled http.Transport
//
// What a request is for travels in its context: WithCall(ctx, &Call{Instance,
// Kind, Method, Lane, …}); the transports write back the instance after any
// refresh, the time waited and the retries. A request without a Call (the
// install client's oauth.v2.access, auth.test, auth.revoke, auth.teams.list)
// carries its own credentials and is only retried.
//
// Answers stream: the stack never reads a body, except the first bytes of a
// short answer (under 512 bytes) to look for token_expired, and all of it
// under a Policy with Whole. The proxy copies the *http.Response it gets to
// its caller; the Caller (Do) is a thin reader over the stack for the sync
// engine, which reads pages whole.
//
// # Policies
//
//	ProxyPolicy    5 429s, Retry-After ≤ 30 s, 2 retries from 100 ms to 2 s:
//	               someone waits; a longer 429 is answered to them
//	SyncPolicy     20 429s, Retry-After ≤ 5 min, 4 retries from 200 ms to 5 s,
//	               answers read whole: nobody waits, a failed page costs a stream
//	InstallPolicy  2 429s, Retry-After ≤ 10 s, 2 retries from 200 ms to 2 s;
//	               oauth.v2.access and auth.revoke are writes, never sent
//	               again after a 5xx or a lost answer: a code and a refresh
//	               token are single use, and sending one again only earns
//	               invalid_code or invalid_refresh_token
//
// Slack's envelope ({"ok":…,"error":…}) and Retry-After are read by the Slack
// connector's one parser each (slack.ParseEnvelope, slack.ParseRetryAfter),
// and its error codes are classified by the connector's one table
// (slack.Classify): the stack asks it only whether a code is Refresh.
//
// Lane names the budget a call spends, and Read whether a method only reads.
package slackcall
