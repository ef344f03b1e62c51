package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/tenant"
)

// Config is connhub's configuration. Load builds it from flags, environment,
// file and defaults; a Config built in code is not ready until WithDefaults,
// then Validate. Printing, logging or marshaling a Config never shows a secret:
// see String.
type Config struct {
	// DataDir is the directory connhub keeps its files in; the defaults of DB
	// and KeyFile lie inside it. It need not exist yet.
	DataDir string
	// DB names the store: "sqlite:PATH" or a postgres:// (postgresql://) URL.
	// See Backend.
	DB string
	// KeyFile is the file holding the encryption keys, used only when
	// EncryptionKeys is empty (WithDefaults leaves it empty otherwise).
	KeyFile string
	// EncryptionKeys holds the encryption keys themselves, in the key file's
	// format (secrets.ParseKeys); when set, it replaces KeyFile. Never a flag.
	EncryptionKeys secrets.Secret
	// AdminToken is the bearer token of connhub's administrator. Never a flag.
	AdminToken secrets.Secret
	// Addr is the HOST:PORT `connhub serve` listens on.
	Addr string
	// SlackURL is where Slack is: https://slack.com, or a sandbox.
	SlackURL string
	// PublicURL is the URL people and Slack reach `connhub serve` at (its
	// OAuth callback is PublicURL + "/v1/oauth/slack/callback"); by default
	// http://ADDR, or https://ADDR when TLSCert is set.
	PublicURL string
	// SlackRateWindow is the length of Slack's rate window that connhub paces
	// its calls to: a minute on Slack; a sandbox started with --rate-window
	// needs the same value here.
	SlackRateWindow string
	// Pacer says where the pacer keeps Slack's budgets: "auto" (shared on
	// PostgreSQL, local on SQLite), "shared" (in the database, for every
	// replica on it; PostgreSQL only) or "local" (in this process alone).
	// See PacerShared.
	Pacer string
	// LogLevel is debug, info, warn or error (see SlogLevel).
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// SlackClientID, SlackClientSecret and SlackSigningSecret are the
	// credentials of a Slack app to register on start. Optional; the two
	// secrets are never flags.
	SlackClientID      string
	SlackClientSecret  secrets.Secret
	SlackSigningSecret secrets.Secret

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound how
	// long `connhub serve` waits on a client, as durations ("10s"): for the
	// request's headers, for the whole request with its body, for each write
	// of the answer to make progress, and for the next request on an idle
	// keep-alive connection. See HTTP.
	ReadHeaderTimeout string
	ReadTimeout       string
	WriteTimeout      string
	IdleTimeout       string
	// MaxHeaderBytes bounds a request's headers, as a size ("64KiB").
	MaxHeaderBytes string
	// MaxBodiesInFlight bounds the request body bytes the proxy holds at
	// once, across all its calls, as a size ("64MiB").
	MaxBodiesInFlight string
	// TLSCert and TLSKey are the PEM files of the certificate (with its
	// chain) and key that `connhub serve` serves HTTPS with; both or neither.
	TLSCert string
	TLSKey  string
	// WebhookAllowPrivate, "true", lets webhook subscribers' URLs name
	// private and loopback addresses (a subscriber beside the hub, tests).
	WebhookAllowPrivate string
	// EventsStreamPoll is how often each event stream (GET
	// /v1/events/stream, the console's Events page) looks in the store for
	// new events, as a duration ("500ms").
	EventsStreamPoll string
	// RunLease is how long a replica holds a sync or provisioning run
	// without renewing it: a replica that dies leaves its runs to the
	// others after this long, as a duration ("1m").
	RunLease string

	// from records, for each setting, the layer its value came from, so that
	// errors name it the way the user wrote it. Load fills it; a Config built
	// in code has none and its errors use the YAML key.
	from [numSettings]origin
}

