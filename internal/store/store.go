package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/query"
	"github.com/connhub/connhub/internal/secrets"
)

// The errors every backend maps its driver's errors to. Wrap them; compare with
// errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrConflict      = errors.New("conflict: the row changed since it was read")
)

// Store is a connhub database.
type Store interface {
	Queries

	// InTx runs fn in one transaction: everything fn does through q commits
	// together, or, if fn returns an error or panics, not at all. Where the
	// backend is a SQL database, q is also a SQLTx: another library's writes
	// (the job queue's) can join the same transaction.
	InTx(ctx context.Context, fn func(q Queries) error) error

	// Migrate applies every pending schema migration. Replicas that start at
	// once migrate once: PostgreSQL serializes them with an advisory lock.
	Migrate(ctx context.Context) error
	// MigrationVersion is the schema version applied and the newest known.
	MigrationVersion(ctx context.Context) (applied, latest int64, err error)

	// CheckKeys proves the key ring opens what the database holds: on an
	// empty database it seals a canary with the newest key; afterwards it
	// opens it. A wrong or missing key stops start-up here, before anything is
	// read or overwritten.
	CheckKeys(ctx context.Context) error
	// Reseal opens every secret sealed with a key other than the key ring's
	// primary and seals it again with the primary, returning how many it
	// resealed. It works in batches and can run while replicas serve.
	Reseal(ctx context.Context) (int, error)
	// SealedKeyCounts counts the sealed secrets by the ID of the key that
	// sealed them, over every column Reseal covers, without opening any. A
	// key with no secret is absent from the map.
	SealedKeyCounts(ctx context.Context) (map[string]int, error)

	// PutReplica records a replica's heartbeat: creates or replaces the row
	// of r.ID with its keys and SeenAt.
	PutReplica(ctx context.Context, r Replica) error
	// ListReplicas lists the replicas seen at or after since, by ID.
	ListReplicas(ctx context.Context, since time.Time) ([]Replica, error)
	// DeleteReplicas removes the row of the replica id (a clean stop), and
	// every row last seen before seenBefore (replicas long gone); either may
	// be zero. It returns how many rows it removed.
	DeleteReplicas(ctx context.Context, id string, seenBefore time.Time) (int, error)
	// InstallationSecret returns the hub-wide secret called name, made with
	// generate and stored (sealed) the first time it is asked for, so that every
	// replica on one database gets the same value (e.g. the key that signs OAuth
	// state).
	InstallationSecret(ctx context.Context, name string, generate func() (secrets.Secret, error)) (secrets.Secret, error)

	// LeasePacerSlots hands out up to n of the next slots of the pacer lane
	// key, shared by every replica on the database: a slot is the right to
	// make one call. A lane counts its calls as Slack does, by when they
	// reach it: no slot goes before the lane's block (BlockPacerLane), nor
	// sooner than window after the budget-th latest arrival before it, an
	// arrival bounded by when the call's answer came (DonePacerSlots) or,
	// until that is reported, by its slot and lost. Slots are handed out
	// ascending, and none later than horizon from now. It returns each slot
	// as a time in milliseconds of the database's clock (the slot's name for
	// DonePacerSlots) and that clock when it leased, so that the caller waits
	// slot-now from when the answer came: never early, whatever the
	// replicas' clocks say. When no slot is free within the horizon it
	// returns none, and how long until the next one is: zero when that
	// depends on a call not yet reported (ask again soon). budget, n, window
	// and lost must be positive.
	LeasePacerSlots(ctx context.Context, key string, budget, n int, window, lost, horizon time.Duration) (slots []int64, now int64, next time.Duration, err error)
	// DonePacerSlots records what became of leased slots: when their
	// answers came, or that their calls were not made (the slot counts no
	// more). A slot no longer in its lane is ignored.
	DonePacerSlots(ctx context.Context, done []PacerDone) error
	// BlockPacerLane hands out no slot of lane key for d from now (Slack
	// said 429 with Retry-After d), unless it is blocked longer already.
	BlockPacerLane(ctx context.Context, key string, d time.Duration) error
	// DeleteIdlePacerLanes removes the lanes that constrain no slot any more
	// at the database's clock, returning how many.
	DeleteIdlePacerLanes(ctx context.Context) (int, error)

	// Backend names the backend: "sqlite" or "postgres".
	Backend() string
	Close() error
}

// MaxEventApps bounds the apps AppsForEvents returns, and so the signing
// secrets an unknown event is tried with.
const MaxEventApps = 100

// SlackEvent is an event of Slack's Events API as connhub received it.
type SlackEvent struct {
	ID           string
	OrgID        string
	AppID        string // the app whose signing secret verified it
	EventID      string // Slack's (Ev…), the same on every delivery of it
	Type         string // the inner event's type
	TeamID       string
	EnterpriseID string
	EventTime    time.Time
	ReceivedAt   time.Time
	Deliveries   int    // how many times Slack delivered it
	Body         []byte // Slack's envelope as it came, less its verification token
	Status       string // SlackEvent* below
	Error        string
	ProcessedAt  time.Time
	InstanceIDs  []string // the instances it belongs to, once processed
}

