package config_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/secrets"
)

// load runs Load as `connhub serve` would: global and serve flags on one flag
// set, parsed from args, with env as the whole environment. A non-empty yaml
// is written to a file that CONNHUB_CONFIG names (unless env names one
// already). HOME is a fresh directory unless env sets it.
func load(t *testing.T, args []string, env map[string]string, yaml string) (config.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("connhub", pflag.ContinueOnError)
	config.Flags(fs)
	config.ServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	e := map[string]string{"HOME": t.TempDir()}
	for k, v := range env {
		e[k] = v
	}
	if yaml != "" && e["CONNHUB_CONFIG"] == "" {
		e["CONNHUB_CONFIG"] = writeFile(t, "connhub.yaml", yaml)
	}
	return config.Load(fs, func(k string) string { return e[k] })
}

// mustLoad is load that fails the test on an error.
func mustLoad(t *testing.T, args []string, env map[string]string, yaml string) config.Config {
	t.Helper()
	cfg, err := load(t, args, env, yaml)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// testKey is one key in the key file's format, with 32 bytes of fill.
func testKey(id string, fill byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	xdg := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		dataDir string
	}{
		{"XDG_DATA_HOME", map[string]string{"XDG_DATA_HOME": xdg, "HOME": home}, filepath.Join(xdg, "connhub")},
		{"relative XDG_DATA_HOME is ignored", map[string]string{"XDG_DATA_HOME": "rel", "HOME": home}, filepath.Join(home, ".local/share/connhub")},
		{"HOME", map[string]string{"HOME": home}, filepath.Join(home, ".local/share/connhub")},
		{"neither", map[string]string{"HOME": ""}, "connhub-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustLoad(t, nil, tt.env, "")
			want := map[string]string{
				"DataDir":         tt.dataDir,
				"DB":              "sqlite:" + filepath.Join(tt.dataDir, "connhub.db"),
				"KeyFile":         filepath.Join(tt.dataDir, "keys"),
				"Addr":            "127.0.0.1:8080",
				"SlackURL":        "https://slack.com",
				"PublicURL":       "http://127.0.0.1:8080",
				"SlackRateWindow": "1m",
				"Pacer":           "auto",
				"LogLevel":        "info",
				"LogFormat":       "text",
			}
			for field, w := range want {
				if g := stringField(got, field); g != w {
					t.Errorf("%s: got %q, want %q", field, g, w)
				}
			}
			for _, s := range []secrets.Secret{got.EncryptionKeys, got.AdminToken, got.SlackClientSecret, got.SlackSigningSecret} {
				if s.Reveal() != "" {
					t.Errorf("secret: got %q, want empty", s.Reveal())
				}
			}
			if got.SlackClientID != "" {
				t.Errorf("SlackClientID: got %q, want empty", got.SlackClientID)
			}
			if kind, dsn, err := got.Backend(); kind != "sqlite" || dsn != filepath.Join(tt.dataDir, "connhub.db") || err != nil {
				t.Errorf("Backend: got %q, %q, %v, want sqlite, %s/connhub.db", kind, dsn, err, tt.dataDir)
			}
		})
	}
}

func stringField(c config.Config, name string) string {
	switch name {
	case "DataDir":
		return c.DataDir
	case "DB":
		return c.DB
	case "KeyFile":
		return c.KeyFile
	case "Addr":
		return c.Addr
	case "SlackURL":
		return c.SlackURL
	case "PublicURL":
		return c.PublicURL
	case "SlackRateWindow":
		return c.SlackRateWindow
	case "Pacer":
		return c.Pacer
	case "LogLevel":
		return c.LogLevel
	case "LogFormat":
		return c.LogFormat
	}
	panic(name)
}

// settingCase is one setting as each layer spells it, with a valid value for
// each layer.
type settingCase struct {
	key, env, flag       string // flag "" when there is none
	get                  func(config.Config) string
	file, fromEnv, fromF string
}

