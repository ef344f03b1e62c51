// Package config owns connhub's configuration: the one typed [Config], where
// each setting comes from, its defaults, and the checks that turn a bad setting
// into a one-line error before anything starts. It reads flags, the
// environment and a YAML file; it opens no store and creates no file.
//
// # Layers
//
// A setting's value is the first of, highest first:
//
//  1. a flag set on the command line ([Flags], [ServeFlags]);
//  2. an environment variable CONNHUB_*;
//  3. the config file: the path --config names, else $CONNHUB_CONFIG, else
//     none (`--config ""` means none even when $CONNHUB_CONFIG is set);
//  4. the default.
//
// An empty value counts as unset in every layer, so `CONNHUB_DB=` or
// `--db ""` leaves DB to the layers below. A flag left unset never hides the
// environment or the file: the flags default to "" and show their defaults in
// their usage text only. Secrets (encryption keys, the admin token, the Slack
// app's secrets) have no flags at all, because a command line can be read by
// every user of the machine (ps).
//
// # Settings
//
//	setting             flag                 env                           YAML key              default
//	DataDir             --data-dir           CONNHUB_DATA_DIR              data_dir              $XDG_DATA_HOME/connhub, else $HOME/.local/share/connhub, else ./connhub-data
//	DB                  --db                 CONNHUB_DB                    db                    sqlite:DATA_DIR/connhub.db
//	KeyFile             --key-file           CONNHUB_KEY_FILE              key_file              DATA_DIR/keys (none when EncryptionKeys is set)
//	EncryptionKeys      (none)               CONNHUB_ENCRYPTION_KEYS       encryption_keys       none: keys come from KeyFile
//	AdminToken          (none)               CONNHUB_ADMIN_TOKEN           admin_token           none
//	Addr                --addr (serve)       CONNHUB_ADDR                  addr                  127.0.0.1:8080
//	SlackURL            --slack-url (serve)  CONNHUB_SLACK_URL             slack_url             https://slack.com
//	PublicURL           --public-url (serve) CONNHUB_PUBLIC_URL            public_url            http://ADDR (https://ADDR with TLSCert)
//	SlackRateWindow     --slack-rate-window (serve) CONNHUB_SLACK_RATE_WINDOW slack_rate_window   1m
//	Pacer               --pacer (serve)      CONNHUB_PACER                 pacer                 auto (shared on PostgreSQL, local on SQLite; or shared, local)
//	LogLevel            --log-level          CONNHUB_LOG_LEVEL             log_level             info (debug, info, warn or error)
//	LogFormat           --log-format         CONNHUB_LOG_FORMAT            log_format            text (text or json)
//	SlackClientID       (none)               CONNHUB_SLACK_CLIENT_ID       slack.client_id       none
//	SlackClientSecret   (none)               CONNHUB_SLACK_CLIENT_SECRET   slack.client_secret   none
//	SlackSigningSecret  (none)               CONNHUB_SLACK_SIGNING_SECRET  slack.signing_secret  none
//	ReadHeaderTimeout   --read-header-timeout (serve) CONNHUB_READ_HEADER_TIMEOUT read_header_timeout 10s
//	ReadTimeout         --read-timeout (serve) CONNHUB_READ_TIMEOUT        read_timeout          1m (a whole request, body included)
//	WriteTimeout        --write-timeout (serve) CONNHUB_WRITE_TIMEOUT      write_timeout         1m (each write of an answer)
//	IdleTimeout         --idle-timeout (serve) CONNHUB_IDLE_TIMEOUT        idle_timeout          2m
//	MaxHeaderBytes      --max-header-bytes (serve) CONNHUB_MAX_HEADER_BYTES max_header_bytes     64KiB (4KiB to 1MiB)
//	MaxBodiesInFlight   --max-bodies-in-flight (serve) CONNHUB_MAX_BODIES_IN_FLIGHT max_bodies_in_flight 64MiB (at least 10MiB)
//	TLSCert             --tls-cert (serve)   CONNHUB_TLS_CERT              tls_cert              none: plain HTTP
//	TLSKey              --tls-key (serve)    CONNHUB_TLS_KEY               tls_key               none (set with TLSCert)
//	WebhookAllowPrivate --webhook-allow-private (serve) CONNHUB_WEBHOOK_ALLOW_PRIVATE webhook_allow_private false
//	EventsStreamPoll    --events-stream-poll (serve) CONNHUB_EVENTS_STREAM_POLL events_stream_poll  500ms (50ms to 10s)
//	RunLease            --run-lease (serve)          CONNHUB_RUN_LEASE          run_lease           1m (1s to 1h)
//	(the file itself)   --config             CONNHUB_CONFIG                -                     none
//
// (serve) marks the flags of `connhub serve` alone. A dotted YAML key is
// nested: slack.client_id is client_id indented under slack:. For example:
//
//	data_dir: /var/lib/connhub
//	db: postgres://connhub@db.internal/connhub?sslmode=verify-full
//	log_format: json
//	slack:
//	  client_id: 1234567890123.1234567890123
//	  client_secret: 0123456789abcdef0123456789abcdef
//	  signing_secret: fedcba9876543210fedcba9876543210
//
// Values in the file are taken as written: the client ID above stays a string
// of digits even unquoted.
//
// Durations are Go durations ("30s", "2m"), positive. Sizes are digits with
// an optional unit, B, KiB, MiB or GiB ("64KiB"). The timeouts and sizes are
// `connhub serve`'s defences against slow and large clients:
// docs/OPERATIONS.md says what each bounds and docs/SECURITY.md why. TLSCert
// and TLSKey go together: one without the other is an error, not plain HTTP.
//
// DB is "sqlite:PATH" (PATH as written, relative to the working directory
// unless it starts with /) or a postgres:// or postgresql:// URL. The URL form
// sqlite://PATH is refused with an error showing sqlite:PATH, rather than
// guessing how many slashes belong to the path. EncryptionKeys holds what the
// key file would (one "<id>:<base64>" key per line or comma) and replaces
// KeyFile; setting both is an error, not a silent choice. Validate parses
// EncryptionKeys with [secrets.ParseKeys]; the key file itself is read later,
// by package secrets, and is not checked here. AdminToken, when set, must pass
// [tenant.CheckAPIToken]: "chub_" and at least 22 characters of A-Z a-z 0-9 -
// _ (32 if all hex digits), not all one character; the error says how to make
// one (connhub token new).
//
// # Errors
//
// [Load] and [Config.Validate] report every problem at once (errors.Join), one
// line each, naming the setting the way the user set it and its value, secrets
// excepted:
//
//	--db "mysql://x": use sqlite:PATH or a postgres:// URL
//	CONNHUB_LOG_LEVEL "verbose": want debug, info, warn or error
//	/etc/connhub.yaml:4: unknown setting "dta_dir" (did you mean data_dir?)
//	CONNHUB_SLACK_CLIENT_SECRET: want hex digits, as Slack shows it on the app's Basic Information page
//
// A key in the file that is not a setting is an error: a typo must not be
// silently ignored. Load reports such keys, and values that are lists or
// mappings, together with what Validate finds in the values. A named config
// file that is missing or is not YAML ends the load with one error naming the
// path (and the line).
//
// # Printing
//
// Secret-valued fields have type [secrets.Secret], which prints as
// "[REDACTED]"; Validate refuses that placeholder as a value, so a printed
// configuration pasted back cannot replace a secret with it. A Config prints (%v, %+v, %#v, any verb), logs (slog) and marshals to JSON
// with every secret redacted and the password of a postgres URL hidden, so it
// can be shown whole, e.g. by a `config show` command.
//
// # Why koanf, and which parts
//
// Layers are merged by koanf (github.com/knadh/koanf/v2), with its env/v2
// provider (fed from the injected getenv) and its posflag provider (which takes
// only the flags that were set). The file is read with os.ReadFile and parsed
// with go.yaml.in/yaml/v3 (the YAML library koanf's own parser wraps) as a node
// tree, instead of koanf's providers/file and parsers/yaml: that parser decodes
// unquoted values by YAML type, so a Slack client ID 1234567890123.1234567890123
// became the float 1.2345678901231235e+12, and it keeps no line numbers for
// errors or for unknown keys; providers/file adds only a file watcher
// (fsnotify) that connhub does not use.
package config
