// Package replica makes each running `connhub serve` known to the others on
// the same database: every HeartbeatInterval it writes a heartbeat (a row of
// the store's replicas table) naming the encryption keys it holds and the
// one it seals with, at once again whenever its key ring changes, and it
// removes its row when it stops cleanly.
//
// A replica is live while its last heartbeat is younger than LiveWindow (six
// heartbeats: a replica that misses one or two is still counted, one that
// crashed stops counting half a minute later). The keys commands ask Live
// before they change what seals: `connhub keys promote` refuses while a live
// replica lacks the key (Lacking), `connhub keys reseal` while one lacks the
// primary, and `connhub keys retire` while one still seals with the key
// (SealingWith).
package replica
