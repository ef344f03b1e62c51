package postgres_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/storetest"
)

func open(t *testing.T, dsn string, keys *secrets.Keyring) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{New: func(t *testing.T, keys *secrets.Keyring) (store.Store, func(*secrets.Keyring) store.Store) {
		dsn := storetest.PostgresDatabase(t)
		return open(t, dsn, keys), func(k *secrets.Keyring) store.Store { return open(t, dsn, k) }
	}})
}

// TestNoPlaintextInADump stores a secret of every kind and searches a pg_dump
// of the database for them: none is there.
func TestNoPlaintextInADump(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	s := open(t, dsn, storetest.Keys(t, 1))
	planted := storetest.PlantSecrets(t, s)
	dump, err := exec.Command("pg_dump", "--data-only", "--dbname", dsn).Output()
	if err != nil {
		t.Skipf("pg_dump is not available here (%v); the dump scan needs it", err)
	}
	if !strings.Contains(string(dump), "p@example.com") {
		t.Fatalf("the dump holds none of the planted rows: %.300s", dump)
	}
	for _, secret := range planted {
		if strings.Contains(string(dump), secret) {
			t.Errorf("%s is in the dump in plain text", secret)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := postgres.Redact("postgres://app:hunter2@db:5432/connhub"); strings.Contains(got, "hunter2") {
		t.Errorf("Redact left the password: %s", got)
	}
}
