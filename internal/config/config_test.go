package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/secrets"
)

// valid returns a Config that passes Validate, with DataDir in a fresh
// directory.
func valid(t *testing.T) config.Config {
	t.Helper()
	return config.Config{DataDir: filepath.Join(t.TempDir(), "data")}.WithDefaults()
}

func TestValidateAcceptsDefaults(t *testing.T) {
	t.Parallel()
	if err := valid(t).Validate(); err != nil {
		t.Errorf("got %v, want no error", err)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "a-file", "")
	c := config.Config{
		DataDir:            file,
		DB:                 "mysql://x",
		KeyFile:            "/k",
		EncryptionKeys:     "k1:AAAA",
		Addr:               "localhost",
		SlackURL:           "slack.com",
		PublicURL:          "ftp://hub/x",
		LogLevel:           "verbose",
		LogFormat:          "xml",
		SlackClientID:      "abc",
		SlackClientSecret:  "zz-client-s3cret",
		SlackSigningSecret: "zz-signing-s3cret",
	}
	err := c.Validate()
	want := []string{
		`data_dir "` + file + `": is a file, not a directory`,
		`db "mysql://x": use sqlite:PATH or a postgres:// URL`,
		`encryption_keys: line 1: key material ...`, // the rest is package secrets' wording
		`key_file "/k": not used when encryption_keys is set; set only one of the two`,
		`addr "localhost": want HOST:PORT, e.g. 127.0.0.1:8080`,
		`slack_url "slack.com": want an absolute http(s) URL, e.g. https://slack.com`,
		`public_url "ftp://hub/x": want the absolute http(s) URL connhub is reached at, without a path, e.g. https://connhub.example.com`,
		`log_level "verbose": want debug, info, warn or error`,
		`log_format "xml": want text or json`,
		`slack.client_id "abc": want a Slack client ID, digits.digits, e.g. 1234567890.9876543210`,
		`slack.client_secret: want hex digits, as Slack shows it on the app's Basic Information page`,
		`slack.signing_secret: want hex digits, as Slack shows it on the app's Basic Information page`,
	}
	if err == nil || !linesMatch(err.Error(), want) {
		t.Errorf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

// linesMatch reports whether got has exactly the lines of want, where a want
// line ending in "..." needs only to start the line.
func linesMatch(got string, want []string) bool {
	lines := strings.Split(got, "\n")
	if len(lines) != len(want) {
		return false
	}
	for i, w := range want {
		if p, ok := strings.CutSuffix(w, "..."); ok && strings.HasPrefix(lines[i], p) {
			continue
		}
		if lines[i] != w {
			return false
		}
	}
	return true
}

func TestValidateZeroConfig(t *testing.T) {
	t.Parallel()
	err := config.Config{}.Validate()
	if err == nil {
		t.Fatal("got no error, want one per required setting")
	}
	for _, want := range []string{`data_dir "": must not be empty`, `key_file "": must not be empty unless CONNHUB_ENCRYPTION_KEYS is set`, `addr ""`, `log_level ""`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
}

func TestValidateSingleSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, "f", "")
	tests := []struct {
		name    string
		change  func(*config.Config)
		wantErr string // "" for valid
	}{
		{"data dir exists", func(c *config.Config) { c.DataDir = dir }, ""},
		{"data dir under a file", func(c *config.Config) { c.DataDir = filepath.Join(file, "sub") }, "a parent of it is a file, not a directory"},
		{"key file is a directory", func(c *config.Config) { c.KeyFile = dir }, `key_file "` + dir + `": is a directory; want a file`},
		{"encryption keys without key file", func(c *config.Config) { c.KeyFile, c.EncryptionKeys = "", secrets.Secret(testKey("k1", 1)) }, ""},
		{"two encryption keys", func(c *config.Config) {
			c.KeyFile, c.EncryptionKeys = "", secrets.Secret(testKey("k1", 1)+"\n"+testKey("k2", 2))
		}, ""},
		{"placeholder as a secret", func(c *config.Config) { c.AdminToken = "[REDACTED]" }, `admin_token: is [REDACTED], the placeholder connhub prints for a secret, not a value`},
		{"admin token as connhub makes them", func(c *config.Config) { c.AdminToken = "chub_0Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5UoI0qWzX4m" }, ""},
		{"admin token from openssl", func(c *config.Config) { c.AdminToken = "chub_q2kX9vB7mZ1yL4nR8tW3pF6hJ0cD5gS" }, ""},
		{"weak admin token", func(c *config.Config) { c.AdminToken = "chub_a" }, "admin_token: has 1 characters after chub_, want at least 22: an API token is chub_ followed by"},
		{"admin token without the prefix", func(c *config.Config) { c.AdminToken = "0Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5UoI0qWzX4m" }, "admin_token: does not start with chub_: an API token is chub_"},
		{"admin token of one character", func(c *config.Config) { c.AdminToken = "chub_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }, "repeats one character"},
		{"addr port 0", func(c *config.Config) { c.Addr = "127.0.0.1:0" }, ""},
		{"addr any host", func(c *config.Config) { c.Addr = ":8080" }, ""},
		{"addr ipv6", func(c *config.Config) { c.Addr = "[::1]:8080" }, ""},
		{"addr port too big", func(c *config.Config) { c.Addr = "127.0.0.1:65536" }, "want a port number from 0 to 65535 after the colon"},
		{"addr named port", func(c *config.Config) { c.Addr = "127.0.0.1:http" }, "want a port number"},
		{"slack url with path", func(c *config.Config) { c.SlackURL = "http://127.0.0.1:8790/prefix" }, ""},
		{"slack url without host", func(c *config.Config) { c.SlackURL = "https://" }, "want an absolute http(s) URL"},
		{"uppercase log level", func(c *config.Config) { c.LogLevel = "INFO" }, "want debug, info, warn or error"},
		{"client id", func(c *config.Config) { c.SlackClientID = "1234567890123.1234567890123" }, ""},
		{"client id with letters", func(c *config.Config) { c.SlackClientID = "A123.456" }, "want a Slack client ID"},
		{"hex secrets", func(c *config.Config) { c.SlackClientSecret, c.SlackSigningSecret = "0123abcdef", "ABCDEF" }, ""},
		{"secret with a space", func(c *config.Config) { c.SlackSigningSecret = "abcd ef" }, "slack.signing_secret: want hex digits"},
		{"timeouts", func(c *config.Config) {
			c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = "1s", "2m", "30s", "1h"
		}, ""},
		{"zero read timeout", func(c *config.Config) { c.ReadTimeout = "0s" }, `read_timeout "0s": want a positive duration`},
		{"write timeout without unit", func(c *config.Config) { c.WriteTimeout = "30" }, `write_timeout "30": want a positive duration`},
		{"negative idle timeout", func(c *config.Config) { c.IdleTimeout = "-1s" }, `idle_timeout "-1s": want a positive duration`},
		{"header bytes", func(c *config.Config) { c.MaxHeaderBytes = "16KiB" }, ""},
		{"header bytes too few", func(c *config.Config) { c.MaxHeaderBytes = "100" }, `max_header_bytes "100": want a size from 4KiB to 1MiB`},
		{"header bytes not a size", func(c *config.Config) { c.MaxHeaderBytes = "64kb" }, `max_header_bytes "64kb": want a size`},
		{"bodies in flight", func(c *config.Config) { c.MaxBodiesInFlight = "1GiB" }, ""},
		{"bodies in flight below a body", func(c *config.Config) { c.MaxBodiesInFlight = "1MiB" }, `max_bodies_in_flight "1MiB": want a size of at least 10MiB`},
		{"events stream poll", func(c *config.Config) { c.EventsStreamPoll = "1s" }, ""},
		{"events stream poll too often", func(c *config.Config) { c.EventsStreamPoll = "1ms" }, `events_stream_poll "1ms": want a duration from 50ms to 10s`},
		{"run lease", func(c *config.Config) { c.RunLease = "10s" }, ""},
		{"run lease too short", func(c *config.Config) { c.RunLease = "100ms" }, `run_lease "100ms": want a duration from 1s to 1h`},
		{"tls cert and key", func(c *config.Config) { c.TLSCert, c.TLSKey = file, file }, ""},
		{"tls cert alone", func(c *config.Config) { c.TLSCert = file }, `tls_cert "` + file + `": needs tls_key too`},
		{"tls key alone", func(c *config.Config) { c.TLSKey = file }, `tls_key "` + file + `": needs tls_cert too`},
		{"tls cert missing", func(c *config.Config) { c.TLSCert, c.TLSKey = filepath.Join(dir, "nope.pem"), file }, `tls_cert "` + filepath.Join(dir, "nope.pem") + `": no such file`},
		{"tls key a directory", func(c *config.Config) { c.TLSCert, c.TLSKey = file, dir }, `tls_key "` + dir + `": is a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid(t)
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncryptionKeysReplaceTheKeyFile(t *testing.T) {
	t.Parallel()
	keys := testKey("k1", 1)
	cfg := mustLoad(t, nil, map[string]string{"CONNHUB_ENCRYPTION_KEYS": keys}, "")
	if cfg.KeyFile != "" {
		t.Errorf("KeyFile: got %q, want empty when CONNHUB_ENCRYPTION_KEYS is set", cfg.KeyFile)
	}
	_, err := load(t, []string{"--key-file", "/k"}, map[string]string{"CONNHUB_ENCRYPTION_KEYS": keys}, "")
	want := `--key-file "/k": not used when CONNHUB_ENCRYPTION_KEYS is set; set only one of the two`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestBackend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		db       string
		kind     string
		dsn      string
		wantErr  string
		notShown string // must not appear in the error
	}{
		{db: "sqlite:/var/lib/connhub/connhub.db", kind: "sqlite", dsn: "/var/lib/connhub/connhub.db"},
		{db: "sqlite:connhub.db", kind: "sqlite", dsn: "connhub.db"},
		{db: "SQLite:x.db", kind: "sqlite", dsn: "x.db"},
		{db: "sqlite::memory:", kind: "sqlite", dsn: ":memory:"},
		{db: "postgres://u:pw@db.example:5432/connhub?sslmode=disable", kind: "postgres", dsn: "postgres://u:pw@db.example:5432/connhub?sslmode=disable"},
		{db: "postgresql://db.example/connhub", kind: "postgres", dsn: "postgresql://db.example/connhub"},
		{db: "postgres:///connhub?host=/var/run/postgresql", kind: "postgres", dsn: "postgres:///connhub?host=/var/run/postgresql"},
		{db: "sqlite://connhub.db", wantErr: `db "sqlite://connhub.db": write sqlite:PATH, e.g. sqlite:/var/lib/connhub/connhub.db, not a sqlite:// URL`},
		{db: "sqlite:", wantErr: `db "sqlite:": sqlite: needs a path, e.g. sqlite:/var/lib/connhub/connhub.db`},
		{db: "mysql://u:p@x/db", wantErr: `db "mysql://u:p@x/db": use sqlite:PATH or a postgres:// URL`},
		{db: "/var/lib/connhub.db", wantErr: `db "/var/lib/connhub.db": use sqlite:PATH or a postgres:// URL (for a file, sqlite:/var/lib/connhub.db)`},
		{db: "", wantErr: `db "": use sqlite:PATH or a postgres:// URL`},
		{db: "postgres:connhub", wantErr: `db: not a valid postgres:// URL (value not shown: it may hold a password)`},
		{db: "postgres://u:hunter2%zz@x/db", wantErr: `db: not a valid postgres:// URL (value not shown: it may hold a password)`, notShown: "hunter2"},
		{db: "host=x password=hunter2", wantErr: `db "[REDACTED]": use sqlite:PATH or a postgres:// URL`, notShown: "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.db, func(t *testing.T) {
			t.Parallel()
			kind, dsn, err := config.Config{DB: tt.db}.Backend()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("got %q, %q, %v, want error %s", kind, dsn, err, tt.wantErr)
				}
				if tt.notShown != "" && err != nil && strings.Contains(err.Error(), tt.notShown) {
					t.Errorf("error %q shows %q", err, tt.notShown)
				}
				return
			}
			if err != nil || kind != tt.kind || dsn != tt.dsn {
				t.Errorf("got %q, %q, %v, want %q, %q", kind, dsn, err, tt.kind, tt.dsn)
			}
		})
	}
}

func TestSlogLevel(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo} {
		if got := (config.Config{LogLevel: level}).SlogLevel(); got != want {
			t.Errorf("%q: got %v, want %v", level, got, want)
		}
	}
}

