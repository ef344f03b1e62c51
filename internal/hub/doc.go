// Package hub wires connhub: Open opens its database (the keys, the store,
// the migrations, the first-start bootstrap), New builds every service over
// it (instances, authentication, the one pacer, the proxy, the Slack caller,
// syncs and their queue, the console, the API and its metrics), and Run runs
// its background (token refreshes, the install sweeper, the sync workers, the
// key ring kept in step with its key file, the replica's heartbeats).
//
// `connhub serve` and the test hubs (internal/hubtest; internal/servetest
// runs serve itself) build a hub the same way, here, so that what the tests
// run is what users run. Serve adds only what a process has: the listener,
// TLS, signals and the sandbox of --sandbox.
package hub
