// Package cli holds connhub's commands. Each command is a Run function taking a
// context, its options and the writers to print to, so that tests run commands
// in-process and read what they print; the cobra commands only parse flags into
// those options.
//
// There are two kinds. The server's commands (serve, migrate, keys, sandbox)
// open the store or run servers in this process; serve also keeps its key
// ring in step with its key file and writes the replica's heartbeats
// (internal/replica), and with --sandbox runs a Slack sandbox kept in the data
// directory (serve_sandbox.go: the same world, app and tokens after a restart,
// on the same port when it is free; the --sandbox-* flags, --sandbox-reset),
// as `sandbox --state-file` keeps a standalone one; and the keys commands
// (keys.go) refuse a step of key rotation that a live replica could not
// follow. The client's commands
// (instances, apps, credentials, token, streams, sync, records, export,
// events, webhooks, scim, provision, orgs, users, tokens, audit) call a running hub over its
// REST API through
// pkg/connhub, as any program would, and share with the server only where its
// files are (config's data directory, tenant's file name). Flags come first,
// then the environment, then the context `connhub login` saved (login.go):
// the hub is --server, CONNHUB_SERVER or the context's; the credential
// CONNHUB_TOKEN, else CONNHUB_ADMIN_TOKEN, else the context's (sent to the
// context's server only), else the api_token line of the admin-credentials
// file in the hub's data directory (client.go, hub). The contexts are kept
// in the CLI's config file, 0600, never printed. Secrets are never flags
// (login's --token, which warns, aside): they come from the environment,
// stdin or a prompt that does not echo.
//
// Output goes through one layer (output.go): -o table for people, or the
// API's objects as json or yaml, lists also as jsonl or csv (through
// internal/safecsv); --jq filters the JSON with gojq. Shell completion
// (complete.go) asks the hub for instance IDs, streams, syncs, webhooks and
// their deliveries, provisioning runs and plans not yet applied.
//
// `sync run` and `sync status --watch` follow a sync: on a terminal with a
// bar a stream (mpb), elsewhere with plain lines a script or CI's log can
// keep (syncview.go). `export` streams to stdout or --file, which it renames
// into place only once the hub declared the export complete. `events tail`
// follows the hub's event stream (server-sent events), a line an event,
// connecting again after a lost connection from the last event it printed
// (pkg/connhub's FollowEvents), until Ctrl-C, which exits 0 (events.go).
// `webhooks create` prints the subscription's signing secret once.
// `provision plan` prints a directory file's plan as a diff, and a file's
// problems a line a row; `provision apply` finds the plan's instance from
// its ID alone and follows the run as `sync run` does a sync, with one bar
// (provisionview.go).
//
// Errors are printed as one line, "connhub: <what went wrong>", and the process
// exits non-zero: 2 for a command line that cannot be understood, 1 for
// everything else.
package cli
