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
	"strings"
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

// loadKeys finds the encryption keys. For the embedded database a key file is
// made on its first start; PostgreSQL, shared by replicas, must be given the
// same keys everywhere, so connhub never makes them up for it.
func loadKeys(cfg config.Config, kind, dsn string, log *slog.Logger) (*secrets.Keyring, string, error) {
	if !cfg.EncryptionKeys.IsZero() {
		keys, err := secrets.ParseKeys(cfg.EncryptionKeys.Reveal())
		if err != nil {
			return nil, "", usageError{fmt.Errorf("CONNHUB_ENCRYPTION_KEYS: %w", err)}
		}
		ring, err := secrets.NewKeyring(keys)
		return ring, "", err
	}
	keys, err := secrets.LoadKeyFile(cfg.KeyFile)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && kind == "sqlite" && !exists(dsn):
		if keys, err = secrets.CreateKeyFile(cfg.KeyFile, time.Now()); err != nil {
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
	ring, err := secrets.NewKeyring(keys)
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

func newKeysCmd(io streams) *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage the encryption keys that seal connhub's secrets",
	}
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Print a new encryption key, for CONNHUB_ENCRYPTION_KEYS",
		Long: "Print a new key as one \"<id>:<base64>\" line. Keys in CONNHUB_ENCRYPTION_KEYS are listed\n" +
			"oldest first, separated by commas; the last seals. To rotate keys given by the environment:\n" +
			"append the new key on every replica, restart them, then run `connhub keys rotate`.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := secrets.GenerateKey(time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(io.stdout, k.String())
			return nil
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new key and seal every secret with it",
		Long: "With a key file: append a new key to it and seal every secret in the database again with\n" +
			"that key. With CONNHUB_ENCRYPTION_KEYS: seal every secret again with the newest key listed\n" +
			"there (add it first with `connhub keys generate`). Older keys can be removed afterwards.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, io)
			if err != nil {
				return err
			}
			return runRotate(cmd.Context(), cfg, io)
		},
	}
	config.Flags(rotate.Flags())
	keys.AddCommand(generate, rotate)
	return keys
}

func runRotate(ctx context.Context, cfg config.Config, io streams) error {
	log := newLogger(cfg, io.stderr)
	h, err := openHub(ctx, cfg, io.stdout, log)
	if err != nil {
		return err
	}
	if h.keyFile != "" {
		// The database opened with the keys as they were; only then is a key
		// added, so a failed open never leaves behind a key nothing uses.
		h.store.Close()
		k, err := secrets.AppendKey(h.keyFile, time.Now())
		if err != nil {
			return fmt.Errorf("add a key to %s: %w", h.keyFile, err)
		}
		fmt.Fprintf(io.stdout, "connhub: added key %s to %s\n", k.ID, h.keyFile)
		if h, err = openHub(ctx, cfg, io.stdout, log); err != nil {
			return err
		}
	}
	defer h.store.Close()
	n, err := h.store.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("reseal: %w (secrets already resealed stay readable with the new key; run again to finish)", err)
	}
	fmt.Fprintf(io.stdout, "connhub: sealed %d secrets again with key %s; the keys %s can open them\n", n, h.keys.Primary(), strings.Join(h.keys.IDs(), ", "))
	return nil
}