// Webhook is a subscription to the Slack events connhub received.
type Webhook struct {
	ID           string
	OrgID        string
	InstanceID   string // "": every instance of the organization
	URL          string
	Events       []string // event types, or "*"
	Format       string   // WebhookSlack or WebhookStandard
	Secret       secrets.Secret
	Status       string // WebhookActive or WebhookPaused
	StatusReason string
	FailingSince time.Time // the first failure of the current streak; zero: none
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
}

// Webhook formats and statuses.
const (
	WebhookSlack    = "slack"    // Slack's envelope, signed as Slack signs
	WebhookStandard = "standard" // the Standard Webhooks specification
	WebhookActive   = "active"
	WebhookPaused   = "paused"
)

// WebhookDelivery is one event's delivery to one webhook.
type WebhookDelivery struct {
	ID            string
	OrgID         string
	WebhookID     string
	EventID       string // the SlackEvent's ID (evt_…)
	EventType     string
	ReceivedAt    time.Time // the event's: deliveries go in this order
	Status        string    // DeliveryPending or DeliveryDelivered
	Attempts      int
	LastStatus    int // the subscriber's last HTTP status; 0: none
	LastError     string
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	CreatedAt     time.Time
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
)

// SlackEventOutcome is what processing made of a SlackEvent.
type SlackEventOutcome struct {
	OrgID       string
	ID          string
	ReceivedAt  time.Time
	Status      string
	Error       string
	InstanceIDs []string
}

// SlackEventFilter narrows ListSlackEvents and ScanSlackEvents. Zero fields
// do not filter.
type SlackEventFilter struct {
	InstanceIDs []string  // the events routed to any of these instances
	Types       []string  // the events of any of these types
	Since       time.Time // received at or after
	// Routed leaves out the events routed to no instance (unrouted, or
	// failed before they were routed).
	Routed bool
}

// SlackEventKey is an event's place in the order of receipt: by the time
// it was received (to the millisecond the store keeps), then by its ID.
type SlackEventKey struct {
	ReceivedAt time.Time
	ID         string
}

// Key is the event's place in the order of receipt.
func (e SlackEvent) Key() SlackEventKey { return SlackEventKey{ReceivedAt: e.ReceivedAt, ID: e.ID} }

// SlackEventScan asks ScanSlackEvents for a stretch of the order of
// receipt.
type SlackEventScan struct {
	SlackEventFilter
	// After and Before bound the stretch, and are left out of it, but for
	// After with AfterIncluded. A zero key (no ReceivedAt) leaves its end
	// open.
	After, Before SlackEventKey
	AfterIncluded bool
	// Newest lists newest first, back from Before.
	Newest bool
	Limit  int // at most MaxPage; zero: 100
}

// Statuses of a SlackEvent.
const (
	SlackEventReceived  = "received"  // kept and acknowledged; not processed yet
	SlackEventProcessed = "processed" // routed to its instances and applied
	SlackEventUnrouted  = "unrouted"  // no instance of the app has its workspace
	SlackEventFailed    = "failed"    // processing failed; Error says why
)

// PacerDone reports what became of a slot LeasePacerSlots handed out.
type PacerDone struct {
	Key    string
	Slot   int64         // as LeasePacerSlots gave it
	Ago    time.Duration // how long before DonePacerSlots was called the answer came
	Unused bool          // the call was not made
}

