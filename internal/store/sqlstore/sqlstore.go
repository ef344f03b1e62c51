package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// Dialect is what a backend tells the shared layer about its database.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// Placeholders rewrites "?" placeholders to the database's own ("$1"…).
	Placeholders func(query string) string
	// ForUpdate is appended to the SELECT of an updater to lock the row
	// (" FOR UPDATE" on PostgreSQL; SQLite's transactions take the write lock
	// when they begin).
	ForUpdate string
	// IsUnique and IsForeignKey recognise the driver's constraint errors.
	IsUnique     func(error) bool
	IsForeignKey func(error) bool
	// Migrations holds the numbered goose migrations (NNNNN_name.sql).
	Migrations   fs.FS
	GooseDialect goose.Dialect
	// Locker serializes migrations across replicas; nil where one process
	// owns the database (SQLite).
	Locker lock.SessionLocker
	// JSON reads records' data for QueryRecords (query.go).
	JSON JSONDialect
	// SingleWriter says the database takes one writer at a time (SQLite):
	// the store queues its writers itself, in order, rather than leave them
	// to the database's busy handler, which sleeps and retries.
	SingleWriter bool
	// BatchRows is how many records one upsert statement writes (1: a
	// prepared statement run once a record).
	BatchRows int
	// UpsertReturning, when set, ends the records' upsert with a RETURNING
	// clause of one boolean, true for a row the statement inserted
	// (PostgreSQL: xmax = 0). Without it the store counts the keys it
	// already holds first, a query a page.
	UpsertReturning string
	// NowMillis is an SQL expression for the database's clock, in
	// milliseconds since the epoch: the one clock that every replica's
	// pacer leases are timed by (pacer.go).
	NowMillis string
}

// Store is the shared implementation of store.Store.
type Store struct {
	queries
	db     *sql.DB
	writer chan struct{} // held by the one writer, where the dialect is SingleWriter
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared lookups (lookup)
}

var (
	_ store.Store = (*Store)(nil)
	_ store.SQLTx = (*queries)(nil)
)

// New wraps an open database. The store owns db and closes it.
func New(db *sql.DB, d *Dialect, keys *secrets.Keyring) *Store {
	s := &Store{db: db, writer: make(chan struct{}, 1), stmts: map[string]*sql.Stmt{}}
	s.queries = queries{db: db, d: d, keys: keys, s: s}
	return s
}

// DB is the underlying database, for tests and for tools that must see the
// raw rows.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) Backend() string { return s.d.Name }

func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	s.stmtMu.Unlock()
	return s.db.Close()
}

// InTx runs fn in one transaction.
func (s *Store) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.queries.inTx(ctx, func(q *queries) error { return fn(q) })
}

// dbtx is what both *sql.DB and *sql.Tx offer.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries runs the entity operations on a database or inside a transaction.
type queries struct {
	db   dbtx
	d    *Dialect
	keys *secrets.Keyring
	s    *Store
	tx   bool
	// sqlTx is db where it is a transaction: for the writes of others that
	// join it (store.SQLTx).
	sqlTx *sql.Tx
}

// inTx runs fn in a transaction, or directly when q is already in one.
func (q *queries) inTx(ctx context.Context, fn func(q *queries) error) (err error) {
	if q.tx {
		return fn(q)
	}
	release, err := q.write(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := q.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
			return
		}
		if cerr := tx.Commit(); cerr != nil {
			err = fmt.Errorf("store: commit: %w", q.mapErr(cerr))
		}
	}()
	return fn(&queries{db: tx, d: q.d, keys: q.keys, s: q.s, tx: true, sqlTx: tx})
}

// SQLTx is the transaction q runs in (store.SQLTx); nil outside InTx.
func (q *queries) SQLTx() *sql.Tx { return q.sqlTx }

// write waits for the right to write, where the database takes one writer
// at a time, and returns what gives it back.
func (q *queries) write(ctx context.Context) (func(), error) {
	if !q.d.SingleWriter || q.tx {
		return func() {}, nil
	}
	select {
	case q.s.writer <- struct{}{}:
		return func() { <-q.s.writer }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("store: wait to write: %w", ctx.Err())
	}
}

func (q *queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	release, err := q.write(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	r, err := q.db.ExecContext(ctx, q.d.Placeholders(query), args...)
	return r, q.mapErr(err)
}

func (q *queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.db.QueryContext(ctx, q.d.Placeholders(query), args...)
	return rows, q.mapErr(err)
}

func (q *queries) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.db.QueryRowContext(ctx, q.d.Placeholders(query), args...)
}