// Defaults that do not depend on other settings.
const (
	DefaultAddr     = "127.0.0.1:8080"
	DefaultSlackURL = "https://slack.com"
	// DefaultSlackRateWindow is Slack's rate window: a minute.
	DefaultSlackRateWindow = "1m"
	DefaultPacer           = "auto"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"

	DefaultReadHeaderTimeout = "10s"
	DefaultReadTimeout       = "1m"
	DefaultWriteTimeout      = "1m"
	DefaultIdleTimeout       = "2m"
	DefaultMaxHeaderBytes    = "64KiB"
	DefaultMaxBodiesInFlight = "64MiB"
	DefaultEventsStreamPoll  = "500ms"
	DefaultRunLease          = "1m"
)

// settingID indexes settings and Config.from.
type settingID int

const (
	setDataDir settingID = iota
	setDB
	setKeyFile
	setEncryptionKeys
	setAdminToken
	setAddr
	setSlackURL
	setPublicURL
	setSlackRateWindow
	setPacer
	setLogLevel
	setLogFormat
	setSlackClientID
	setSlackClientSecret
	setSlackSigningSecret
	setReadHeaderTimeout
	setReadTimeout
	setWriteTimeout
	setIdleTimeout
	setMaxHeaderBytes
	setMaxBodiesInFlight
	setTLSCert
	setTLSKey
	setWebhookAllowPrivate
	setEventsStreamPoll
	setRunLease
	numSettings
)

// setting says how one Config field is spelled in each layer. doc.go's table
// is this one, written out for people; a test keeps the two in step.
type setting struct {
	key    string // YAML key; a dot nests: "slack.client_id" is client_id under slack:
	env    string
	flag   string // "" for settings that are never flags (the secrets)
	serve  bool   // the flag is registered by ServeFlags rather than Flags
	secret bool
	help   string // the flag's usage, without env and default
	def    string // the default, as help text
}

