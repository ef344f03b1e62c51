package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

func (s *Store) provider() (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.d.Locker != nil {
		opts = append(opts, goose.WithSessionLocker(s.d.Locker))
	}
	p, err := goose.NewProvider(s.d.GooseDialect, s.db, s.d.Migrations, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies the pending migrations, each in its own transaction.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		var perr *goose.PartialError
		if errors.As(err, &perr) && perr.Failed != nil && perr.Failed.Source != nil {
			return fmt.Errorf("store: migration %s failed: %w", perr.Failed.Source.Path, perr.Err)
		}
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// MigrationVersion reports the applied and the newest schema versions.
func (s *Store) MigrationVersion(ctx context.Context) (applied, latest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	if applied, err = p.GetDBVersion(ctx); err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return applied, latest, nil
}

const keyCheckPlaintext = "connhub key check"

// CheckKeys seals a canary on a fresh database and opens it on every later
// start, so a wrong or missing key stops start-up before any secret is read.
func (s *Store) CheckKeys(ctx context.Context) error {
	sealed, err := s.keys.Seal([]byte(keyCheckPlaintext), aad("meta", "key_check", "value"))
	if err != nil {
		return fmt.Errorf("store: key check: %w", err)
	}
	if _, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES ('key_check', ?) ON CONFLICT (key) DO NOTHING`, sealed); err != nil {
		return fmt.Errorf("store: key check: %w", err)
	}
	var stored []byte
	if err := s.queryRow(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&stored); err != nil {
		return fmt.Errorf("store: key check: %w", s.mapErr(err))
	}
	p, err := s.keys.Open(stored, aad("meta", "key_check", "value"))
	if err != nil {
		id, _ := secrets.SealedKeyID(stored)
		return fmt.Errorf("the encryption keys cannot open this database's secrets (they were sealed with key %q; the keys given are %v): "+
			"start with the keys the database was written with (CONNHUB_ENCRYPTION_KEYS or the key file): %w", id, s.keys.IDs(), err)
	}
	if string(p) != keyCheckPlaintext {
		return errors.New("store: key check: the canary opened to the wrong value")
	}
	return nil
}

// sealedColumns lists every column that holds a sealed secret, by table.
var sealedColumns = []struct {
	table, id string
	columns   []string
}{
	{"meta", "key", []string{"value"}},
	{"organizations", "id", []string{"secret"}},
	{"users", "id", []string{"secret"}},
	{"apps", "id", []string{"client_secret", "signing_secret"}},
	{"instances", "id", instanceSecrets},
	{"oauth_states", "id", []string{"code_verifier"}},
	{"credentials", "id", []string{"value"}},
}

// Reseal seals again with the newest key every secret sealed with an older
// one. It works in batches, each in its own transaction, and writes a value
// only if it is still the one it read, so it can run while connhub serves.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	total := 0
	for _, t := range sealedColumns {
		for _, col := range t.columns {
			after := ""
			for {
				n, last, err := s.resealBatch(ctx, t.table, t.id, col, after)
				if err != nil {
					return total, err
				}
				total += n
				if last == "" {
					break
				}
				after = last
			}
		}
	}
	return total, nil
}

const resealBatchSize = 200

func (s *Store) resealBatch(ctx context.Context, table, idCol, col, after string) (n int, last string, err error) {
	err = s.inTx(ctx, func(q *queries) error {
		type row struct {
			id  string
			val []byte
		}
		rows, err := collect(func(r scanner) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.val)
			return x, err
		})(q.query(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s > ? AND %s IS NOT NULL ORDER BY %s LIMIT ?`,
			idCol, col, table, idCol, col, idCol), after, resealBatchSize))
		if err != nil {
			return err
		}
		for _, r := range rows {
			last = r.id
			sealed, changed, err := q.keys.Reseal(r.val, aad(table, r.id, col))
			if err != nil {
				return fmt.Errorf("store: reseal %s.%s of %s: %w", table, col, r.id, err)
			}
			if !changed {
				continue
			}
			if _, err := q.exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?`, table, col, idCol, col), sealed, r.id, r.val); err != nil {
				return err
			}
			n++
		}
		if len(rows) < resealBatchSize {
			last = ""
		}
		return nil
	})
	return n, last, err
}

// InstallationSecret returns the hub-wide secret called name, made by
// generate on first use. It lives sealed in the meta table; an insert that
// loses a race to another replica reads the winner's value.
func (s *Store) InstallationSecret(ctx context.Context, name string, generate func() (secrets.Secret, error)) (secrets.Secret, error) {
	key := "secret:" + name
	var stored []byte
	err := s.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&stored)
	if err != nil && !errors.Is(s.mapErr(err), store.ErrNotFound) {
		return "", fmt.Errorf("store: installation secret %s: %w", name, err)
	}
	if err != nil {
		v, err := generate()
		if err != nil {
			return "", err
		}
		sealed, err := s.seal("meta", key, "value", v)
		if err != nil {
			return "", err
		}
		if _, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, sealed); err != nil {
			return "", fmt.Errorf("store: installation secret %s: %w", name, err)
		}
		if err := s.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&stored); err != nil {
			return "", fmt.Errorf("store: installation secret %s: %w", name, s.mapErr(err))
		}
	}
	return s.open("meta", key, "value", stored)
}