// Queries are the operations on entities, each in its own transaction unless
// run inside InTx.
type Queries interface {
	ProvisioningQueries

	CreateOrganization(ctx context.Context, o Organization) (Organization, error)
	GetOrganization(ctx context.Context, id string) (Organization, error)
	OrganizationBySecretHash(ctx context.Context, hash []byte) (Organization, error)
	ListOrganizations(ctx context.Context, page Page) ([]Organization, string, error)
	UpdateOrganization(ctx context.Context, id string, fn func(*Organization) error) (Organization, error)
	DeleteOrganization(ctx context.Context, id string) error

	CreateUser(ctx context.Context, u User) (User, error)
	GetUser(ctx context.Context, orgID, id string) (User, error)
	UserBySecretHash(ctx context.Context, orgID string, hash []byte) (User, error)
	ListUsers(ctx context.Context, orgID string, page Page) ([]User, string, error)
	UpdateUser(ctx context.Context, orgID, id string, fn func(*User) error) (User, error)
	DeleteUser(ctx context.Context, orgID, id string) error

	CreateAPICredential(ctx context.Context, c APICredential) (APICredential, error)
	GetAPICredential(ctx context.Context, orgID, id string) (APICredential, error)
	APICredentialByTokenHash(ctx context.Context, hash []byte) (APICredential, error)
	ListAPICredentials(ctx context.Context, orgID string, page Page) ([]APICredential, string, error)
	UpdateAPICredential(ctx context.Context, orgID, id string, fn func(*APICredential) error) (APICredential, error)
	DeleteAPICredential(ctx context.Context, orgID, id string) error

	CreateApp(ctx context.Context, a App) (App, error)
	GetApp(ctx context.Context, orgID, id string) (App, error)
	AppByClientID(ctx context.Context, orgID, clientID string) (App, error)
	ListApps(ctx context.Context, orgID string, page Page) ([]App, string, error)
	UpdateApp(ctx context.Context, orgID, id string, fn func(*App) error) (App, error)
	DeleteApp(ctx context.Context, orgID, id string) error
	// AppsForEvents lists the apps, of every organization, whose signing
	// secret may have signed an event of Slack's app slackAppID: the apps
	// known to be that Slack app, then those not yet known to be any; with
	// slackAppID empty (a url_verification names none), every app. At most
	// MaxEventApps.
	AppsForEvents(ctx context.Context, slackAppID string) ([]App, error)

	// PutSlackEvent keeps a received event, unless its app's event of that
	// event_id is kept already: then it counts the delivery, and returns the
	// kept one and false.
	PutSlackEvent(ctx context.Context, e SlackEvent) (SlackEvent, bool, error)
	GetSlackEvent(ctx context.Context, orgID, id string) (SlackEvent, error)
	// ListSlackEvents lists an organization's kept events in order of
	// receipt (their IDs are ordered so), each with the instances it was
	// routed to; the cursor is the last ID.
	ListSlackEvents(ctx context.Context, orgID string, f SlackEventFilter, page Page) ([]SlackEvent, string, error)
	// ScanSlackEvents lists an organization's kept events that s selects,
	// in order of receipt (received_at, then ID) or newest first, each
	// with the instances it was routed to.
	ScanSlackEvents(ctx context.Context, orgID string, s SlackEventScan) ([]SlackEvent, error)
	// FirstUnprocessedSlackEvent is the place of the organization's
	// earliest event not processed yet (status received); ErrNotFound
	// when there is none.
	FirstUnprocessedSlackEvent(ctx context.Context, orgID string) (SlackEventKey, error)
	// ReceivedSlackEvents lists the events, of every organization, received
	// before before and not processed yet, by ID after after.
	ReceivedSlackEvents(ctx context.Context, before time.Time, after string, limit int) ([]SlackEvent, error)
	// UnprocessedBefore says whether the organization has an event received
	// before the event id (received at receivedAt) that is not processed
	// yet: a delivery after it would overtake it.
	UnprocessedBefore(ctx context.Context, orgID string, receivedAt time.Time, id string) (bool, error)
	// FinishSlackEvents records what processing made of events, in one
	// transaction: each one's status and error, and the instances it
	// belongs to.
	FinishSlackEvents(ctx context.Context, done []SlackEventOutcome) error

	CreateWebhook(ctx context.Context, w Webhook) (Webhook, error)
	GetWebhook(ctx context.Context, orgID, id string) (Webhook, error)
	// ListWebhooks lists an organization's webhooks, by ID; with instanceID,
	// only that instance's.
	ListWebhooks(ctx context.Context, orgID, instanceID string, page Page) ([]Webhook, string, error)
	UpdateWebhook(ctx context.Context, orgID, id string, fn func(*Webhook) error) (Webhook, error)
	DeleteWebhook(ctx context.Context, orgID, id string) error
	// LeaseWebhookSender makes owner the one sender of the webhook's
	// deliveries until until, if nobody else is: it reports whether owner
	// holds the lease now.
	LeaseWebhookSender(ctx context.Context, orgID, id, owner string, until time.Time) (bool, error)
	// WebhooksDue lists the active webhooks, of every organization, with a
	// delivery due at now and no sender holding them: ones whose sender
	// died. At most limit, as [org ID, webhook ID].
	WebhooksDue(ctx context.Context, now time.Time, limit int) ([][2]string, error)
	// ReleaseWebhookSender ends owner's lease, if owner holds it.
	ReleaseWebhookSender(ctx context.Context, orgID, id, owner string) error
	// AddWebhookDeliveries records the deliveries to make; one of a webhook
	// and event recorded already is left as it is. It returns how many it
	// added.
	AddWebhookDeliveries(ctx context.Context, ds []WebhookDelivery) (int, error)
	// NextWebhookDelivery is the webhook's oldest pending delivery, in
	// order of the events' receipt: ErrNotFound when none is pending.
	NextWebhookDelivery(ctx context.Context, orgID, webhookID string) (WebhookDelivery, error)
	GetWebhookDelivery(ctx context.Context, orgID, webhookID, id string) (WebhookDelivery, error)
	// PutWebhookDelivery writes a delivery's progress: status, attempts,
	// last status and error, next attempt, delivered at.
	PutWebhookDelivery(ctx context.Context, d WebhookDelivery) error
	// ReplayWebhook makes pending again the webhook's deliveries of the
	// events received at or after since, and adds those of the processed
	// events it wants that it has none of (events received before it
	// existed), due now. It returns how many are pending for the replay.
	ReplayWebhook(ctx context.Context, w Webhook, since time.Time) (int, error)
	// ListWebhookDeliveries lists a webhook's deliveries, newest first.
	ListWebhookDeliveries(ctx context.Context, orgID, webhookID string, page Page) ([]WebhookDelivery, string, error)

	CreateInstance(ctx context.Context, in Instance) (Instance, error)
	GetInstance(ctx context.Context, orgID, id string) (Instance, error)
	InstanceByTokenHash(ctx context.Context, hash []byte) (Instance, error)
	ListInstances(ctx context.Context, orgID string, f InstanceFilter, page Page) ([]Instance, string, error)
	UpdateInstance(ctx context.Context, orgID, id string, fn func(*Instance) error) (Instance, error)
	DeleteInstance(ctx context.Context, orgID, id string) error
	// ExpiringInstances lists active instances, of every organization, with a
	// bot or user token that expires before t (and can be refreshed), soonest
	// first: the background refresher's work list.
	ExpiringInstances(ctx context.Context, before time.Time, limit int) ([]InstanceRef, error)

	CreateOAuthState(ctx context.Context, s OAuthState) (OAuthState, error)
	// ConsumeOAuthState marks a state used and returns it: ErrNotFound when
	// there is no such state, ErrConflict when it was used before. Expiry is
	// the caller's to judge from ExpiresAt (the state is spent either way).
	ConsumeOAuthState(ctx context.Context, id string, now time.Time) (OAuthState, error)
	// DeleteExpiredOAuthStates removes states that expired before t.
	DeleteExpiredOAuthStates(ctx context.Context, t time.Time) (int, error)
	// ExpiredInstalls lists pending instances, of every organization,
	// created before t that no OAuth state can complete any more: none of
	// their states, used or not, expires after t. Oldest first: the
	// sweeper's work list.
	ExpiredInstalls(ctx context.Context, t time.Time, limit int) ([]InstanceRef, error)

	CreateCredential(ctx context.Context, c Credential) (Credential, error)
	GetCredential(ctx context.Context, orgID, id string) (Credential, error)
	ListCredentials(ctx context.Context, orgID string, page Page) ([]Credential, string, error)
	UpdateCredential(ctx context.Context, orgID, id string, fn func(*Credential) error) (Credential, error)
	DeleteCredential(ctx context.Context, orgID, id string) error

	// CreateSyncRun inserts a run. An instance has at most one unfinished
	// run (queued, running or interrupted), and the database holds to it:
	// creating a second is ErrAlreadyExists, whichever of two concurrent
	// creates comes second, on every replica.
	CreateSyncRun(ctx context.Context, r SyncRun) (SyncRun, error)
	GetSyncRun(ctx context.Context, orgID, id string) (SyncRun, error)
	// ListSyncRuns lists one page of an instance's runs, newest first (by
	// ID: runs made in the same millisecond in no particular order).
	ListSyncRuns(ctx context.Context, orgID, instanceID string, page Page) ([]SyncRun, string, error)
	// UnfinishedSyncRun is the instance's run that is queued, running or
	// interrupted; ErrNotFound when it has none.
	UnfinishedSyncRun(ctx context.Context, orgID, instanceID string) (SyncRun, error)
	// UpdateSyncRun changes a run in an updater closure. Moving a run back
	// to an unfinished status while another run of its instance is
	// unfinished is ErrAlreadyExists, as for CreateSyncRun.
	UpdateSyncRun(ctx context.Context, orgID, id string, fn func(*SyncRun) error) (SyncRun, error)
	// ListUnfinishedSyncRuns lists runs queued, running or interrupted, of every
	// organization, oldest first: for the engine to find runs whose replica
	// died. after is the last ID of the previous page ("" for the first).
	ListUnfinishedSyncRuns(ctx context.Context, after string, limit int) ([]SyncRun, error)

	// PutSyncSchedule creates or replaces an instance's sync schedule.
	PutSyncSchedule(ctx context.Context, s SyncSchedule) (SyncSchedule, error)
	GetSyncSchedule(ctx context.Context, orgID, instanceID string) (SyncSchedule, error)
	UpdateSyncSchedule(ctx context.Context, orgID, instanceID string, fn func(*SyncSchedule) error) (SyncSchedule, error)
	DeleteSyncSchedule(ctx context.Context, orgID, instanceID string) error
	// ListDueSyncSchedules lists enabled schedules of every organization
	// whose next run is at or before t, soonest first.
	ListDueSyncSchedules(ctx context.Context, t time.Time, limit int) ([]SyncSchedule, error)

	// GetCheckpoint returns a stream's checkpoint, ErrNotFound before its first.
	GetCheckpoint(ctx context.Context, orgID, instanceID, stream string) (Checkpoint, error)
	// PutCheckpoint writes a checkpoint if its Version is the one stored (0
	// for a stream without one) and returns it with the next Version;
	// otherwise ErrConflict. Commit it in the same transaction as the page of
	// records it follows.
	PutCheckpoint(ctx context.Context, cp Checkpoint) (Checkpoint, error)

	// UpsertRecords writes a page of a stream's records on their natural keys:
	// a new key is inserted, a known one updated (and undeleted); either way
	// the record is marked seen now by runID (a sync run's ID, or the ID of
	// the Slack event that changed it). It reports how many were new.
	UpsertRecords(ctx context.Context, orgID, instanceID, stream, runID string, recs []Record) (inserted int, err error)
	// MarkRecordDeleted marks one live record deleted at at, seen so by
	// runID (the Slack event that said it is gone), and says whether there
	// was one to mark.
	MarkRecordDeleted(ctx context.Context, orgID, instanceID, stream, key, runID string, at time.Time) (bool, error)
	// MarkUnseen marks deleted the stream's live records that run runID did
	// not see (records that vanished between full syncs are marked, never
	// dropped). It returns how many it marked.
	MarkUnseen(ctx context.Context, orgID, instanceID, stream, runID string, at time.Time) (int, error)
	// MarkTeamDeleted marks deleted every live record of the workspace
	// teamID, of every stream of the instance: an Enterprise Grid org
	// install no longer reaches the workspace. It returns how many it marked.
	MarkTeamDeleted(ctx context.Context, orgID, instanceID, teamID string, at time.Time) (int, error)
	GetRecord(ctx context.Context, orgID, instanceID, stream, key string) (Record, error)
	ListRecords(ctx context.Context, orgID, instanceID, stream string, f RecordFilter, page Page) ([]Record, string, error)
	// QueryRecords returns one page of a stream's records that match
	// q.Where, in q.OrderBy's order, and the cursor of the next page ("" at
	// the end), with the semantics package query documents, the same on
	// every backend. Without OrderBy it pages by key and the cursor is the
	// last key, as ListRecords does; with OrderBy the cursor is opaque, and
	// one QueryRecords did not return for the same OrderBy is an error. An
	// Expr, order or cursor it cannot run is an error wrapping
	// query.ErrInvalid (a client's mistake, not the database's). Pages
	// are keyset pages either way, so a record written or deleted between
	// two pages makes no other record repeat or go missing (though a record
	// whose sort values change may be seen twice, or not at all).
	QueryRecords(ctx context.Context, orgID, instanceID, stream string, q RecordQuery) ([]Record, string, error)

	// AppendAudit appends an event to its organization's hash chain. Run it
	// in the transaction of what it records (InTx): then the event commits
	// with it or neither does.
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// ListAudit lists an organization's events that match f, newest first.
	ListAudit(ctx context.Context, orgID string, f AuditFilter, page Page) ([]AuditEvent, string, error)
	// VerifyAudit walks the organization's chain from its start and reports
	// the first event that does not hold.
	VerifyAudit(ctx context.Context, orgID string) (AuditVerification, error)

	// CreateConsoleSession stores a signed-in browser's session, known by
	// IDHash. ErrAlreadyExists when a session has the hash; ErrNotFound
	// when its organization, user, or API credential (of that user) does
	// not exist. A zero CreatedAt is the store's now.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) (ConsoleSession, error)
	// GetConsoleSession returns the session with the hash, with
	// FlashWaiting set, if it expires after now; ErrNotFound otherwise (an
	// expired session is refused even before a sweep deletes it).
	GetConsoleSession(ctx context.Context, idHash []byte, now time.Time) (ConsoleSession, error)
	// SetConsoleFlash leaves a message for the session's next page,
	// replacing one that waits; ErrNotFound when there is no such session.
	SetConsoleFlash(ctx context.Context, idHash []byte, f ConsoleFlash) error
	// TakeConsoleFlash returns the waiting message and clears it, in one
	// step: of two requests that take it at once, one gets it and the other
	// nil. nil when none waits or there is no such session.
	TakeConsoleFlash(ctx context.Context, idHash []byte) (*ConsoleFlash, error)
	// DeleteConsoleSession removes the session (a sign-out); removing one
	// that does not exist is no error.
	DeleteConsoleSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredConsoleSessions removes up to limit sessions, of every
	// organization, that expired at or before now, and says how many.
	DeleteExpiredConsoleSessions(ctx context.Context, now time.Time, limit int) (int, error)
}