var settingCases = []settingCase{
	{"data_dir", "CONNHUB_DATA_DIR", "data-dir", func(c config.Config) string { return c.DataDir }, "/nonexistent/file-dir", "/nonexistent/env-dir", "/nonexistent/flag-dir"},
	{"db", "CONNHUB_DB", "db", func(c config.Config) string { return c.DB }, "sqlite:file.db", "postgres://env@db.example/connhub", "postgresql://flag@db.example/connhub"},
	{"key_file", "CONNHUB_KEY_FILE", "key-file", func(c config.Config) string { return c.KeyFile }, "/nonexistent/file-keys", "/nonexistent/env-keys", "/nonexistent/flag-keys"},
	{"encryption_keys", "CONNHUB_ENCRYPTION_KEYS", "", func(c config.Config) string { return c.EncryptionKeys.Reveal() }, testKey("file", 'f'), testKey("env", 'e'), ""},
	{"admin_token", "CONNHUB_ADMIN_TOKEN", "", func(c config.Config) string { return c.AdminToken.Reveal() }, "chub_fileAdminTokenQx2Lm8Rt4Vw6", "chub_envAdminTokenQx2Lm8Rt4Vw6Yz", ""},
	{"addr", "CONNHUB_ADDR", "addr", func(c config.Config) string { return c.Addr }, "127.0.0.1:1", ":2", "localhost:3"},
	{"slack_url", "CONNHUB_SLACK_URL", "slack-url", func(c config.Config) string { return c.SlackURL }, "http://file.example", "https://env.example/slack", "http://127.0.0.1:9"},
	{"public_url", "CONNHUB_PUBLIC_URL", "public-url", func(c config.Config) string { return c.PublicURL }, "http://file.example", "https://env.example", "http://127.0.0.1:9"},
	{"slack_rate_window", "CONNHUB_SLACK_RATE_WINDOW", "slack-rate-window", func(c config.Config) string { return c.SlackRateWindow }, "2m", "3s", "1s"},
	{"pacer", "CONNHUB_PACER", "pacer", func(c config.Config) string { return c.Pacer }, "local", "auto", "local"},
	{"log_level", "CONNHUB_LOG_LEVEL", "log-level", func(c config.Config) string { return c.LogLevel }, "debug", "warn", "error"},
	{"log_format", "CONNHUB_LOG_FORMAT", "log-format", func(c config.Config) string { return c.LogFormat }, "json", "text", "json"},
	{"slack.client_id", "CONNHUB_SLACK_CLIENT_ID", "", func(c config.Config) string { return c.SlackClientID }, "111.222", "333.444", ""},
	{"slack.client_secret", "CONNHUB_SLACK_CLIENT_SECRET", "", func(c config.Config) string { return c.SlackClientSecret.Reveal() }, "abc123", "def456", ""},
	{"slack.signing_secret", "CONNHUB_SLACK_SIGNING_SECRET", "", func(c config.Config) string { return c.SlackSigningSecret.Reveal() }, "0a0a", "0b0b", ""},
	{"read_header_timeout", "CONNHUB_READ_HEADER_TIMEOUT", "read-header-timeout", func(c config.Config) string { return c.ReadHeaderTimeout }, "1s", "2s", "3s"},
	{"read_timeout", "CONNHUB_READ_TIMEOUT", "read-timeout", func(c config.Config) string { return c.ReadTimeout }, "1m", "2m", "3m"},
	{"write_timeout", "CONNHUB_WRITE_TIMEOUT", "write-timeout", func(c config.Config) string { return c.WriteTimeout }, "4s", "5s", "6s"},
	{"idle_timeout", "CONNHUB_IDLE_TIMEOUT", "idle-timeout", func(c config.Config) string { return c.IdleTimeout }, "7s", "8s", "9s"},
	{"max_header_bytes", "CONNHUB_MAX_HEADER_BYTES", "max-header-bytes", func(c config.Config) string { return c.MaxHeaderBytes }, "8KiB", "16KiB", "32KiB"},
	{"max_bodies_in_flight", "CONNHUB_MAX_BODIES_IN_FLIGHT", "max-bodies-in-flight", func(c config.Config) string { return c.MaxBodiesInFlight }, "16MiB", "32MiB", "1GiB"},
	{"events_stream_poll", "CONNHUB_EVENTS_STREAM_POLL", "events-stream-poll", func(c config.Config) string { return c.EventsStreamPoll }, "1s", "2s", "250ms"},
	{"run_lease", "CONNHUB_RUN_LEASE", "run-lease", func(c config.Config) string { return c.RunLease }, "2m", "3m", "5s"},
}

// yamlFor writes one setting as YAML, nesting a dotted key.
func yamlFor(key, value string) string {
	if parent, child, ok := strings.Cut(key, "."); ok {
		return parent + ":\n  " + child + ": " + strconv.Quote(value) + "\n"
	}
	return key + ": " + strconv.Quote(value) + "\n"
}

// layerTest is one combination of layers and the value it should give.
type layerTest struct {
	name string
	args []string
	env  map[string]string
	yaml string
	want string
}

