// Package sqlstore is the SQL layer both store backends share: the queries,
// written once with "?" placeholders, the transactions and updater closures,
// the sealing of secret columns, and migrations through goose. A Dialect
// supplies what differs between SQLite and PostgreSQL: placeholders, row
// locks, how the driver reports a unique or foreign-key violation, the
// migration files and the migration lock.
//
// Conventions of the schema, the same on both dialects:
//   - times are BIGINT milliseconds since the Unix epoch, UTC; optional times
//     are NULL when unset;
//   - lists and maps are JSON in TEXT columns (records' data is JSONB on
//     PostgreSQL, TEXT holding JSON on SQLite, so that both can index into it);
//   - secret columns hold sealed bytes (BLOB / BYTEA), opened with the row's
//     "table/id/column" as associated data;
//   - every org-owned table has org_id, and every query on it says org_id = ?,
//     but for the lookups that establish an organization: by the hash of a
//     bearer token or secret, by OAuth state, and console sessions (by the
//     SHA-256 of their ID, sessions.go).
package sqlstore
