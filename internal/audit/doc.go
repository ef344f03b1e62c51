// Package audit writes connhub's audit log: who did what to which target,
// from where, and how it ended.
//
// Every event is written by Write through the store.Queries of the
// transaction that does what it records, so the event and the change commit
// together, or neither does: if the log cannot be written, the action fails
// (fail closed). A secret is revealed only by a transaction that has
// written its event. The store hash-chains each organization's events
// (store.AuditHash): store.VerifyAudit and `connhub audit verify` find a
// changed, missing or cut-off event.
//
// An event names its actor (ActorOf: a person, a service identity, an
// instance token or the system, and the credential used), the request ID and
// source IP that the HTTP layer puts in the context (WithRequest), the
// action (internal/authz names them), the target and the outcome. Details
// never hold a secret.
package audit
