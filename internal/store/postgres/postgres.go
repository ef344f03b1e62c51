// Package postgres is the store backend for several replicas on one
// PostgreSQL, through pgx v5. Updater closures lock their row with SELECT …
// FOR UPDATE; migrations take a session advisory lock, so replicas that start
// together migrate once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Dialect describes PostgreSQL to the shared SQL layer.
func Dialect() (*sqlstore.Dialect, error) {
	m, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	return &sqlstore.Dialect{
		Name:         "postgres",
		Placeholders: sqlstore.Rebind,
		ForUpdate:    " FOR UPDATE",
		IsUnique:     func(err error) bool { return pgCode(err) == "23505" },
		IsForeignKey: func(err error) bool { return pgCode(err) == "23503" },
		Migrations:   m,
		GooseDialect: goose.DialectPostgres,
		BatchRows:    250,
		// A row an upsert inserted has no deleting transaction yet; one it
		// updated has its own. Counting keys first (IN of 500 parameters)
		// took 100–250 ms a page under a full sync.
		UpsertReturning: " RETURNING (xmax = 0)",
		// clock_timestamp, not now(): now() is the transaction's start.
		NowMillis: "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)",
		Locker:    locker,
		JSON: sqlstore.JSONDialect{
			Is: func(path []string, t sqlstore.JSONType) (string, []any) {
				v, args := jsonbPath("jsonb_extract_path", path)
				if t == sqlstore.JSONTrue || t == sqlstore.JSONFalse {
					// jsonb_typeof says only 'boolean': compare the value.
					return v + " = CAST('" + string(t) + "' AS jsonb)", args
				}
				// jsonb_typeof names the rest as JSONType does.
				return "jsonb_typeof(" + v + ") = '" + string(t) + "'", args
			},
			Text: func(path []string) (string, []any) { return jsonbPath("jsonb_extract_path_text", path) },
			Number: func(path []string) (string, []any) {
				v, args := jsonbPath("jsonb_extract_path", path)
				return "CAST(" + v + " AS numeric)", args // fails on anything but a number
			},
			// An array contains [v] where an element equals v: numbers by
			// value, strings byte by byte, and never a nested array's or
			// object's element. A scalar or object contains no array
			// (false, not an error); a missing path is NULL.
			Has: func(path []string, t sqlstore.JSONType, lit string) (string, []any) {
				v, args := jsonbPath("jsonb_extract_path", path)
				var elem string
				switch t {
				case sqlstore.JSONString:
					elem, args = "jsonb_build_array(CAST(? AS text))", append(args, lit)
				case sqlstore.JSONNumber:
					elem, args = "jsonb_build_array(CAST(? AS numeric))", append(args, lit)
				default: // true or false
					elem = "CAST('[" + string(t) + "]' AS jsonb)"
				}
				return "COALESCE(" + v + " @> " + elem + ", FALSE)", args
			},
			Num: "CAST(? AS numeric)",
			// Text compares in the database's collation unless told:
			// "C" compares bytes, as SQLite does.
			Bytewise: ` COLLATE "C"`,
			// lower() and ILIKE fold every alphabet; SQLite folds ASCII
			// only, so fold exactly that.
			FoldASCII: func(text string) string {
				return "translate(" + text + ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
			},
		},
	}, nil
}

// jsonbPath calls fn on records.data with each segment of path as an
// argument: jsonb_extract_path(data, ?, ?).
func jsonbPath(fn string, path []string) (string, []any) {
	args := make([]any, len(path))
	for i, s := range path {
		args[i] = s
	}
	return fn + "(data" + strings.Repeat(", ?", len(path)) + ")", args
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Open connects to the database at url (postgres:// or postgresql://). It
// does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, keys *secrets.Keyring) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(dsn), err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", Redact(dsn), err)
	}
	d, err := Dialect()
	if err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(db, d, keys), nil
}

// Redact hides the password of a connection URL, for messages and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(an unparseable URL)"
	}
	return u.Redacted()
}
