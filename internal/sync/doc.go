// Package sync retrieves a Slack workspace's data into connhub's store:
// users, billing, activity, channels, groups, files and more, as streams of
// records (streams.go lists them, with the Slack method, token, scopes and
// catalog feature each needs), and derives from them what license management
// asks: who holds a billable seat, who was last active when, and a daily
// summary.
//
// Streams are data. A stream's plans are its catalog feature's editions
// (internal/connector: the one table of which plans have what), and it names
// the Events API types that keep it fresh (ApplyEvent applies from one table
// of them, held to the streams' by a test). A plain stream, a method
// answering a list of objects, is a list (list.go: arguments, list field or
// one object, cursor or classic paging, a key made of the item's fields,
// team and updated fields, the argument naming a parent, a record per
// element of an array) and needs no code of its own: the team, users,
// access logs, channels, user groups and their members, files, integration
// logs and bookmarks are. The others keep a fetcher in fetch.go because
// Slack's shapes demand it: objects keyed by ID (billable info, emoji), a
// plan to name from the catalog (subscriptions), gzip NDJSON a day
// (analytics), a record per page of members, messages with threads.
//
// A run counts, beside each stream's calls, the fewest its data needed:
// each walk of a list's items over the method's largest page (slackspec's
// MaxPage, the table the sandbox enforces too), at least one. Calls above
// it mean smaller pages than Slack allows, or something read twice.
//
// A sync is a run of some streams of one instance. It is queued in River
// on the hub's own database (internal/queue, the hub's one queue; queue.go
// adds the run worker): the run's row, its audit event and its job are
// written in one transaction (River's InsertTx on the store's
// *sql.Tx, which Store.InTx's Queries expose as store.SQLTx), so neither is
// ever there without the other. An instance has at most one unfinished run
// (queued, running or interrupted): the database's unique index refuses a
// second, from whichever replica, and Start and Resume answer 409
// sync_in_progress naming the unfinished one; a due schedule skips.
// Whichever replica's worker takes the job holds a lease on the run row,
// renewed while it works; a replica that dies leaves the lease to lapse,
// and a sweeper on every replica queues the run again. The run then resumes: each stream's checkpoint (a position:
// workspace, parent record, Slack cursor, mark) is written in the same
// transaction as the page of records it follows, records are upserted on
// their natural keys, and a full walk marks what it did not see as deleted
// only when it ends. So a run killed at any moment ends, once resumed, with
// exactly the records an uninterrupted run would have.
//
// Each stream names the token it is meant for; where the instance lacks
// that token or its scopes, a stream goes with the other token where Slack
// takes it for the method and it was granted the same scopes (an install
// with user-token scopes only syncs the team, users and channels). A run
// whose every stream was skipped has failed, saying why. An Enterprise Grid
// org install's granted workspaces are read again at the start of each run
// (auth.teams.list), so a workspace added later is synced.
//
// The streams of a run go concurrently, because Slack's budgets are per
// method: every call goes through the shared pacer (internal/ratelimit) via
// slackcall, so each method is called at its tier's rate and no faster. A
// stream that fans out over another (members of each channel) waits for it;
// derived streams wait for their inputs. Before the streams start, auth.test
// says which scopes each token holds and team.billing.info which plan the
// workspace is on; a stream that cannot run there is skipped with its
// reason, never failed.
//
// A fan-out fetches several parents at once (walker.go) and commits their
// pages in parent order, so the checkpoint stays one position while the
// budget is spent as fast as Slack allows. Streams whose objects are huge in
// number keep a record per page: channel_members holds up to 1,000 user IDs
// a record, found with the query language's HAS.
//
// Memory stays flat: pages are written as they come (a stream fetches at
// most two ahead of its commits), fan-outs hold a few pages per parent
// ahead, fan-outs and derivations read the store a page at a time
// in key order, and the daily analytics file is read a line at a time.
//
// Changes is closed at the service's next write of a run, for those (the
// tests) who wait for a run to move: read it, then wait, never sleep.
// List pages an instance's runs, newest first, in SQL.
//
// A run's statuses: queued, running, then succeeded, failed or canceled.
// A replica that stops cleanly gives its runs back as interrupted, and the
// next sweep of any replica (its own, when it starts again) resumes them; a
// running run whose lease lapsed is shown stalled (Get, List), never stored
// so. A run that failed keeps its checkpoints, and Resume goes on from them.
//
// Progress never goes back: a stream's figures are its checkpoint's plus
// the calls made since its last commit, and a resumed run starts from the
// higher of its checkpoint's and what it showed; streams it had finished
// keep their times. A wait for Slack's budget or out a Retry-After shows
// while it lasts (waiting_since; waited_ms counts the wait so far).
//
// A fan-out counts the parents Slack passed over by its answer, and shows
// them as the stream's issues, with what to do (not_in_channel: invite the
// bot, or join_public_channels); a fan-out whose every parent was passed
// over has failed. With join_public_channels the messages walk has the bot
// join (conversations.join, needing channels:join) each open public channel
// that answered not_in_channel, writing the join to the audit log first and
// not joining if it cannot, then reads the channel.
//
// Between syncs, Slack's events keep the records of the streams they
// concern fresh (events.go: ApplyEvent), each record saying which event
// wrote it; the next sync that reads such a record again compares Slack's
// answer with it and counts the records it corrects (reconcile.go), a
// figure that should stay at zero.
package sync
