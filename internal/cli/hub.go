package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/hub"
	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/secrets"
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

// openHub opens the database cfg names, as hub.Open does; a configuration
// it cannot use is a usage error.
func openHub(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger) (*hub.Database, error) {
	db, err := hub.Open(ctx, cfg, out, log)
	var ce hub.ConfigError
	if errors.As(err, &ce) {
		return nil, usageError{ce.Err}
	}
	return db, err
}

func newMigrateCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade connhub's database, and set it up on first start",
		Long: "Apply every pending schema migration to the database --db names (the job queue's\n" +
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
			defer h.Store.Close()
			applied, latest, err := h.Store.MigrationVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(io.stdout, "connhub: the %s database is at schema version %d of %d\n", h.Store.Backend(), applied, latest)
			version, err := queue.Migrate(cmd.Context(), h.SQL, h.Backend)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.stdout, "connhub: the job queue's tables are at River migration version %d\n", version)
			return nil
		},
	}
	config.Flags(cmd.Flags())
	return cmd
}