func TestLayers(t *testing.T) {
	t.Parallel()
	for _, sc := range settingCases {
		t.Run(sc.key, func(t *testing.T) {
			t.Parallel()
			file := yamlFor(sc.key, sc.file)
			env := map[string]string{sc.env: sc.fromEnv}
			other := []string{"--log-level", "debug"} // a flag that is not this setting's
			if sc.flag == "log-level" {
				other = []string{"--log-format", "json"}
			}
			tests := []layerTest{
				{"file over default", nil, nil, file, sc.file},
				{"env over file", nil, env, file, sc.fromEnv},
				{"env over default", nil, env, "", sc.fromEnv},
				{"unset flags keep the file", other, nil, file, sc.file},
				{"unset flags keep the env", other, env, file, sc.fromEnv},
				{"empty env keeps the file", nil, map[string]string{sc.env: ""}, file, sc.file},
			}
			if sc.flag != "" {
				flag := []string{"--" + sc.flag, sc.fromF}
				tests = append(tests,
					layerTest{"flag over env and file", flag, env, file, sc.fromF},
					layerTest{"flag over file", flag, nil, file, sc.fromF},
					layerTest{"flag over default", flag, nil, "", sc.fromF},
				)
			}
			for _, tt := range tests {
				cfg, err := load(t, tt.args, tt.env, tt.yaml)
				if err != nil {
					t.Errorf("%s: Load: %v", tt.name, err)
					continue
				}
				if got := sc.get(cfg); got != tt.want {
					t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
				}
			}
		})
	}
}

func TestFlagsSetOnlyWhatTheyNameAndHaveNoDefaults(t *testing.T) {
	t.Parallel()
	global := pflag.NewFlagSet("global", pflag.ContinueOnError)
	config.Flags(global)
	serve := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	config.ServeFlags(serve)
	for _, tt := range []struct {
		fs   *pflag.FlagSet
		want []string
	}{
		{global, []string{"config", "data-dir", "db", "key-file", "log-format", "log-level"}},
		{serve, []string{"addr", "events-stream-poll", "idle-timeout", "max-bodies-in-flight", "max-header-bytes", "pacer", "public-url", "read-header-timeout", "read-timeout", "run-lease", "slack-rate-window", "slack-url", "tls-cert", "tls-key", "webhook-allow-private", "write-timeout"}},
	} {
		var got []string
		tt.fs.VisitAll(func(f *pflag.Flag) {
			got = append(got, f.Name)
			if f.DefValue != "" {
				t.Errorf("--%s: got default %q, want none (defaults are help text only)", f.Name, f.DefValue)
			}
			if f.Name != "config" && !strings.Contains(f.Usage, "default ") {
				t.Errorf("--%s: usage %q does not say the default", f.Name, f.Usage)
			}
		})
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s flags: got %q, want %q", tt.fs.Name(), got, tt.want)
		}
	}
}