var settings = [numSettings]setting{
	setDataDir: {key: "data_dir", env: "CONNHUB_DATA_DIR", flag: "data-dir",
		help: "directory for connhub's data", def: "$XDG_DATA_HOME/connhub, else ~/.local/share/connhub"},
	setDB: {key: "db", env: "CONNHUB_DB", flag: "db",
		help: "store: sqlite:PATH or a postgres:// URL", def: "sqlite:DATA_DIR/connhub.db"},
	setKeyFile: {key: "key_file", env: "CONNHUB_KEY_FILE", flag: "key-file",
		help: "file holding the encryption keys (unused when CONNHUB_ENCRYPTION_KEYS is set)", def: "DATA_DIR/keys"},
	setEncryptionKeys: {key: "encryption_keys", env: "CONNHUB_ENCRYPTION_KEYS", secret: true},
	setAdminToken:     {key: "admin_token", env: "CONNHUB_ADMIN_TOKEN", secret: true},
	setAddr: {key: "addr", env: "CONNHUB_ADDR", flag: "addr", serve: true,
		help: "HOST:PORT to listen on", def: DefaultAddr},
	setSlackURL: {key: "slack_url", env: "CONNHUB_SLACK_URL", flag: "slack-url", serve: true,
		help: "base URL of Slack (or of a sandbox)", def: DefaultSlackURL},
	setPublicURL: {key: "public_url", env: "CONNHUB_PUBLIC_URL", flag: "public-url", serve: true,
		help: "the URL connhub is reached at, for Slack's OAuth redirect", def: "http://ADDR"},
	setSlackRateWindow: {key: "slack_rate_window", env: "CONNHUB_SLACK_RATE_WINDOW", flag: "slack-rate-window", serve: true,
		help: "length of Slack's rate window to pace calls to (a sandbox's --rate-window)", def: DefaultSlackRateWindow},
	setPacer: {key: "pacer", env: "CONNHUB_PACER", flag: "pacer", serve: true,
		help: "where Slack's budgets are kept: auto (shared on PostgreSQL, local on SQLite), shared or local", def: DefaultPacer},
	setLogLevel: {key: "log_level", env: "CONNHUB_LOG_LEVEL", flag: "log-level",
		help: "log level: debug, info, warn or error", def: DefaultLogLevel},
	setLogFormat: {key: "log_format", env: "CONNHUB_LOG_FORMAT", flag: "log-format",
		help: "log format: text or json", def: DefaultLogFormat},
	setSlackClientID:      {key: "slack.client_id", env: "CONNHUB_SLACK_CLIENT_ID"},
	setSlackClientSecret:  {key: "slack.client_secret", env: "CONNHUB_SLACK_CLIENT_SECRET", secret: true},
	setSlackSigningSecret: {key: "slack.signing_secret", env: "CONNHUB_SLACK_SIGNING_SECRET", secret: true},
	setReadHeaderTimeout: {key: "read_header_timeout", env: "CONNHUB_READ_HEADER_TIMEOUT", flag: "read-header-timeout", serve: true,
		help: "longest wait for a request's headers", def: DefaultReadHeaderTimeout},
	setReadTimeout: {key: "read_timeout", env: "CONNHUB_READ_TIMEOUT", flag: "read-timeout", serve: true,
		help: "longest wait for a whole request, body included", def: DefaultReadTimeout},
	setWriteTimeout: {key: "write_timeout", env: "CONNHUB_WRITE_TIMEOUT", flag: "write-timeout", serve: true,
		help: "longest a write of an answer may go without progress", def: DefaultWriteTimeout},
	setIdleTimeout: {key: "idle_timeout", env: "CONNHUB_IDLE_TIMEOUT", flag: "idle-timeout", serve: true,
		help: "longest an idle keep-alive connection stays open", def: DefaultIdleTimeout},
	setMaxHeaderBytes: {key: "max_header_bytes", env: "CONNHUB_MAX_HEADER_BYTES", flag: "max-header-bytes", serve: true,
		help: "largest request headers taken", def: DefaultMaxHeaderBytes},
	setMaxBodiesInFlight: {key: "max_bodies_in_flight", env: "CONNHUB_MAX_BODIES_IN_FLIGHT", flag: "max-bodies-in-flight", serve: true,
		help: "request body bytes the proxy holds at once, over all calls", def: DefaultMaxBodiesInFlight},
	setTLSCert: {key: "tls_cert", env: "CONNHUB_TLS_CERT", flag: "tls-cert", serve: true,
		help: "PEM certificate file (with its chain) to serve HTTPS with; needs --tls-key", def: "none: plain HTTP"},
	setTLSKey: {key: "tls_key", env: "CONNHUB_TLS_KEY", flag: "tls-key", serve: true,
		help: "PEM private key file of --tls-cert", def: "none"},
	setWebhookAllowPrivate: {key: "webhook_allow_private", env: "CONNHUB_WEBHOOK_ALLOW_PRIVATE", flag: "webhook-allow-private", serve: true,
		help: "let webhook subscribers be private or loopback addresses: true or false", def: "false"},
	setEventsStreamPoll: {key: "events_stream_poll", env: "CONNHUB_EVENTS_STREAM_POLL", flag: "events-stream-poll", serve: true,
		help: "how often each event stream looks in the store for new events (50ms to 10s)", def: DefaultEventsStreamPoll},
	setRunLease: {key: "run_lease", env: "CONNHUB_RUN_LEASE", flag: "run-lease", serve: true,
		help: "how long a replica that died holds its sync and provisioning runs before others take them (1s to 1h)", def: DefaultRunLease},
}