// lookup is queryRow for the few lookups that every request makes (an
// instance, organization, user or API token by ID or hash): outside a
// transaction it runs a statement prepared once, which spares parsing and
// planning the same SQL on every request.
func (q *queries) lookup(ctx context.Context, query string, args ...any) *sql.Row {
	if q.tx {
		return q.queryRow(ctx, query, args...)
	}
	stmt, err := q.s.prepared(ctx, q.d.Placeholders(query))
	if err != nil {
		return q.queryRow(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

// maxPrepared bounds the statements a Store keeps prepared; lookups beyond
// it run unprepared.
const maxPrepared = 64

// prepared returns the statement for query, preparing it the first time.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	if len(s.stmts) >= maxPrepared {
		return nil, errors.New("store: too many prepared statements")
	}
	st, err := s.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// mapErr turns the driver's constraint errors into the store's sentinels.
func (q *queries) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case q.d.IsUnique(err):
		return fmt.Errorf("%w: %v", store.ErrAlreadyExists, err)
	case q.d.IsForeignKey(err):
		return fmt.Errorf("%w: a row it refers to does not exist: %v", store.ErrNotFound, err)
	}
	return err
}

// one checks a write touched exactly one row.
func one(r sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// seal seals a secret for table/id/column; an empty secret is stored as NULL.
func (q *queries) seal(table, id, column string, v secrets.Secret) (any, error) {
	if v.IsZero() {
		return nil, nil
	}
	b, err := q.keys.Seal([]byte(v.Reveal()), aad(table, id, column))
	if err != nil {
		return nil, fmt.Errorf("store: seal %s.%s: %w", table, column, err)
	}
	return b, nil
}

// open opens what seal stored.
func (q *queries) open(table, id, column string, b []byte) (secrets.Secret, error) {
	if len(b) == 0 {
		return "", nil
	}
	p, err := q.keys.Open(b, aad(table, id, column))
	if err != nil {
		return "", fmt.Errorf("store: open %s.%s of %s: %w", table, column, id, err)
	}
	return secrets.Secret(p), nil
}

func aad(table, id, column string) []byte { return []byte(table + "/" + id + "/" + column) }

// ms renders a time as the schema keeps it: milliseconds, NULL for zero.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMS reads what ms wrote.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// now is the store's clock, truncated to what the schema keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("store: encode: %w", err)
	}
	return string(b), nil
}

func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("store: decode: %w", err)
	}
	return nil
}

// pageArgs turns a Page into the keyset condition and the LIMIT: one row more
// than asked, to learn whether a next page exists.
func pageArgs(p store.Page) (after string, limit int) { return p.After, p.Size() + 1 }

// nextCursor trims the extra row and names the cursor of the next page.
func nextCursor[T any](rows []T, p store.Page, id func(T) string) ([]T, string) {
	if len(rows) <= p.Size() {
		return rows, ""
	}
	rows = rows[:p.Size()]
	return rows, id(rows[len(rows)-1])
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanOrgAndID reads a row of an organization's ID and a row's ID: the keys
// of work a sweep hands on (runs adrift, webhooks due).
func scanOrgAndID(r scanner) ([2]string, error) {
	var k [2]string
	err := r.Scan(&k[0], &k[1])
	return k, err
}

// collect reads every row of a query with scan:
// collect(scanUser)(q.query(ctx, …)).
func collect[T any](scan func(scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []T
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}

// Rebind rewrites "?" placeholders as "$1", "$2"… for PostgreSQL. It skips
// question marks inside single-quoted strings.
func Rebind(query string) string {
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// updateRow runs an updater closure on one row in a transaction: read it
// (locked), let fn change a copy, put back what fn may not change, bump the
// version and write it where the version is still the one read.
func updateRow[T any](ctx context.Context, q *queries, what string, read func(*queries) (T, error), fn func(*T) error,
	keep func(old T, next *T), version func(*T) *int64, write func(q *queries, next *T, oldVersion int64) error) (T, error) {
	var out T
	err := q.inTx(ctx, func(q *queries) error {
		cur, err := read(q)
		if err != nil {
			return err
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		keep(cur, &next)
		old := *version(&cur)
		*version(&next) = old + 1
		if err := write(q, &next, old); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.ErrConflict
			}
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("store: update %s: %w", what, err)
	}
	return out, nil
}

// nullBytes stores an empty byte slice as NULL, so that optional unique
// columns (hashes) hold any number of absent values.
// nullString stores "" as NULL, for optional references.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// list encodes a string list; nil is stored as [].
func list(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	s, _ := toJSON(xs)
	return s
}

func repeat(s string, n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat(s, n)
}

// likeEscape escapes LIKE's wildcards with a backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// listAfter runs a keyset-paged query whose last two placeholders are the
// cursor and the limit, and returns the page and the next page's cursor.
func listAfter[T any](ctx context.Context, q *queries, what string, scan func(scanner) (T, error), id func(T) string, p store.Page, query string, args ...any) ([]T, string, error) {
	after, limit := pageArgs(p)
	rows, err := collect(scan)(q.query(ctx, query, append(args, after, limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s: %w", what, err)
	}
	rows, next := nextCursor(rows, p, id)
	return rows, next, nil
}

// deleteRow deletes one org-owned row by ID.
func (q *queries) deleteRow(ctx context.Context, what, table, orgID, id string) error {
	if err := one(q.exec(ctx, `DELETE FROM `+table+` WHERE org_id = ? AND id = ?`, orgID, id)); err != nil {
		return fmt.Errorf("store: delete %s: %w", what, err)
	}
	return nil
}
