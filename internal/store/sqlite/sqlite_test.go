package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
)

func open(t *testing.T, path string, keys *secrets.Keyring) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func backend() storetest.Backend {
	return storetest.Backend{New: func(t *testing.T, keys *secrets.Keyring) (store.Store, func(*secrets.Keyring) store.Store) {
		path := filepath.Join(t.TempDir(), "connhub.db")
		return open(t, path, keys), func(k *secrets.Keyring) store.Store { return open(t, path, k) }
	}}
}

func TestConformance(t *testing.T) { storetest.Run(t, backend()) }

// TestNoPlaintextInTheFile stores a secret of every kind, then reads the
// database file and its write-ahead log byte for byte: none is there.
func TestNoPlaintextInTheFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "connhub.db"), storetest.Keys(t, 1))
	planted := storetest.PlantSecrets(t, s)
	files, _ := filepath.Glob(filepath.Join(dir, "connhub.db*"))
	if len(files) < 2 {
		t.Fatalf("found %v; want the database and its WAL", files)
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !strings.Contains(string(all), "PLAINTEXT-") {
		// The plant's non-secret fields carry no marker, so check the scan
		// reads real rows: the organization name "plant" is there.
		if !strings.Contains(string(all), "p@example.com") {
			t.Fatal("the scan found none of the plain rows either; is it reading the right files?")
		}
	}
	for _, secret := range planted {
		if strings.Contains(string(all), secret) {
			t.Errorf("%s is in the database files in plain text", secret)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "connhub.db"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		t.Errorf("the database file has mode %o, want it readable by its owner only", mode)
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "a?b.db", "x#y.db"} {
		if _, err := sqlite.Open(context.Background(), p, storetest.Keys(t, 1)); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-dir")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := sqlite.Open(context.Background(), filepath.Join(file, "connhub.db"), storetest.Keys(t, 1)); err == nil {
		t.Error("Open under a regular file succeeded")
	}
}