// SQLTx is what the Queries InTx hands its fn also are on a SQL backend:
// the transaction they run in, so that writes made beside the store's (a
// River job inserted with InsertTx) commit or roll back with them. Do not
// commit or roll it back: InTx does.
type SQLTx interface {
	SQLTx() *sql.Tx
}

// Page asks for one page of a list: up to Limit rows (1 to 1000; 0 means 100)
// after the cursor of the previous page. Lists answer with the cursor of the
// next page, "" at the end.
type Page struct {
	After string
	Limit int
}

// MaxPage is the largest page a list returns.
const MaxPage = 1000

// Size is the page size asked for, with the default and the cap applied.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > MaxPage:
		return MaxPage
	}
	return p.Limit
}

// Replica is one running connhub serve, as its last heartbeat told: the
// encryption keys it holds, in key-file order, and the one it seals with.
type Replica struct {
	ID         string
	KeyIDs     []string
	PrimaryKey string
	SeenAt     time.Time
}

// Organization is a tenant: every other entity belongs to one.
type Organization struct {
	ID   string
	Name string
	// SecretHash is the hash of the organization secret, the "Organization"
	// part of the Open Connectors Authorization header; requests are
	// authenticated by it. Secret is the same value, sealed, so that an admin
	// can hand it to an integration tool.
	SecretHash []byte
	Secret     secrets.Secret
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// Roles of a user within an organization.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	// RoleService is a service identity, not a person: made for one named
	// credential and bound to its instance (User.InstanceID). It can do
	// what an instance token of that instance can, and nothing more.
	RoleService = "service"
)

