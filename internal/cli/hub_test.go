package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store/storetest"
)

// run runs connhub with an environment of its own (nothing from the real
// one) and returns the exit status and what it printed.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.ExecuteEnv(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

var (
	tokenLine     = regexp.MustCompile(`API token: +(chub_\S+)`)
	schemaCurrent = regexp.MustCompile(`schema version (\d+) of (\d+)`)
	resealed      = regexp.MustCompile(`sealed (\d+) secrets again`)
)

func TestMigrateFirstStartAndAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errOut := run(t, nil, "migrate", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("first migrate: exit %d: %s", code, errOut)
	}
	m := tokenLine.FindStringSubmatch(out)
	if v := schemaCurrent.FindStringSubmatch(out); m == nil || v == nil || v[1] != v[2] {
		t.Fatalf("first migrate printed %q; want the admin token and the schema version", out)
	}
	if !strings.Contains(out, "job queue's tables are at River migration version") {
		t.Errorf("first migrate printed %q; want the job queue's migration version too", out)
	}
	token := m[1]
	if strings.Contains(errOut, token) {
		t.Error("the admin token is in the logs")
	}
	if !strings.Contains(errOut, "created the encryption key file") {
		t.Errorf("no log of the new key file: %s", errOut)
	}
	for _, f := range []string{"keys", "connhub.db", "admin-credentials"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %o, want it readable by its owner only", f, info.Mode().Perm())
		}
	}
	code, out, errOut = run(t, nil, "migrate", "--data-dir", dir)
	if code != 0 || strings.Contains(out, "API token") || strings.Contains(errOut, "created the encryption key file") {
		t.Errorf("second migrate: exit %d, printed %q and logged %q; want no new token and no new key", code, out, errOut)
	}
}

func TestStartUpRefusesWrongKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, errOut := run(t, nil, "migrate", "--data-dir", dir); code != 0 {
		t.Fatalf("first migrate: %s", errOut)
	}
	other, err := secrets.GenerateKey(nowish())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "keys")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		prepare func()
		code    int
		says    string
	}{
		{"another key in the environment", map[string]string{"CONNHUB_ENCRYPTION_KEYS": other.String()}, nil, 1, "encryption keys cannot open"},
		{"garbage keys in the environment", map[string]string{"CONNHUB_ENCRYPTION_KEYS": "k1:notbase64"}, nil, 2, "CONNHUB_ENCRYPTION_KEYS"},
		{"a key file others can read", nil, func() { os.Chmod(keyFile, 0o644) }, 1, "chmod 600"},
		{"no key file beside an existing database", nil, func() { os.Chmod(keyFile, 0o600); os.Rename(keyFile, keyFile+".bak") }, 1, "is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prepare != nil {
				tc.prepare()
			}
			code, _, errOut := run(t, tc.env, "migrate", "--data-dir", dir)
			if code != tc.code || !strings.Contains(errOut, tc.says) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("got exit %d and %q; want exit %d and one line saying %q", code, errOut, tc.code, tc.says)
			}
			if strings.Contains(errOut, other.String()) {
				t.Error("the error shows key material")
			}
		})
	}
	// Nothing was overwritten: with its key file back the database opens.
	os.Rename(keyFile+".bak", keyFile)
	if code, _, errOut := run(t, nil, "migrate", "--data-dir", dir); code != 0 {
		t.Errorf("after the failed starts the database does not open with its key: %s", errOut)
	}
}

func TestBadDatabaseSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		db   string
		code int
		says string
	}{
		{"mysql://localhost/x", 2, "postgres://"},
		{"postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5", 1, "encryption keys"},
	} {
		code, _, errOut := run(t, nil, "migrate", "--data-dir", dir, "--db", tc.db)
		if code != tc.code || !strings.Contains(errOut, tc.says) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("--db %s: got exit %d and %q; want exit %d and one line saying %q", tc.db, code, errOut, tc.code, tc.says)
		}
	}
	key, _ := secrets.GenerateKey(nowish())
	code, _, errOut := run(t, map[string]string{"CONNHUB_ENCRYPTION_KEYS": key.String()}, "migrate", "--data-dir", dir,
		"--db", "postgres://nobody:hunter2@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
	if code != 1 || !strings.Contains(errOut, "cannot open the database") || strings.Contains(errOut, "hunter2") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("unreachable PostgreSQL: got exit %d and %q; want one line without the password", code, errOut)
	}
}

func TestKeysRotate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, errOut := run(t, nil, "migrate", "--data-dir", dir); code != 0 {
		t.Fatalf("first migrate: %s", errOut)
	}
	code, out, errOut := run(t, nil, "keys", "rotate", "--data-dir", dir)
	if m := resealed.FindStringSubmatch(out); code != 0 || !strings.Contains(out, "added key") || m == nil || m[1] == "0" {
		t.Fatalf("keys rotate: exit %d, printed %q, logged %q", code, out, errOut)
	}
	keys, err := secrets.LoadKeyFile(filepath.Join(dir, "keys"))
	if err != nil || len(keys) != 2 {
		t.Fatalf("key file after rotation: %d keys, %v; want 2", len(keys), err)
	}
	// Everything is sealed with the new key: it alone opens the database.
	code, _, errOut = run(t, map[string]string{"CONNHUB_ENCRYPTION_KEYS": keys[1].String()}, "migrate", "--data-dir", dir)
	if code != 0 {
		t.Errorf("the new key alone: exit %d: %s", code, errOut)
	}
	code, _, _ = run(t, map[string]string{"CONNHUB_ENCRYPTION_KEYS": keys[0].String()}, "migrate", "--data-dir", dir)
	if code == 0 {
		t.Error("the old key alone still opens the database after rotation")
	}
}

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, nil, "keys", "generate")
	keys, err := secrets.ParseKeys(out)
	if code != 0 || err != nil || len(keys) != 1 {
		t.Errorf("keys generate: exit %d, printed %q (%v); want one key line", code, out, err)
	}
}

func TestMigratePostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDatabase(t)
	dir := t.TempDir()
	code, _, errOut := run(t, nil, "migrate", "--data-dir", dir, "--db", dsn)
	if code != 1 || !strings.Contains(errOut, "PostgreSQL needs the same encryption keys") {
		t.Errorf("PostgreSQL without keys: got exit %d and %q", code, errOut)
	}
	key, _ := secrets.GenerateKey(nowish())
	env := map[string]string{"CONNHUB_ENCRYPTION_KEYS": key.String()}
	code, out, errOut := run(t, env, "migrate", "--data-dir", dir, "--db", dsn)
	if m := schemaCurrent.FindStringSubmatch(out); code != 0 || !strings.Contains(out, "postgres database") || m == nil || m[1] != m[2] || !strings.Contains(out, "API token") {
		t.Fatalf("PostgreSQL with keys: exit %d, printed %q, logged %q", code, out, errOut)
	}
	code, out, _ = run(t, env, "keys", "rotate", "--data-dir", dir, "--db", dsn)
	if code != 0 || !strings.Contains(out, "sealed 0 secrets") {
		t.Errorf("rotate with keys from the environment and nothing to reseal: exit %d, %q", code, out)
	}
}

func nowish() time.Time { return time.Now() }
