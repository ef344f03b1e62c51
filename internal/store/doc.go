// Package store is connhub's persistence contract: the entities connhub keeps,
// the operations on them, and the errors every backend maps its driver's errors
// to (ErrNotFound, ErrAlreadyExists, ErrConflict).
//
// Two backends implement it over the same SQL layer (internal/store/sqlstore):
// internal/store/sqlite, embedded and the default, and internal/store/postgres,
// for several replicas on one database. internal/store/storetest is the one
// conformance suite both run; new store behaviour extends the suite first.
//
// # Tenancy
//
// Every entity but Organization belongs to one organization, and every
// operation on it names the organization: a row of another organization is
// ErrNotFound, exactly as a row that does not exist, so that org A can neither
// read nor change nor learn of org B's data. The only lookups that do not name
// an organization are those that establish one: by the hash of a bearer token
// or secret (a console session's ID among them), and by OAuth state.
//
// # IDs
//
// NewID makes the IDs rows are known by: a creation millisecond and 80 random
// bits, fresh for every ID, so lists (keyset pages on the ID) follow creation
// time to the millisecond and no ID gives away another. Within a millisecond
// the order is random: what needs a strict order keeps a sequence of its own.
// NewSecretID makes IDs that are bearer secrets themselves (OAuth states): 256
// random bits and nothing else.
//
// # Secrets
//
// Secret fields (secrets.Secret) are sealed by the store with the key ring
// before they are written and opened after they are read, with the row's
// identity ("table/id/column") as associated data: a database file alone gives
// nothing away, and a ciphertext copied into another row does not open. Bearer
// tokens are never stored, only their SHA-256 hashes (secrets.HashToken).
//
// # Changes
//
// Read-modify-write goes through updater closures (UpdateInstance and the
// like): the store reads the row, calls the closure, and writes the result in
// one transaction, under a row lock on PostgreSQL and the database write lock
// on SQLite, bumping the row's Version. The closure may run more than once and
// must not call Slack or do anything it cannot repeat. A closure that finds a
// Version other than the one its caller read returns ErrConflict itself
// (optimistic concurrency for callers that read earlier).
package store