// User is a person or service account of an organization.
type User struct {
	ID    string
	OrgID string
	Email string
	Name  string
	Role  string // RoleAdmin, RoleMember or RoleService
	// InstanceID binds a service identity (RoleService) to its instance;
	// empty for people. Deleting the instance deletes the identity.
	InstanceID string
	// Operator may manage the hub's organizations (POST /v1/orgs): the
	// first admin of the first organization, by default.
	Operator bool
	// SecretHash is the hash of the user secret, the "User" part of the Open
	// Connectors Authorization header; Secret is the same value, sealed.
	SecretHash []byte
	Secret     secrets.Secret
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// APICredential is a bearer API token of a user, stored as its hash.
type APICredential struct {
	ID        string
	OrgID     string
	UserID    string
	Name      string
	TokenHash []byte
	Hint      string // the token's first characters, to tell tokens apart
	// Scopes narrow what the token may do (internal/authz lists them);
	// empty: whatever its user's role may.
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: live
	Version    int64
}

// App is a Slack app registration: what a Slack admin creates at api.slack.com/apps.
type App struct {
	ID            string
	OrgID         string
	Name          string
	ClientID      string
	ClientSecret  secrets.Secret
	SigningSecret secrets.Secret
	BotScopes     []string
	UserScopes    []string
	RedirectURL   string
	// SlackAppID is Slack's ID of the app (A…), learned from its first
	// install or its first verified event; empty until then.
	SlackAppID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// Instance statuses; internal/instance documents the transitions.
const (
	StatusPending     = "pending"      // created, waiting for the OAuth install
	StatusActive      = "active"       // authenticated
	StatusNeedsReauth = "needs_reauth" // Slack stopped taking its tokens (a failed refresh, a dead token): re-authenticate
	StatusRevoked     = "revoked"      // its tokens were revoked at Slack
	StatusFailed      = "failed"       // the install failed; StatusReason says why
	StatusExpired     = "expired"      // nobody consented before the authorize URL expired: re-authenticate for a new one
	// StatusNeedsWorkspaces is an Enterprise Grid org-wide install that no
	// workspace is granted to yet: nothing to sync or call until an org
	// admin adds the app to one.
	StatusNeedsWorkspaces = "needs_workspaces"
)

// NoWorkspacesReason is the StatusReason of an org-wide install that no
// workspace is granted to (StatusNeedsWorkspaces).
const NoWorkspacesReason = "no_workspaces: the app is installed on the Enterprise Grid org, but no workspace is granted to it yet: " +
	"an org admin adds it to workspaces (the admin dashboard: Integrations → Installed apps → the app → Add to more workspaces); " +
	"then ping the instance, and it is active"

// Instance auth methods: how its tokens came to connhub.
const (
	AuthOAuth        = "oauth2"        // installed through Slack's consent page
	AuthToken        = "token"         // an existing token pasted in, checked with auth.test
	AuthRefreshToken = "refresh_token" // client ID, secret and refresh token imported, checked by refreshing
)

// Instance is an authenticated connection to one Slack workspace or org: a
// connector instance with its own ID and instance token.
type Instance struct {
	ID           string
	OrgID        string
	Connector    string // "slack"
	AppID        string
	Name         string
	Tags         []string
	Status       string
	StatusReason string
	// LastAuthError is why the last install or re-authentication failed
	// ("access_denied: …"); empty after one succeeds.
	LastAuthError string
	Edition       string

	TeamID       string
	TeamName     string
	EnterpriseID string
	OrgWide      bool // an Enterprise Grid org-wide install
	BotUserID    string
	AuthedUserID string
	BotScopes    []string // granted
	UserScopes   []string // granted

	BotToken           secrets.Secret
	BotRefreshToken    secrets.Secret
	BotTokenExpiresAt  time.Time // zero: does not expire
	UserToken          secrets.Secret
	UserRefreshToken   secrets.Secret
	UserTokenExpiresAt time.Time
	TokenVersion       int64 // bumped by every change of tokens
	// InstanceTokenHash authenticates requests for the instance;
	// InstanceToken is the same value, sealed, for "View Token".
	InstanceTokenHash []byte
	InstanceToken     secrets.Secret
	InstanceTokenHint string
	AuthMethod        string         // AuthOAuth, AuthToken or AuthRefreshToken
	Settings          map[string]any // the instance's own settings, changed without re-authenticating
	Teams             []string       // an org-wide install: the workspaces it is granted
	// RefreshLeaseOwner holds the right to refresh the tokens until
	// RefreshLeaseUntil, so that one replica refreshes while others wait.
	RefreshLeaseOwner string
	RefreshLeaseUntil time.Time
	LastPingAt        time.Time
	LastPingOK        bool
	// AllowUserToken lets proxied calls use the installing user's token
	// (X-Connhub-Token: user). Off for new instances, on for those whose
	// only token is a user token.
	AllowUserToken bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int64
}

// InstanceRef names an instance of some organization.
type InstanceRef struct{ OrgID, ID string }

// InstanceFilter narrows ListInstances. Zero fields do not filter.
type InstanceFilter struct {
	Connector string
	Status    string
	Tag       string
}

// ConsoleSession is a browser signed in to the web console. Its ID is a
// bearer secret only the browser's cookie holds: the store keeps IDHash, its
// SHA-256 (secrets.HashToken), and nothing derived from it otherwise. It
// remembers what signed in, never the credential itself: the API credential's
// ID, or the hashes of the Open Connectors secrets. Deleting the
// organization, the user or the API credential deletes the session.
type ConsoleSession struct {
	IDHash       []byte
	OrgID        string
	UserID       string
	CredentialID string // signed in with an API token of UserID; "" otherwise
	// Signed in with the User and Organization secrets: their hashes then.
	UserSecretHash []byte
	OrgSecretHash  []byte
	CreatedAt      time.Time
	ExpiresAt      time.Time
	// FlashWaiting says a message waits for TakeConsoleFlash; set by
	// GetConsoleSession, ignored by CreateConsoleSession.
	FlashWaiting bool
}

// ConsoleFlash is a message carried to a console session's next page.
type ConsoleFlash struct {
	OK      bool
	Message string
}

// OAuthState is one OAuth install in flight: single use, expiring.
type OAuthState struct {
	ID           string // the state's nonce, carried (signed) in the state parameter
	OrgID        string
	InstanceID   string
	CodeVerifier secrets.Secret // PKCE
	RedirectURL  string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       time.Time // zero: not used
}

// Credential is named security material handed to an integration tool, such as
// the Open Connectors Authorization header of an instance ("User Credentials"
// in SAP Cloud Integration).
type Credential struct {
	ID         string
	OrgID      string
	Name       string
	Kind       string
	InstanceID string // the instance it authenticates, if any
	// UserID is the credential's own service identity (RoleService), whose
	// secret or API token the value carries: never a person's.
	UserID      string
	Description string
	Value       secrets.Secret
	Hint        string // what may be shown of Value
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

// Sync run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCanceled  = "canceled"
	// RunInterrupted is a run its replica gave back when it shut down
	// cleanly: unfinished, it is resumed from its checkpoints by the next
	// replica that sweeps (at its start, or within SweepEvery).
	RunInterrupted = "interrupted"
)

// SyncRun is one sync of an instance's streams.
type SyncRun struct {
	ID         string
	OrgID      string
	InstanceID string
	Status     string
	Trigger    string // "manual", "schedule", "event"…
	Streams    []string
	Stats      map[string]int64 // counters by name, e.g. "users.records"
	Error      string
	// Options and Progress are the sync engine's, opaque to the store: how
	// the run was asked for, and where each of its streams got to.
	Options  json.RawMessage
	Progress json.RawMessage
	// LeaseOwner works the run until LeaseUntil, and renews the lease while
	// it does; a run whose lease lapsed is another replica's to resume.
	LeaseOwner string
	LeaseUntil time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// SyncSchedule runs a sync of an instance every Interval.
type SyncSchedule struct {
	OrgID      string
	InstanceID string
	Interval   time.Duration // whole seconds
	Streams    []string      // empty: the default streams
	Options    json.RawMessage
	Enabled    bool
	NextRunAt  time.Time
	LastRunID  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64
}

// Checkpoint is where a stream's sync got to: its cursor, opaque to the store.
type Checkpoint struct {
	OrgID      string
	InstanceID string
	Stream     string
	RunID      string
	Cursor     json.RawMessage
	UpdatedAt  time.Time
	Version    int64
}

// Record is one synced object of a stream, on its natural key.
type Record struct {
	OrgID           string
	InstanceID      string
	Stream          string
	Key             string          // the natural key: a user ID, "C123/1699999999.000100"…
	TeamID          string          // the workspace, on Enterprise Grid fan-outs
	Data            json.RawMessage // the object as Slack sent it, or as connhub derived it
	SourceUpdatedAt time.Time       // the object's own "updated", when it has one
	FirstSeenAt     time.Time
	LastSeenAt      time.Time
	// SeenRunID is what wrote it last: a sync run, or a Slack event
	// (SlackEventIDPrefix) that kept it fresh between syncs.
	SeenRunID string
	DeletedAt time.Time // zero: live; set when the object vanished or was deactivated
}

// SlackEventIDPrefix begins the ID of every SlackEvent, and so the
// SeenRunID of a record an event wrote.
const SlackEventIDPrefix = "evt_"

// WrittenByEvent says whether a Slack event, not a sync run, wrote the
// record last.
func (r Record) WrittenByEvent() bool { return strings.HasPrefix(r.SeenRunID, SlackEventIDPrefix) }

// RecordFilter narrows ListRecords.
type RecordFilter struct {
	TeamID         string
	IncludeDeleted bool
	UpdatedSince   time.Time // LastSeenAt at or after
	KeyPrefix      string    // keys that begin with it: "C1/" for a channel's pages
	// WrittenByEvents keeps the records a Slack event wrote last.
	WrittenByEvents bool
	// WithoutData leaves Data out (JSON null): for a reader of keys and
	// times only, so that the store does not read and copy the records.
	WithoutData bool
}

// RecordQuery asks QueryRecords for one page of a stream's records.
type RecordQuery struct {
	Where          query.Expr    // nil: every record
	OrderBy        []query.Order // empty: by key
	TeamID         string        // "": every workspace
	IncludeDeleted bool
	Page           Page // After: the cursor the previous page returned
}

// AuditEvent is one thing that happened, for the audit log. Details must not
// hold secrets.
type AuditEvent struct {
	ID    string
	OrgID string
	// ActorKind is what acted: "user", "service" (a credential's identity),
	// "instance" (an instance token), "system" or "anonymous".
	ActorKind    string
	ActorID      string // a user or instance ID, or "system"
	CredentialID string // the API token (key_…) or "instance_token", "open_connectors", "console_session"
	SourceIP     string
	Action       string // e.g. "instance.create"
	TargetType   string
	TargetID     string
	Outcome      string // "success" (default), "denied" or "failure"
	RequestID    string
	Details      map[string]any
	At           time.Time
	// Seq numbers the organization's events from 1; Hash chains each to the
	// one before (PrevHash), so that a changed or missing row shows. The
	// store sets all three when it appends.
	Seq      int64
	PrevHash []byte
	Hash     []byte
}

// AuditFilter narrows ListAudit. Zero fields do not filter.
type AuditFilter struct {
	ActorID  string
	Action   string // an action, or a prefix ending in "." ("instance.")
	TargetID string
	Since    time.Time // at or after
	Until    time.Time // before
}

// AuditVerification is what VerifyAudit found.
type AuditVerification struct {
	Events    int64  // events checked
	Unchained int64  // events older than the chain (written before it began)
	Head      []byte // the hash of the newest event
	// BrokenAt is the Seq of the first event whose hash or link does not
	// hold, or where an event is missing; zero when the chain holds.
	BrokenAt int64
	Reason   string
}

// NewID makes a random, time-ordered ID with a prefix: "ins_" and 26
// characters of Crockford base32 whose first 10 encode the creation
// millisecond and whose last 16 are 80 random bits, fresh for every ID. IDs
// sort by creation millisecond (and keyset pages follow it); IDs made in the
// same millisecond sort in no particular order. An ID tells nothing about
// another: one handed out (an instance's, a sync run's) does not give away
// the next. Where order within a millisecond matters, keep a sequence of
// its own beside the ID (a column the database counts up).
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic("store: crypto/rand: " + err.Error())
	}
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return prefix + "_" + string(out[:])
}

// NewSecretID makes an ID that is itself a bearer secret, such as an OAuth
// state's: the prefix, "_", and 256 random bits in unpadded base64url (43
// characters, never a "."). Nothing in it is derived from time or from any
// other ID.
func NewSecretID(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("store: crypto/rand: " + err.Error())
	}
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b[:])
}