// get returns the value of setting id.
func (c *Config) get(id settingID) string {
	switch id {
	case setDataDir:
		return c.DataDir
	case setDB:
		return c.DB
	case setKeyFile:
		return c.KeyFile
	case setEncryptionKeys:
		return c.EncryptionKeys.Reveal()
	case setAdminToken:
		return c.AdminToken.Reveal()
	case setAddr:
		return c.Addr
	case setSlackURL:
		return c.SlackURL
	case setPublicURL:
		return c.PublicURL
	case setSlackRateWindow:
		return c.SlackRateWindow
	case setPacer:
		return c.Pacer
	case setLogLevel:
		return c.LogLevel
	case setLogFormat:
		return c.LogFormat
	case setSlackClientID:
		return c.SlackClientID
	case setSlackClientSecret:
		return c.SlackClientSecret.Reveal()
	case setSlackSigningSecret:
		return c.SlackSigningSecret.Reveal()
	case setReadHeaderTimeout:
		return c.ReadHeaderTimeout
	case setReadTimeout:
		return c.ReadTimeout
	case setWriteTimeout:
		return c.WriteTimeout
	case setIdleTimeout:
		return c.IdleTimeout
	case setMaxHeaderBytes:
		return c.MaxHeaderBytes
	case setMaxBodiesInFlight:
		return c.MaxBodiesInFlight
	case setTLSCert:
		return c.TLSCert
	case setTLSKey:
		return c.TLSKey
	case setWebhookAllowPrivate:
		return c.WebhookAllowPrivate
	case setEventsStreamPoll:
		return c.EventsStreamPoll
	case setRunLease:
		return c.RunLease
	}
	panic(fmt.Sprintf("config: no setting %d", id))
}

// set sets the value of setting id.
func (c *Config) set(id settingID, v string) {
	switch id {
	case setDataDir:
		c.DataDir = v
	case setDB:
		c.DB = v
	case setKeyFile:
		c.KeyFile = v
	case setEncryptionKeys:
		c.EncryptionKeys = secrets.Secret(v)
	case setAdminToken:
		c.AdminToken = secrets.Secret(v)
	case setAddr:
		c.Addr = v
	case setSlackURL:
		c.SlackURL = v
	case setPublicURL:
		c.PublicURL = v
	case setSlackRateWindow:
		c.SlackRateWindow = v
	case setPacer:
		c.Pacer = v
	case setLogLevel:
		c.LogLevel = v
	case setLogFormat:
		c.LogFormat = v
	case setSlackClientID:
		c.SlackClientID = v
	case setSlackClientSecret:
		c.SlackClientSecret = secrets.Secret(v)
	case setSlackSigningSecret:
		c.SlackSigningSecret = secrets.Secret(v)
	case setReadHeaderTimeout:
		c.ReadHeaderTimeout = v
	case setReadTimeout:
		c.ReadTimeout = v
	case setWriteTimeout:
		c.WriteTimeout = v
	case setIdleTimeout:
		c.IdleTimeout = v
	case setMaxHeaderBytes:
		c.MaxHeaderBytes = v
	case setMaxBodiesInFlight:
		c.MaxBodiesInFlight = v
	case setTLSCert:
		c.TLSCert = v
	case setTLSKey:
		c.TLSKey = v
	case setWebhookAllowPrivate:
		c.WebhookAllowPrivate = v
	case setEventsStreamPoll:
		c.EventsStreamPoll = v
	case setRunLease:
		c.RunLease = v
	default:
		panic(fmt.Sprintf("config: no setting %d", id))
	}
}

// layer is where a setting's value came from.
type layer uint8

const (
	fromDefault layer = iota // or from code
	fromFile
	fromEnv
	fromFlag
)

// origin is the layer a setting came from and, for the file, where in it.
type origin struct {
	layer layer
	file  string
	line  int
}

// name is setting id as the user wrote it: "--db", "CONNHUB_DB",
// "/etc/connhub.yaml:3: db", or "db" for a default.
func (c *Config) name(id settingID) string {
	s := settings[id]
	switch o := c.from[id]; o.layer {
	case fromFlag:
		return "--" + s.flag
	case fromEnv:
		return s.env
	case fromFile:
		return fmt.Sprintf("%s:%d: %s", o.file, o.line, s.key)
	}
	return s.key
}

