// Package ratelimit paces calls to Slack so that they stay under Slack's
// per-method budgets instead of running into 429s. One Pacer is shared by
// everything in a process that calls Slack (the proxy, the syncs), keyed by
// what Slack keys its limits by: the app, the workspace (or the org, for an
// org-level call) and the method, plus the channel for the one method Slack
// limits per channel (chat.postMessage, about one a second), with the
// budgets of internal/slackspec, the same table the sandbox enforces.
//
// SCIM's limits (slackspec.SCIMLimit) are buckets with a burst: a limit of
// 180 a minute with a burst of 20 is paced as 20 calls in any ninth of a
// window, which keeps Slack's bucket from emptying at the same long-run
// rate (slackspec.Budget). Their keys name the organization and the limit,
// not the app: every SCIM app of an org shares them.
//
// Slack counts calls in one-minute windows, as they arrive. The pacer keeps,
// for each key, the last N calls it let go (N the method's budget per window)
// and lets the next one go no sooner than a window after the oldest of them
// was done: never more than N calls in any window, the strictest reading of
// Slack's limit. "Done" is when the caller had Slack's answer (Ticket.Done),
// which is never before Slack counted the call, so however the calls were
// delayed on their way, a client paced here sees no 429 for pacing reasons.
// Until a call is done, its reserved time stands in for it. Callers reserve
// under a lock and sleep outside it, so concurrent callers queue in order.
// After a 429 anyway (another app, another replica), Backoff closes the key
// until Retry-After has passed.
//
// # Bounded lanes
//
// A key's state is its lane. Lanes do not grow with what callers send:
//
//   - A lane is idle when none of its calls is pending, a window (plus the
//     margin) has passed since the last of them went or was done, and no
//     Backoff holds it. An idle lane would give the next call the same time
//     as a fresh one, so dropping it loses nothing. The pacer drops every
//     idle lane at most once a window, on a Reserve.
//   - The lanes of channels are capped (Options.MaxChannelLanes,
//     DefaultMaxChannelLanes). A new channel at the cap first drops idle
//     lanes, least recently used first. If that frees no place, its call
//     ("workspace/method#channel") spends the coarser key
//     ("workspace/method"), the method's budget for the whole workspace:
//     slower for that channel, never unbounded. The other lanes are not
//     capped: their number is bounded by the installs and Slack's methods,
//     which callers do not choose (the proxy and the syncs name a workspace
//     only when it is one the instance was granted).
//   - A channel longer than MaxChannel gets no key of its own.
//   - A lane's ring of slots grows with its calls, up to its budget.
//
// A per-channel call that fell back to the coarse lane is not counted in
// its channel's lane should that lane come back later in the same window;
// Slack's 429 and Retry-After, which the callers honour through Backoff,
// cover that rare overlap.
//
// # Shared budgets
//
// Slack's budgets are per app and workspace, not per replica: N replicas
// each pacing alone spend N times the budget. With Options.Shared (serve
// sets it to the store on PostgreSQL: --pacer auto) every replica on the
// database spends one budget. The lanes live in the table pacer_lanes:
// for each key, its recent calls, each as its slot (when it was let go) and,
// once a replica reports it, when its answer came, on the database's clock.
// A replica does not ask for each call: when a lane has callers and no slot
// in hand, one of them leases the next k slots in one transaction (k the
// callers waiting, at most the budget), none further ahead than the
// horizon (a quarter of the window); the others wait for its answer.
//
// The shared rule is the local one seen from the database: a call counts
// from when its answer came, which is after Slack counted it, and a slot
// goes a window (and the margin) after the budget-th latest of those. A
// ticket of a shared lane reports its Done to the lane, in batches, one
// round trip at a time; a call not yet reported counts from its slot and
// twice the hold (Options.Hold, a fiftieth of the window, at least 50 ms):
// a slot may be used up to a hold after its time, and its call may take as
// long again to reach Slack. A caller woken later than that gives the slot
// back and takes another, as does a caller that gives up its wait. When
// the next slot waits on a call not yet reported, the replica asks again a
// hold later. A leased slot is placed from when the lease's answer came:
// the database read its clock before, so the slot is never early, whatever
// the replicas' clocks say. What a replica holds when it dies is at most a
// horizon of future slots, unreported: free again a window after their
// time and twice the hold. The 300-call benchmark needs about 2.7 short
// round trips per call (leases, reports, and leases that found the next
// slot taken by another replica).
//
// A 429 (Backoff) closes the lane here at once and, in the database, for
// every replica from its next lease: blocked_until. If the database does not
// answer a lease within two seconds, the replica paces alone for five
// seconds on each budget divided by the replicas it counts (their
// heartbeats), says so once in the log, and tries the database again:
// slower, never unbounded. Stats count the leases, reports, slots and fallbacks for
// /metrics. Reserve stays the local rule: it is what the in-process pacer
// is made of, and what a fallback paces by.
//
// Redis with a GCRA (redis_rate) was measured against this and
// rejected: docs/ARCHITECTURE.md, "One budget for all replicas" (its
// code is in commit bdf06f1, internal/ratelimit/redisbudget).
//
// # Shutdown
//
// Close ends every wait, present and future, with ErrClosed, so that a
// process shutting down answers the callers it was pacing (the proxy says
// 503 with Retry-After) instead of dropping them.
package ratelimit
