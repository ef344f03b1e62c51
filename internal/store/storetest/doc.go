// Package storetest is the one conformance suite every store backend runs:
// call Run from a few lines in the backend's test with a Backend that makes
// fresh databases. New store behaviour extends this suite first, so that
// SQLite and PostgreSQL cannot drift apart.
package storetest