// The secret values of TestNoSecretIsShown: distinct, and found by search.
const (
	secretKeys     = "k1:c2VjcmV0LWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWI=" // 32 bytes
	secretAdmin    = "chub_admin7f3a9cQx2Lm8Rt4Vw6Yz1Bd5"
	secretClient   = "c11e7e5ec12e7"
	secretSigning  = "5191e5ec12e7"
	secretPassword = "pg-pass-55aa"
)

var secretValues = []string{secretKeys, secretAdmin, secretClient, secretSigning, secretPassword}

func TestNoSecretIsShown(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, nil, map[string]string{
		"CONNHUB_ENCRYPTION_KEYS":      secretKeys,
		"CONNHUB_ADMIN_TOKEN":          secretAdmin,
		"CONNHUB_SLACK_CLIENT_ID":      "111.222",
		"CONNHUB_SLACK_CLIENT_SECRET":  secretClient,
		"CONNHUB_SLACK_SIGNING_SECRET": secretSigning,
		"CONNHUB_DB":                   "postgres://connhub:" + secretPassword + "@db.example/connhub?sslmode=disable",
	}, "")
	if cfg.AdminToken.Reveal() != secretAdmin {
		t.Fatalf("AdminToken: got %q, want %q (the test needs secrets loaded)", cfg.AdminToken.Reveal(), secretAdmin)
	}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs["Sprintf "+verb] = fmt.Sprintf(verb, cfg)
		outputs["Sprintf pointer "+verb] = fmt.Sprintf(verb, &cfg)
		outputs["Sprintf in a struct "+verb] = fmt.Sprintf(verb, struct{ Config config.Config }{cfg})
		outputs["Sprintf in a slice "+verb] = fmt.Sprintf(verb, []config.Config{cfg})
		for _, s := range []secrets.Secret{cfg.AdminToken, cfg.EncryptionKeys} {
			outputs["Sprintf secret "+verb] += fmt.Sprintf(verb, s)
		}
	}
	outputs["String"] = cfg.String()
	outputs["Println"] = fmt.Sprintln(cfg, &cfg, cfg.SlackClientSecret)
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		log := slog.New(h(&b))
		log.Info("starting", "config", cfg, "pointer", &cfg, "secret", cfg.SlackSigningSecret)
		log.Info("group", slog.Any("in_struct", struct{ C config.Config }{cfg}))
		outputs[name] = b.String()
	}
	for name, v := range map[string]any{"value": cfg, "pointer": &cfg, "struct": struct{ C config.Config }{cfg}, "secret": cfg.AdminToken} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json %s: %v", name, err)
		}
		outputs["json "+name] = string(b)
	}

	for name, out := range outputs {
		for _, secret := range secretValues {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows secret %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, "REDACTED") && !strings.Contains(out, "xxxxx") {
			t.Errorf("%s shows no redaction marker: %s", name, out)
		}
	}

	// The non-secret settings are still there to read.
	for _, want := range []string{`"addr":"127.0.0.1:8080"`, `"client_id":"111.222"`, `"admin_token":"[REDACTED]"`, `"db":"postgres://connhub:xxxxx@db.example/connhub?sslmode=disable"`} {
		if !strings.Contains(outputs["json value"], want) {
			t.Errorf("json: got %s, want it to contain %s", outputs["json value"], want)
		}
	}
}

func TestErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	bad := "not hex " + secretClient
	_, err := load(t, nil, map[string]string{
		"CONNHUB_SLACK_CLIENT_SECRET":  bad,
		"CONNHUB_SLACK_SIGNING_SECRET": bad,
		"CONNHUB_DB":                   "postgres://u:" + secretPassword + "@x/db?sslmode=%zz",
		"CONNHUB_ENCRYPTION_KEYS":      "k1:c2VjcmV0LXNob3J0",
	}, "")
	if err == nil {
		t.Fatal("got no error, want some")
	}
	if !strings.Contains(err.Error(), "CONNHUB_ENCRYPTION_KEYS: line 1: ") {
		t.Errorf("got %v, want a line about CONNHUB_ENCRYPTION_KEYS", err)
	}
	for _, secret := range []string{bad, secretClient, secretPassword, "c2VjcmV0LXNob3J0"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %v", secret, err)
		}
	}
}

func TestEmptySecretPrintsEmpty(t *testing.T) {
	t.Parallel()
	var s secrets.Secret
	if got := fmt.Sprintf("%v|%s|%q", s, s, s); got != `||""` {
		t.Errorf(`got %s, want ||""`, got)
	}
	if b, _ := json.Marshal(s); string(b) != `""` {
		t.Errorf(`json: got %s, want ""`, b)
	}
}