func TestSecretsAreNeverFlags(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("connhub", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	config.Flags(fs)
	config.ServeFlags(fs)
	for _, flag := range []string{"--encryption-keys", "--admin-token", "--slack-client-secret", "--slack-signing-secret", "--slack-client-id"} {
		if err := fs.Parse([]string{flag, "x"}); err == nil || !strings.Contains(err.Error(), "unknown flag") {
			t.Errorf("%s: got %v, want an unknown flag error", flag, err)
		}
	}
}

func TestFlagsOfOtherCommandsAreIgnored(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("connhub", pflag.ContinueOnError)
	config.Flags(fs)
	fs.String("admin_token", "", "a flag of some command, not a setting")
	fs.Bool("sandbox", false, "")
	if err := fs.Parse([]string{"--admin_token", "nope", "--sandbox"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(fs, func(k string) string { return map[string]string{"HOME": "/nonexistent"}[k] })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := cfg.AdminToken.Reveal(); got != "" {
		t.Errorf("AdminToken: got %q, want empty", got)
	}
}

func TestConfigFileNamedByFlagOverEnv(t *testing.T) {
	t.Parallel()
	byFlag := writeFile(t, "flag.yaml", "addr: 127.0.0.1:1\n")
	byEnv := writeFile(t, "env.yaml", "addr: 127.0.0.1:2\n")
	cfg := mustLoad(t, []string{"--config", byFlag}, map[string]string{"CONNHUB_CONFIG": byEnv}, "")
	if cfg.Addr != "127.0.0.1:1" {
		t.Errorf("Addr: got %q, want 127.0.0.1:1 from the file --config names", cfg.Addr)
	}
	// --config "" means no file, even when CONNHUB_CONFIG names a missing one.
	cfg = mustLoad(t, []string{"--config", ""}, map[string]string{"CONNHUB_CONFIG": "/nonexistent/connhub.yaml"}, "")
	if cfg.Addr != "127.0.0.1:8080" {
		t.Errorf("Addr: got %q, want the default", cfg.Addr)
	}
}

func TestFileValuesAreTakenAsWritten(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, nil, nil, "slack:\n  client_id: 1234567890123.1234567890123\n  client_secret: 0123456789\nlog_level: # empty: the default\n")
	if cfg.SlackClientID != "1234567890123.1234567890123" {
		t.Errorf("SlackClientID: got %q, want 1234567890123.1234567890123", cfg.SlackClientID)
	}
	if got := cfg.SlackClientSecret.Reveal(); got != "0123456789" {
		t.Errorf("SlackClientSecret: got %q, want 0123456789", got)
	}
	if cfg.LogLevel != "info" {
		t.Errorf("LogLevel: got %q, want info", cfg.LogLevel)
	}
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // the error's lines, after "PATH:"
	}{
		{"syntax, first line", "db: a: b\n", []string{"1: not valid YAML: mapping values are not allowed in this context"}},
		{"syntax, later line", "addr: 127.0.0.1:1\ndb: a: b\n", []string{"2: not valid YAML: mapping values are not allowed in this context"}},
		{"tab indent", "slack:\n\tclient_id: 1.2\n", []string{"2: not valid YAML: found character that cannot start any token"}},
		{"control character", "addr: 127.0.0.1:1\n\ndb: \x01\n", []string{"3: not valid YAML: control characters are not allowed"}},
		{"not a mapping", "- db\n- addr\n", []string{`1: want a mapping of settings, e.g. "data_dir: /var/lib/connhub", not a list`}},
		{"two documents", "addr: 127.0.0.1:1\n---\naddr: 127.0.0.1:2\n", []string{"2: want one YAML document, found a second"}},
		{"unknown keys, all of them", "dta_dir: /x\naddr: 127.0.0.1:1\nslack:\n  cliend_id: 1.2\nfrobnicate: true\n", []string{
			`1: unknown setting "dta_dir" (did you mean data_dir?)`,
			`4: unknown setting "slack.cliend_id" (did you mean slack.client_id?)`,
			`5: unknown setting "frobnicate"`,
		}},
		{"dotted key written flat", "slack.client_id: 1.2\n", []string{`1: unknown setting "slack.client_id" (write it nested: "slack:", then "client_id:" indented under it)`}},
		{"config is not a setting", "config: other.yaml\n", []string{`1: unknown setting "config"`}},
		{"list value", "addr:\n  - 127.0.0.1:1\n", []string{"1: addr: want a string, not a list"}},
		{"slack not a mapping", "slack: 1.2\n", []string{"1: slack: want a mapping, with client_id, client_secret and signing_secret indented under it"}},
		{"set twice", "addr: 127.0.0.1:1\naddr: 127.0.0.1:2\n", []string{"2: addr is set twice (first on line 1)"}},
		{"key file and keys both set", "key_file: /k\nencryption_keys: " + testKey("k1", 1) + "\n", []string{
			`1: key_file "/k": not used when encryption_keys is set; set only one of the two`,
		}},
		{"unknown key and bad value together", "log_level: loud\nlog_fromat: json\n", []string{
			`2: unknown setting "log_fromat" (did you mean log_format?)`,
			`1: log_level "loud": want debug, info, warn or error`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "connhub.yaml", tt.yaml)
			_, err := load(t, []string{"--config", path}, nil, "")
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, path+":"+w)
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

func TestEmptyOrCommentOnlyFileIsFine(t *testing.T) {
	t.Parallel()
	for _, yaml := range []string{"# nothing yet\n", "\n", "~\n", "---\n"} {
		path := writeFile(t, "connhub.yaml", yaml)
		if _, err := load(t, []string{"--config", path}, nil, ""); err != nil {
			t.Errorf("%q: got %v, want no error", yaml, err)
		}
	}
}

func TestUnreadableConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"--config missing", []string{"--config", missing}, nil, `--config "` + missing + `": no such file`},
		{"CONNHUB_CONFIG missing", nil, map[string]string{"CONNHUB_CONFIG": missing}, `CONNHUB_CONFIG "` + missing + `": no such file`},
		{"a directory", []string{"--config", dir}, nil, `--config "` + dir + `": is a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.args, tt.env, "")
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestLoadNamesSettingsTheWayTheyWereSet(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "connhub.yaml", "addr: 127.0.0.1:1\nlog_format: xml\nslack_url: ftp://x\n")
	_, err := load(t,
		[]string{"--config", path, "--db", "mysql://x", "--slack-url", "slack.com"},
		map[string]string{"CONNHUB_LOG_LEVEL": "verbose", "CONNHUB_SLACK_CLIENT_SECRET": "not-hex-s3cr3t", "CONNHUB_ADDR": "8080"},
		"")
	want := strings.Join([]string{
		`--db "mysql://x": use sqlite:PATH or a postgres:// URL`,
		`CONNHUB_ADDR "8080": want HOST:PORT, e.g. 127.0.0.1:8080`,
		`--slack-url "slack.com": want an absolute http(s) URL, e.g. https://slack.com`,
		`CONNHUB_LOG_LEVEL "verbose": want debug, info, warn or error`,
		path + `:2: log_format "xml": want text or json`,
		`CONNHUB_SLACK_CLIENT_SECRET: want hex digits, as Slack shows it on the app's Basic Information page`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
