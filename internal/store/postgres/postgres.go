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
		Locker:       locker,
	}, nil
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