func TestHTTPSettings(t *testing.T) {
	t.Parallel()
	got := valid(t).HTTP()
	want := config.HTTP{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, MaxBodiesInFlight: 64 << 20}
	if got != want {
		t.Errorf("defaults: got %+v, want %+v", got, want)
	}
	c := valid(t)
	c.ReadTimeout, c.MaxBodiesInFlight, c.TLSCert, c.TLSKey = "5s", "1GiB", "c.pem", "k.pem"
	if h := c.HTTP(); h.ReadTimeout != 5*time.Second || h.MaxBodiesInFlight != 1<<30 || h.TLSCert != "c.pem" || h.TLSKey != "k.pem" {
		t.Errorf("set: got %+v", h)
	}
	if c := (config.Config{Addr: "127.0.0.1:1", TLSCert: "c.pem"}).WithDefaults(); c.PublicURL != "https://127.0.0.1:1" {
		t.Errorf("PublicURL with TLS: got %q, want https://127.0.0.1:1", c.PublicURL)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "12B": 12, "64KiB": 64 << 10, "10MiB": 10 << 20, "2GiB": 2 << 30} {
		if got, err := config.ParseSize(in); got != want || err != nil {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "1.5MiB", "-1", "10MB", "9999999999999GiB"} {
		if _, err := config.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): got no error", in)
		}
	}
}

