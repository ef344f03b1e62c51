// Package provision provisions Slack users and groups from a directory file
// over Slack's SCIM v2 API: the engine of plan/apply (issue 15, item 2). It
// has no HTTP routes, no store and no queue: callers wire it to those.
//
// # Model
//
//	file ──Parse──▶ problems, or a Directory
//	Directory + State ──NewPlan──▶ problems, a *BrakeError, or a Plan
//	Plan + Progress ──Apply──▶ an Outcome per change, through a Client
//
// Parse reads a CSV file (a header row) or a JSON file (an array of
// objects) with the columns in Columns, and checks every row. A file with
// any problem yields only Problems, each with its row (CSV: the line the
// record starts on, the header being line 1; JSON: the element's 1-based
// index) and column: malformed rows, unknown or repeated columns, missing
// or repeated match keys (both rows named), invalid emails, booleans and
// values Slack would refuse.
//
// ReadState reads Slack's users and groups through a Client, once, at
// SCIM's largest page (count=1000). NewPlan compares the two and gives a
// Plan: creates, updates (attribute by attribute, old → new), reactivations,
// deactivations, group creates and group updates (members added and
// removed), skips with their reasons, and counts. Each change has a stable
// 1-based index and is the SCIM request that makes it (method, path, SCIM v2
// JSON body with its schemas; updates are PATCH operations of what changed
// only), so Apply replays exactly what was planned. A Plan is plain data:
// it serializes to JSON to be stored, and WriteText renders it as a diff
// for a terminal.
//
// Apply sends the changes through the Client and records each outcome
// (done, failed with Slack's status and error description, skipped) in a
// Progress the caller persists; a run resumes from it.
//
// # Decisions
//
// Empty cells. An empty cell (a missing or null JSON key) says nothing: the
// attribute stays as Slack has it. A file cannot clear an attribute; a
// spreadsheet's blank column must not wipe Slack's profiles. Two columns
// are whole-file statements instead: active (empty means true: a person the
// file lists is meant to be active), and groups (see Groups).
//
// Matching. The match key is the primary email or the userName, as
// PingFederate offers, compared without case. The other of the two must
// not belong to a different Slack user: the plan reports that as a
// conflict problem rather than send a request Slack would refuse with 409.
// A new person needs both. userName must be what Slack keeps (at most 21
// letters, digits, periods, underscores, hyphens), or matching by it could
// never find the account again.
//
// Emails. email is the primary; emails lists more (the first is the primary
// when email is empty). Slack keeps one secondary email, so a row with more
// is a problem. Emails and userName compare without case.
//
// Activity. Active in the file and deactivated in Slack is a reactivation
// (one PATCH with active:true and any attribute that changed). Inactive in
// the file and active in Slack is a deactivation (DELETE /Users/{id},
// which deactivates). A person who is or ends deactivated gets no attribute
// updates, and an inactive person missing from Slack is not created (a
// skip). With DeactivateMissing, active users the file does not list are
// deactivated. State.Protected names users never to deactivate (the
// primary owner, bots): SCIM does not say who they are, so the caller does;
// a deactivation Slack refuses with cannot_disable_primary_owner is
// recorded as skipped.
//
// Groups. Only groups the file names are touched, matched by name without
// case; a name Slack lacks is created with its members. Members are the
// people who end up active and list the group. Merge adds them; overwrite
// also removes every other member, so under overwrite an empty groups cell
// takes the person out of the file's groups. Groups are never deleted.
//
// Guests. guest_type "multi" (the only kind SCIM makes), guest_expiration
// and guest_channels. Slack does not show a guest's channels back, so they
// are sent when a person is created or converted, never compared. A guest
// cannot be turned back into a member from the file. Slack allows guest
// provisioning on Enterprise Grid only; elsewhere it answers 403, recorded as
// failed.
//
// The brake. A plan that deactivates more than BrakeShare (default 10%) of
// Slack's active users is refused with a *BrakeError naming both numbers,
// unless Force; Apply checks again.
//
// Ordering. Each change names the changes it needs: a group change waits
// for the creates (and reactivations) of the members it adds, whose IDs
// come from the create's answer (a "change:N" placeholder in the planned
// body; a member whose create failed is left out, and said so); a
// deactivation waits for the group changes that take that person out.
// Otherwise the kinds of request (POST /Users, PATCH /Users/{id},
// DELETE /Users/{id}, POST /Groups, PATCH /Groups/{id}) run side by side,
// a few workers each, since Slack limits each endpoint on its own.
// "Deactivations last" holds per person, not for the whole run: holding
// every deactivation behind every create would add their time to the
// creates' instead of overlapping it.
// ApplyOptions.Sequential sends one change at a time in plan order instead,
// a baseline.
//
// Idempotency. Apply records a change as started before it sends it and
// its final outcome after; done and skipped changes are never sent again,
// failed ones are on the next run. A create whose outcome is unknown
// (started when a run begins, or sent without an answer or with a 5xx) is
// looked up by its match key with a SCIM filter before it is sent again,
// and a create that Slack refuses with 409 counts as done when the user
// Slack has carries the planned userName and primary email (a group, its
// name: the planned members are then added). Updates, reactivations, group
// membership changes and deactivations set values and are safe to send
// again.
//
// Faults. The Client paces (connhub's waits for the budget); HTTPClient
// reports a 429's Retry-After as a *RateLimitError. Apply waits it out and
// sends again, a 5xx or a lost answer is sent again with jittered backoff,
// each within Retry's bounds; past them the run stops with a *StoppedError
// naming the change, the request and what Slack did, with the outcomes
// recorded so far intact.
//
// # Wiring
//
// Service (service.go) is the hub's side: plans kept in the store, runs as
// River jobs under a lease renewed while they work (a dead replica's runs
// are queued again by every replica's sweep), each outcome in the store and
// each change's start in the audit log, in one transaction, before it is
// sent. Its Client is scim.Caller, paced on the one stack.
//
// # Left to do
//
//   - Filling State.Protected from users.list (is_primary_owner, is_bot) and
//     the token's own user; today Slack's refusal of the primary owner's
//     deactivation is what protects it (recorded skipped).
//   - A group change adds all its members in one PATCH; Slack takes 15,000
//     members a group, but very large changes could be split.
//   - Clearing attributes from a file, converting guests to members, and
//     the enterprise and profile extensions are not offered.
//   - A retention setting for plans, which hold the file's personal data.
package provision
