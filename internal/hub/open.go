package hub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/sqlstore"
	"github.com/connhub/connhub/internal/tenant"
)

// Database is connhub's database, opened: the store, the keys that seal its
// secrets, and what the sync queue needs to keep its tables beside the
// store's.
type Database struct {
	Store store.Store
	// SQL, Backend and DSN are the store's database, for the job queue that
	// syncs wait in (River keeps its tables beside the store's).
	SQL     *sql.DB
	Backend string             // "sqlite" or "postgres"
	DSN     string             // the SQLite path or the PostgreSQL URL: never logged
	Org     store.Organization // the first organization: where the hub's own apps are registered
	Keys    *secrets.Keyring
	KeyFile string // the key file the keys came from; "" when from CONNHUB_ENCRYPTION_KEYS
}

// ConfigError is a configuration that cannot be used: the caller's mistake.
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

// Open opens the database cfg names: the keys (CONNHUB_ENCRYPTION_KEYS, the
// key file, or on the first start of the embedded database a new key file),
// the store, the migrations, the key check, and the first-start bootstrap,
// which prints the admin's credentials to out once.
func Open(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger) (*Database, error) {
	kind, dsn, err := cfg.Backend()
	if err != nil {
		return nil, ConfigError{err}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", cfg.DataDir, err)
	}
	d := &Database{}
	if d.Keys, d.KeyFile, err = loadKeys(cfg, kind, dsn, log); err != nil {
		return nil, err
	}
	var s *sqlstore.Store
	switch kind {
	case "sqlite":
		s, err = sqlite.Open(ctx, dsn, d.Keys)
	default:
		s, err = postgres.Open(ctx, dsn, d.Keys)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the database: %w (check --db / CONNHUB_DB)", err)
	}
	d.Store, d.SQL, d.Backend, d.DSN = s, s.DB(), kind, dsn
	if err := d.Store.Migrate(ctx); err != nil {
		d.Store.Close()
		return nil, fmt.Errorf("the database could not be migrated, and was left as it was: %w", err)
	}
	if err := d.Store.CheckKeys(ctx); err != nil {
		d.Store.Close()
		return nil, err
	}
	boot, err := tenant.Bootstrap(ctx, d.Store, cfg.AdminToken, cfg.DataDir, out)
	if err != nil {
		d.Store.Close()
		return nil, err
	}
	d.Org = boot.Org
	return d, nil
}

// loadKeys finds the encryption keys and says which key file they came from
// ("" for CONNHUB_ENCRYPTION_KEYS). For the embedded database a key file is
// made on its first start; PostgreSQL, shared by replicas, must be given the
// same keys everywhere, so connhub never makes them up for it. A key file's
// primary line chooses the key that seals.
func loadKeys(cfg config.Config, kind, dsn string, log *slog.Logger) (*secrets.Keyring, string, error) {
	if !cfg.EncryptionKeys.IsZero() {
		keys, err := secrets.ParseKeys(cfg.EncryptionKeys.Reveal())
		if err != nil {
			return nil, "", ConfigError{fmt.Errorf("CONNHUB_ENCRYPTION_KEYS: %w", err)}
		}
		ring, err := secrets.NewKeyring(keys)
		return ring, "", err
	}
	set, err := secrets.LoadKeySet(cfg.KeyFile)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && kind == "sqlite" && !exists(dsn):
		if set.Keys, err = secrets.CreateKeyFile(cfg.KeyFile, time.Now()); err != nil {
			return nil, "", fmt.Errorf("create the key file %s: %w", cfg.KeyFile, err)
		}
		log.Info("created the encryption key file; back it up: without it the database's secrets are lost", "key_file", cfg.KeyFile)
	case errors.Is(err, fs.ErrNotExist) && kind == "sqlite":
		return nil, "", fmt.Errorf("the key file %s is missing, but the database %s exists and its secrets are sealed with it: restore the key file, or set CONNHUB_ENCRYPTION_KEYS", cfg.KeyFile, dsn)
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("PostgreSQL needs the same encryption keys on every replica: set CONNHUB_ENCRYPTION_KEYS (make one with `connhub keys generate`) or --key-file; %s does not exist", cfg.KeyFile)
	default:
		return nil, "", err
	}
	ring, err := set.Keyring()
	return ring, cfg.KeyFile, err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