// ref is setting id named inside another's message: as name, but a file's
// setting by its key alone.
func (c *Config) ref(id settingID) string {
	if c.from[id].layer == fromFile {
		return settings[id].key
	}
	return c.name(id)
}

// problem is one line of Validate's error: the setting as the user wrote it,
// its value unless it is secret, and what is wrong.
func (c *Config) problem(id settingID, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if settings[id].secret {
		return fmt.Errorf("%s: %s", c.name(id), msg)
	}
	return fmt.Errorf("%s %q: %s", c.name(id), c.shown(id), msg)
}

// WithDefaults returns c with every empty setting at its default. DB and
// KeyFile default to files inside DataDir; KeyFile stays empty when
// EncryptionKeys is set. The default DataDir depends on $XDG_DATA_HOME and
// $HOME.
func (c Config) WithDefaults() Config { return c.withDefaults(os.Getenv) }

func (c Config) withDefaults(getenv func(string) string) Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir(getenv)
	}
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "connhub.db")
	}
	if c.KeyFile == "" && c.EncryptionKeys == "" {
		c.KeyFile = filepath.Join(c.DataDir, "keys")
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.SlackURL == "" {
		c.SlackURL = DefaultSlackURL
	}
	if c.PublicURL == "" {
		c.PublicURL = c.scheme() + "://" + c.Addr
	}
	if c.SlackRateWindow == "" {
		c.SlackRateWindow = DefaultSlackRateWindow
	}
	if c.Pacer == "" {
		c.Pacer = DefaultPacer
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
	for id, def := range map[settingID]string{
		setReadHeaderTimeout: DefaultReadHeaderTimeout, setReadTimeout: DefaultReadTimeout,
		setWriteTimeout: DefaultWriteTimeout, setIdleTimeout: DefaultIdleTimeout,
		setMaxHeaderBytes: DefaultMaxHeaderBytes, setMaxBodiesInFlight: DefaultMaxBodiesInFlight,
		setEventsStreamPoll: DefaultEventsStreamPoll, setRunLease: DefaultRunLease,
	} {
		if c.get(id) == "" {
			c.set(id, def)
		}
	}
	return c
}

// scheme is "https" when the hub serves TLS, else "http".
func (c Config) scheme() string {
	if c.TLSCert != "" {
		return "https"
	}
	return "http"
}

// DefaultDataDir is where connhub keeps its data when no data_dir is set:
// $XDG_DATA_HOME/connhub, else ~/.local/share/connhub, else ./connhub-data. It
// follows the XDG base directory spec, which ignores a relative $XDG_DATA_HOME.
func DefaultDataDir(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "connhub")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "connhub")
	}
	return "connhub-data"
}

var (
	slackClientIDRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	hexRE           = regexp.MustCompile(`^[0-9a-fA-F]+$`)
)