// TestDocTableListsEverySetting keeps doc.go's table, which
// docs/OPERATIONS.md copies, in step with the settings.
func TestDocTableListsEverySetting(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range settingCases {
		flag := "(none)"
		if sc.flag != "" {
			flag = "--" + sc.flag
		}
		found := false
		for _, line := range strings.Split(string(doc), "\n") {
			f := strings.Fields(line)
			if len(f) >= 5 && f[0] == "//" && f[2] == flag && strings.Contains(line, " "+sc.env+" ") && strings.Contains(line, " "+sc.key+" ") {
				found = true
			}
		}
		if !found {
			t.Errorf("doc.go: no table row with %s, %s and %s", flag, sc.env, sc.key)
		}
	}
}

func TestPacerIsSharedOnPostgreSQLByDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		db, pacer string
		shared    bool
		problem   string
	}{
		{"postgres://db.example/connhub", "", true, ""},
		{"postgres://db.example/connhub", "auto", true, ""},
		{"postgres://db.example/connhub", "local", false, ""},
		{"postgres://db.example/connhub", "shared", true, ""},
		{"sqlite:/tmp/x.db", "auto", false, ""},
		{"sqlite:/tmp/x.db", "local", false, ""},
		{"sqlite:/tmp/x.db", "shared", true, "a SQLite hub is one process"},
		{"sqlite:/tmp/x.db", "redis", false, "want auto, shared or local"},
	} {
		c := valid(t)
		c.DB, c.Pacer = tc.db, tc.pacer
		if got := c.PacerShared(); got != tc.shared {
			t.Errorf("db %s, pacer %q: shared %v, want %v", tc.db, tc.pacer, got, tc.shared)
		}
		err := c.Validate()
		if (err == nil) != (tc.problem == "") || (err != nil && !strings.Contains(err.Error(), tc.problem)) {
			t.Errorf("db %s, pacer %q: Validate says %v, want %q", tc.db, tc.pacer, err, tc.problem)
		}
	}
}
