package cli

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

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/sqlstore"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

// loadConfig reads the configuration of a command that registered
// config.Flags. Every problem with it is a usage error.
func loadConfig(cmd *cobra.Command, io streams) (config.Config, error) {
	cfg, err := config.Load(cmd.Flags(), io.getenv)
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// newLogger makes the logger commands log with: to stderr, at the configured
// level and format, with secrets dropped by the redacting handler.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(secrets.RedactingHandler(h, tenant.APITokenPrefix, tenant.InstanceTokenPrefix, tenant.UserSecretPrefix, tenant.OrgSecretPrefix))
}

// hub is connhub's database, opened the way every command that needs it opens
// it.
type hub struct {
	store store.Store
	// db, backend and dsn are the store's database, for the job queue that
	// syncs wait in (River keeps its tables beside the store's).
	db      *sql.DB
	backend string             // "sqlite" or "postgres"
	dsn     string             // the SQLite path or the PostgreSQL URL: never logged
	org     store.Organization // the first organization: where the hub's own apps are registered
	keys    *secrets.Keyring
	keyFile string // the key file the keys came from; "" when from CONNHUB_ENCRYPTION_KEYS
}

// openHub opens the database cfg names: the keys (CONNHUB_ENCRYPTION_KEYS,
// the key file, or on the first start of the embedded database a new key
// file), the store, the migrations, the key check, and the first-start
// bootstrap, which prints the admin's credentials to out once.
func openHub(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger) (*hub, error) {
	kind, dsn, err := cfg.Backend()
	if err != nil {
		return nil, usageError{err}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", cfg.DataDir, err)
	}
	h := &hub{}
	if h.keys, h.keyFile, err = loadKeys(cfg, kind, dsn, log); err != nil {
		return nil, err
	}
	var s *sqlstore.Store
	switch kind {
	case "sqlite":
		s, err = sqlite.Open(ctx, dsn, h.keys)
	default:
		s, err = postgres.Open(ctx, dsn, h.keys)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the database: %w (check --db / CONNHUB_DB)", err)
	}
	h.store, h.db, h.backend, h.dsn = s, s.DB(), kind, dsn
	if err := h.store.Migrate(ctx); err != nil {
		h.store.Close()
		return nil, fmt.Errorf("the database could not be migrated, and was left as it was: %w", err)
	}
	if err := h.store.CheckKeys(ctx); err != nil {
		h.store.Close()
		return nil, err
	}
	boot, err := tenant.Bootstrap(ctx, h.store, cfg.AdminToken, cfg.DataDir, out)
	if err != nil {
		h.store.Close()
		return nil, err
	}
	h.org = boot.Org
	return h, nil
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
			return nil, "", usageError{fmt.Errorf("CONNHUB_ENCRYPTION_KEYS: %w", err)}
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

func newMigrateCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade connhub's database, and set it up on first start",
		Long: "Apply every pending schema migration to the database --db names (the sync job queue's\n" +
			"tables included), check the encryption keys open its secrets, and on an empty database\n" +
			"create the default organization and its admin (their credentials are printed once).\n" +
			"`connhub serve` does the same on start.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, io)
			if err != nil {
				return err
			}
			h, err := openHub(cmd.Context(), cfg, io.stdout, newLogger(cfg, io.stderr))
			if err != nil {
				return err
			}
			defer h.store.Close()
			applied, latest, err := h.store.MigrationVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(io.stdout, "connhub: the %s database is at schema version %d of %d\n", h.store.Backend(), applied, latest)
			queue, err := sync.MigrateQueue(cmd.Context(), h.db, h.backend, h.dsn)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.stdout, "connhub: the sync job queue's tables are at River migration version %d\n", queue)
			return nil
		},
	}
	config.Flags(cmd.Flags())
	return cmd
}