// Validate reports every problem with c at once (errors.Join), one line each,
// naming the setting the way it was set (flag, environment variable, or file
// and line) and showing its value unless it is secret. It reads the file
// system to check that DataDir could be created, but changes nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(id settingID, format string, args ...any) {
		errs = append(errs, c.problem(id, format, args...))
	}

	if c.DataDir == "" {
		bad(setDataDir, "must not be empty")
	} else if why := notCreatableDir(c.DataDir); why != "" {
		bad(setDataDir, "%s", why)
	}

	if _, _, err := c.Backend(); err != nil {
		errs = append(errs, err)
	}

	for id := range numSettings {
		if settings[id].secret && c.get(id) == redacted {
			bad(id, "is %s, the placeholder connhub prints for a secret, not a value", redacted)
		}
	}

	if c.AdminToken != "" && c.AdminToken != redacted {
		if err := tenant.CheckAPIToken(c.AdminToken.Reveal()); err != nil {
			bad(setAdminToken, "%v", err)
		}
	}

	if c.EncryptionKeys != "" && c.EncryptionKeys != redacted {
		if _, err := secrets.ParseKeys(c.EncryptionKeys.Reveal()); err != nil {
			// ParseKeys never shows key material. Its error is one line per
			// problem, after a prefix; each line gets the setting's name instead.
			for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "secrets: parse keys: "), "\n") {
				bad(setEncryptionKeys, "%s", line)
			}
		}
	}

	switch {
	case c.KeyFile != "" && c.EncryptionKeys != "":
		bad(setKeyFile, "not used when %s is set; set only one of the two", c.ref(setEncryptionKeys))
	case c.KeyFile == "" && c.EncryptionKeys == "":
		bad(setKeyFile, "must not be empty unless %s is set", settings[setEncryptionKeys].env)
	case c.KeyFile != "":
		if fi, err := os.Stat(c.KeyFile); err == nil && fi.IsDir() {
			bad(setKeyFile, "is a directory; want a file")
		}
	}

	if why := badAddr(c.Addr); why != "" {
		bad(setAddr, "%s", why)
	}
	if u, err := url.Parse(c.SlackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(setSlackURL, "want an absolute http(s) URL, e.g. %s", DefaultSlackURL)
	}
	if c.SlackRateWindow != "" {
		if d, err := time.ParseDuration(c.SlackRateWindow); err != nil || d < 10*time.Millisecond {
			bad(setSlackRateWindow, "want a duration of at least 10ms, e.g. 1m")
		}
	}
	if c.PublicURL != "" { // empty: derived from Addr when used
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad(setPublicURL, "want the absolute http(s) URL connhub is reached at, without a path, e.g. https://connhub.example.com")
		}
	}
	switch kind, _, _ := c.Backend(); {
	case c.Pacer != "" && c.Pacer != "auto" && c.Pacer != "shared" && c.Pacer != "local":
		bad(setPacer, "want auto, shared or local")
	case c.Pacer == "shared" && kind == "sqlite":
		bad(setPacer, "a SQLite hub is one process: its pacer is local (shared needs a postgres:// %s)", c.ref(setDB))
	}
	if c.WebhookAllowPrivate != "" && c.WebhookAllowPrivate != "true" && c.WebhookAllowPrivate != "false" {
		bad(setWebhookAllowPrivate, "want true or false")
	}
	if c.EventsStreamPoll != "" {
		if d, err := time.ParseDuration(c.EventsStreamPoll); err != nil || d < minStreamPoll || d > maxStreamPoll {
			bad(setEventsStreamPoll, "want a duration from 50ms to 10s, e.g. 500ms")
		}
	}
	if c.RunLease != "" {
		if d, err := time.ParseDuration(c.RunLease); err != nil || d < minRunLease || d > maxRunLease {
			bad(setRunLease, "want a duration from 1s to 1h, e.g. 1m")
		}
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		bad(setLogLevel, "want debug, info, warn or error")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad(setLogFormat, "want text or json")
	}

	errs = append(errs, c.validateHTTP()...)

	if c.SlackClientID != "" && !slackClientIDRE.MatchString(c.SlackClientID) {
		bad(setSlackClientID, "want a Slack client ID, digits.digits, e.g. 1234567890.9876543210")
	}
	for _, id := range []settingID{setSlackClientSecret, setSlackSigningSecret} {
		if v := c.get(id); v != "" && v != redacted && !hexRE.MatchString(v) {
			bad(id, "want hex digits, as Slack shows it on the app's Basic Information page")
		}
	}
	return errors.Join(errs...)
}

// notCreatableDir says why dir could not be created or used as a directory,
// or "" if nothing stands in the way that can be seen without creating it.
func notCreatableDir(dir string) string {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return "is a file, not a directory"
	case err == nil, errors.Is(err, fs.ErrNotExist):
		return ""
	case errors.Is(err, syscall.ENOTDIR):
		return "a parent of it is a file, not a directory"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

// badAddr says what is wrong with a listen address, or "".
func badAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "want HOST:PORT, e.g. " + DefaultAddr
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "want a port number from 0 to 65535 after the colon"
	}
	return ""
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// SlogLevel returns LogLevel as a slog.Level; an invalid level (which
// Validate reports) gives slog.LevelInfo.
func (c Config) SlogLevel() slog.Level {
	if l, ok := logLevels[c.LogLevel]; ok {
		return l
	}
	return slog.LevelInfo
}

