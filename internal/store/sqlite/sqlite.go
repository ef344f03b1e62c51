// Package sqlite is the embedded store backend: modernc.org/sqlite, pure Go,
// one file, nothing to install. The database runs in WAL mode with a busy
// timeout and foreign keys on; every transaction takes the write lock when it
// begins (_txlock=immediate), so updater closures never meet a lock upgrade
// deadlock and writers queue instead of failing.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Dialect describes SQLite to the shared SQL layer.
func Dialect() *sqlstore.Dialect {
	m, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return &sqlstore.Dialect{
		Name:         "sqlite",
		Placeholders: func(q string) string { return q },
		IsUnique: func(err error) bool {
			return code(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
		IsForeignKey: func(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
		Migrations:   m,
		GooseDialect: goose.DialectSQLite3,
		SingleWriter: true,
		// unixepoch('subsec'): SQLite 3.42 and later, with milliseconds.
		NowMillis: "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
		BatchRows: 1, // a prepared statement per record is as fast, and stays far from SQLite's bound-parameter limit
		JSON: sqlstore.JSONDialect{
			// json_type names the type at a path ('text', 'integer',
			// 'real', 'true', 'false', 'null', 'object', 'array'), NULL
			// where there is none.
			Is: func(path []string, t sqlstore.JSONType) (string, []any) {
				return "json_type(data, ?) IN (" + jsonTypes[t] + ")", []any{jsonPath(path)}
			},
			// json_extract gives a JSON string as TEXT, a number as
			// INTEGER or REAL.
			Text:   func(path []string) (string, []any) { return "json_extract(data, ?)", []any{jsonPath(path)} },
			Number: func(path []string) (string, []any) { return "json_extract(data, ?)", []any{jsonPath(path)} },
			// json_each walks an object's members, and a scalar as one
			// row, as readily as an array's elements: only an array is
			// looked into. It gives a string element as TEXT (type
			// 'text'), a number as INTEGER or REAL, true and false as 1
			// and 0 (told apart by type).
			Has: func(path []string, t sqlstore.JSONType, lit string) (string, []any) {
				p := jsonPath(path)
				cond, args := "e.type IN ("+jsonTypes[t]+")", []any{p, p}
				switch t {
				case sqlstore.JSONString:
					cond, args = cond+" AND e.value = ?", append(args, lit)
				case sqlstore.JSONNumber:
					cond, args = cond+" AND e.value = CAST(? AS NUMERIC)", append(args, lit)
				}
				return "CASE WHEN json_type(data, ?) = 'array' THEN EXISTS (SELECT 1 FROM json_each(data, ?) AS e WHERE " + cond + ") ELSE FALSE END", args
			},
			Num: "CAST(? AS NUMERIC)",
			// TEXT compares with the BINARY collation: byte by byte.
			Bytewise: "",
			// Without the ICU extension (modernc.org/sqlite has none),
			// lower() folds ASCII letters only.
			FoldASCII: func(text string) string { return "lower(" + text + ")" },
		},
	}
}

// jsonTypes lists json_type's names for each type.
var jsonTypes = map[sqlstore.JSONType]string{
	sqlstore.JSONString: "'text'",
	sqlstore.JSONNumber: "'integer', 'real'",
	sqlstore.JSONTrue:   "'true'",
	sqlstore.JSONFalse:  "'false'",
	sqlstore.JSONNull:   "'null'",
}

// jsonPath writes a path as SQLite's JSON path, each segment quoted:
// $."profile"."email". Segments are names, so hold no quotes.
func jsonPath(path []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range path {
		b.WriteString(`."` + s + `"`)
	}
	return b.String()
}

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// Open opens (creating if need be) the database file at path. The file and
// its WAL are readable by the owner only: they hold sealed secrets and token
// hashes. Open does not migrate; call Migrate.
func Open(ctx context.Context, path string, keys *secrets.Keyring) (*sqlstore.Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: %q is not a usable database path (it must be non-empty, without ? or #)", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create the database directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(15000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Keep every connection the pool may open: a connection closed for want
	// of an idle slot is opened again on the next burst, pragmas and all.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s is not in WAL mode (got %q): %v", path, mode, err)
	}
	return sqlstore.New(db, Dialect(), keys), nil
}
