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
// (instances, apps, credentials, token, streams, sync, records, export) call a
// running hub over its REST API through pkg/connhub, as any program would,
// and share with the server only where its files are (config's data
// directory, tenant's file name): the hub is --server or CONNHUB_SERVER, the
// credential CONNHUB_TOKEN, else CONNHUB_ADMIN_TOKEN, else the api_token line
// of the admin-credentials file in the hub's data directory. Output is a table for people or, with
// -o json, the API's objects. Secrets are never flags: they come from the
// environment or from a prompt that does not echo.
//
// `sync run` and `sync status --watch` follow a sync: on a terminal with a
// bar a stream (mpb), elsewhere with plain lines a script or CI's log can
// keep (syncview.go). `export` streams to stdout or a file it renames into
// place only once the hub declared the export complete.
//
// Errors are printed as one line, "connhub: <what went wrong>", and the process
// exits non-zero: 2 for a command line that cannot be understood, 1 for
// everything else.
package cli