// Backend reports which store DB names and its data source:
// ("sqlite", PATH) for "sqlite:PATH", or ("postgres", the URL unchanged) for a
// postgres:// or postgresql:// URL. PATH is everything after "sqlite:",
// relative to the working directory unless it starts with "/". The URL form
// "sqlite://PATH" is refused rather than guessed at (is sqlite://a/b the file
// a/b or /b on host a?). The error never shows a password the URL holds.
func (c Config) Backend() (kind, dsn string, err error) {
	scheme, rest, ok := strings.Cut(c.DB, ":")
	switch strings.ToLower(scheme) {
	case "sqlite":
		switch {
		case strings.HasPrefix(rest, "//"):
			return "", "", c.problem(setDB, "write sqlite:PATH, e.g. sqlite:/var/lib/connhub/connhub.db, not a sqlite:// URL")
		case rest == "":
			return "", "", c.problem(setDB, "sqlite: needs a path, e.g. sqlite:/var/lib/connhub/connhub.db")
		}
		return "sqlite", rest, nil
	case "postgres", "postgresql":
		if _, err := url.Parse(c.DB); err != nil || !strings.HasPrefix(rest, "//") {
			// Not c.problem: the value may hold a password we could not find.
			return "", "", fmt.Errorf("%s: not a valid postgres:// URL (value not shown: it may hold a password)", c.name(setDB))
		}
		return "postgres", c.DB, nil
	}
	if !ok && c.DB != "" && c.shown(setDB) == c.DB {
		return "", "", c.problem(setDB, "use sqlite:PATH or a postgres:// URL (for a file, sqlite:%s)", c.DB)
	}
	return "", "", c.problem(setDB, "use sqlite:PATH or a postgres:// URL")
}

// PacerShared says whether the pacer keeps Slack's budgets in the database,
// shared by every replica on it: Pacer "shared", or "auto" on PostgreSQL.
func (c Config) PacerShared() bool {
	kind, _, _ := c.Backend()
	return c.Pacer == "shared" || ((c.Pacer == "auto" || c.Pacer == "") && kind == "postgres")
}

// Bounds of EventsStreamPoll: more often would be a query a stream every
// few milliseconds; less often, not live.
const (
	minStreamPoll = 50 * time.Millisecond
	maxStreamPoll = 10 * time.Second
)

// StreamPoll is EventsStreamPoll as a duration (the default when unset or
// bad; Validate reports a bad one).
func (c Config) StreamPoll() time.Duration {
	if d, err := time.ParseDuration(c.EventsStreamPoll); err == nil && d >= minStreamPoll && d <= maxStreamPoll {
		return d
	}
	d, _ := time.ParseDuration(DefaultEventsStreamPoll)
	return d
}

// Bounds of RunLease: shorter would renew a run's lease several times a
// second; longer would leave a dead replica's runs waiting for hours.
const (
	minRunLease = time.Second
	maxRunLease = time.Hour
)

// Lease is RunLease as a duration (the default when unset or bad; Validate
// reports a bad one).
func (c Config) Lease() time.Duration {
	if d, err := time.ParseDuration(c.RunLease); err == nil && d >= minRunLease && d <= maxRunLease {
		return d
	}
	d, _ := time.ParseDuration(DefaultRunLease)
	return d
}

// RateWindow is SlackRateWindow as a duration (a minute when unset or bad;
// Validate reports a bad one).
func (c Config) RateWindow() time.Duration {
	if d, err := time.ParseDuration(c.SlackRateWindow); err == nil && d > 0 {
		return d
	}
	return time.Minute
}
