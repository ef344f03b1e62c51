package connhub

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The shapes below mirror the hub's JSON (internal/httpapi's views); fields
// the hub adds later are ignored by older clients.

// Instance statuses. An instance is pending until a person consents at
// Slack, then active; it may later need re-authentication, be revoked at
// Slack, or fail to install.
const (
	StatusPending     = "pending"
	StatusActive      = "active"
	StatusNeedsReauth = "needs_reauth"
	// StatusNeedsWorkspaces: an Enterprise Grid org install that no
	// workspace is granted to yet; StatusReason says how to grant one.
	StatusNeedsWorkspaces = "needs_workspaces"
	StatusRevoked         = "revoked"
	StatusFailed          = "failed"
	// StatusExpired: the install was pending until its authorize URL
	// expired; re-authenticate for a new URL.
	StatusExpired = "expired"
)

// The ways an instance authenticates (CreateInstanceInput.AuthMethod).
const (
	AuthOAuth2       = "oauth2"        // install through Slack's consent page
	AuthToken        = "token"         // an existing bot (xoxb) or user (xoxp) token
	AuthRefreshToken = "refresh_token" // an app's client ID and secret and a refresh token
)

// Kinds of named credentials.
const (
	KindOpenConnectors = "open_connectors" // "User …, Organization …, Element …"
	KindBearer         = "bearer"          // "Bearer <instance token>"
)

// Me says whom the client's credentials belong to.
type Me struct {
	Organization struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"organization"`
	User *struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
		Role  string `json:"role"`
	} `json:"user,omitempty"`
	InstanceID string `json:"instance_id,omitempty"` // the instance an instance token or Element selected
	Via        string `json:"via"`                   // api_token, instance_token or open_connectors
}

// Connector is an entry of the hub's connector catalog.
type Connector struct {
	Key         string       `json:"key"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Editions    []Edition    `json:"editions"`
	AuthMethods []AuthMethod `json:"auth_methods"`
	Features    []Feature    `json:"features"`
}

// Edition is a plan of the connector's service and the scopes an install on
// it asks for.
type Edition struct {
	Key        string   `json:"key"`
	Name       string   `json:"name"`
	Plan       string   `json:"plan"`
	OrgInstall bool     `json:"org_install"`
	BotScopes  []string `json:"bot_scopes"`
	UserScopes []string `json:"user_scopes"`
}

// AuthMethod is a way to make an instance.
type AuthMethod struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Feature is something the hub does with a connector, and the scopes it needs.
type Feature struct {
	Key        string   `json:"key"`
	Name       string   `json:"name"`
	BotScopes  []string `json:"bot_scopes"`
	UserScopes []string `json:"user_scopes"`
	Editions   []string `json:"editions"`
	Requires   string   `json:"requires,omitempty"` // what else it needs: who must install, and how
}

// App is a registered Slack app, without its secrets.
type App struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	ClientID         string    `json:"client_id"`
	HasClientSecret  bool      `json:"has_client_secret"`
	HasSigningSecret bool      `json:"has_signing_secret"`
	BotScopes        []string  `json:"bot_scopes"`
	UserScopes       []string  `json:"user_scopes"`
	RedirectURL      string    `json:"redirect_url"` // add it to the app's Redirect URLs at api.slack.com/apps
	CreatedAt        time.Time `json:"created_at"`
}

// Instance is a connector instance. It never carries a Slack token.
type Instance struct {
	ID                 string         `json:"id"`
	Connector          string         `json:"connector"`
	Name               string         `json:"name"`
	Tags               []string       `json:"tags"`
	Status             string         `json:"status"`
	StatusReason       string         `json:"status_reason,omitempty"`
	LastAuthError      string         `json:"last_auth_error,omitempty"`
	Edition            string         `json:"edition"`
	AuthMethod         string         `json:"auth_method"`
	AppID              string         `json:"app_id,omitempty"`
	TeamID             string         `json:"team_id,omitempty"`
	TeamName           string         `json:"team_name,omitempty"`
	EnterpriseID       string         `json:"enterprise_id,omitempty"`
	OrgWide            bool           `json:"org_wide"`
	Teams              []string       `json:"teams,omitempty"`
	BotUserID          string         `json:"bot_user_id,omitempty"`
	AuthedUserID       string         `json:"authed_user_id,omitempty"`
	BotScopes          []string       `json:"bot_scopes"`
	UserScopes         []string       `json:"user_scopes"`
	HasBotToken        bool           `json:"has_bot_token"`
	HasUserToken       bool           `json:"has_user_token"`
	BotTokenExpiresAt  *time.Time     `json:"bot_token_expires_at,omitempty"`
	UserTokenExpiresAt *time.Time     `json:"user_token_expires_at,omitempty"`
	InstanceTokenHint  string         `json:"instance_token_hint"`
	Settings           map[string]any `json:"settings"`
	LastPingAt         *time.Time     `json:"last_ping_at,omitempty"`
	LastPingOK         bool           `json:"last_ping_ok"`
	AllowUserToken     bool           `json:"allow_user_token"` // proxied calls may use the installing user's token
	CreatedAt          time.Time      `json:"created_at"`
	UpdatedAt          time.Time      `json:"updated_at"`
	Version            int64          `json:"version"`
}

// CreatedInstance is a new instance with what its creator needs: the
// instance token, shown this once, and for an OAuth install the URL where a
// person consents at Slack.
type CreatedInstance struct {
	Instance
	InstanceToken         string     `json:"instance_token"`
	AuthorizeURL          string     `json:"authorize_url,omitempty"`
	AuthorizeURLExpiresAt *time.Time `json:"authorize_url_expires_at,omitempty"`
}

// Reauthentication is a new install started for an existing instance.
type Reauthentication struct {
	Instance              Instance  `json:"instance"`
	AuthorizeURL          string    `json:"authorize_url"`
	AuthorizeURLExpiresAt time.Time `json:"authorize_url_expires_at"`
}

// PingResult is what Slack's auth.test said of an instance's token.
type PingResult struct {
	OK                bool       `json:"ok"`
	Team              string     `json:"team"`
	TeamID            string     `json:"team_id"`
	EnterpriseID      string     `json:"enterprise_id,omitempty"`
	User              string     `json:"user"`
	UserID            string     `json:"user_id"`
	BotID             string     `json:"bot_id,omitempty"`
	URL               string     `json:"url"`
	TokenKind         string     `json:"token_kind"` // bot or user
	Scopes            []string   `json:"scopes"`
	TokenExpiresAt    *time.Time `json:"token_expires_at,omitempty"`
	MissingBotScopes  []string   `json:"missing_bot_scopes"` // needed by the edition, not granted
	MissingUserScopes []string   `json:"missing_user_scopes"`
	SCIM              SCIMStatus `json:"scim"`
	LatencyMS         int64      `json:"latency_ms"`
}

// SCIMStatus says whether an instance can provision over SCIM, and if not
// why (Code) and how to fix it (Message).
type SCIMStatus struct {
	Ready   bool   `json:"ready"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// InstanceCredentials is the instance's ready Authorization header. The
// Open Connectors form is a named credential's (CreateCredential).
type InstanceCredentials struct {
	Bearer string `json:"bearer"` // Bearer <instance token>
	// SCIM is what an identity provider's provisioning connection takes:
	// the base URL's path on the hub (/scim/v2) and its bearer token.
	SCIM struct {
		SCIMStatus
		Path  string `json:"path"`
		Token string `json:"token"`
	} `json:"scim"`
}

// Credential is a named credential. Value is set only in the answers that
// show it: CreateCredential and RotateCredential (once), RevealCredential.
type Credential struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	InstanceID  string    `json:"instance_id,omitempty"`
	Description string    `json:"description,omitempty"`
	Hint        string    `json:"hint"`               // the first characters of each secret in the value
	Outdated    bool      `json:"outdated,omitempty"` // made before credentials had identities of their own: rotate it
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Value       string    `json:"value,omitempty"`
}

// AuditEvent is one event of the audit log.
type AuditEvent struct {
	ID           string         `json:"id"`
	Seq          int64          `json:"seq"`
	At           time.Time      `json:"at"`
	ActorKind    string         `json:"actor_kind"`
	ActorID      string         `json:"actor_id"`
	CredentialID string         `json:"credential_id"`
	SourceIP     string         `json:"source_ip,omitempty"`
	RequestID    string         `json:"request_id,omitempty"`
	Action       string         `json:"action"`
	TargetType   string         `json:"target_type,omitempty"`
	TargetID     string         `json:"target_id,omitempty"`
	Outcome      string         `json:"outcome"`
	Details      map[string]any `json:"details,omitempty"`
	Hash         string         `json:"hash"`
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"next_cursor"`
}

// AuditFilter narrows ListAudit; zero fields do not filter.
type AuditFilter struct {
	Actor  string    // a user's or instance's ID
	Action string    // an action, or a prefix ending in a dot ("credential.")
	Target string    // a target's ID
	Since  time.Time // at or after
	Until  time.Time // before
}

// AuditVerification is what VerifyAudit found.
type AuditVerification struct {
	OK        bool   `json:"ok"`
	Events    int64  `json:"events"`
	Unchained int64  `json:"unchained"`
	Head      string `json:"head,omitempty"`
	BrokenAt  int64  `json:"broken_at,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Sync run statuses. A run is queued until a worker of the hub takes it,
// then running; it ends succeeded, failed or canceled. A failed or canceled
// run can be resumed: queued again under the same ID. Between, a run is
// stalled while it is running but the replica working it stopped renewing
// its lease (it died; a replica's sweeper resumes the run), and
// interrupted when the hub stopped while it ran (it resumes by itself when
// a hub starts again): neither has ended.
const (
	RunQueued      = "queued"
	RunRunning     = "running"
	RunStalled     = "stalled"
	RunInterrupted = "interrupted"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunCanceled    = "canceled"
)

// The states of a stream within a run. A stream the instance cannot run (a
// scope not granted, a plan without the method) is skipped, with its reason.
const (
	StreamPending = "pending"
	StreamRunning = "running"
	StreamDone    = "done"
	StreamSkipped = "skipped"
	StreamFailed  = "failed"
)

// StreamInfo describes a stream of workspace data that a sync retrieves.
type StreamInfo struct {
	Name    string   `json:"name"`
	Method  string   `json:"method,omitempty"` // the Slack method that fetches it; "" for a derived stream
	Token   string   `json:"token,omitempty"`  // which of the instance's tokens calls it: bot or user
	Scopes  []string `json:"scopes,omitempty"` // scopes it needs
	Plans   []string `json:"plans,omitempty"`  // plans it is available on; empty: every plan
	Walk    string   `json:"walk"`             // full, incremental or derived
	Parent  string   `json:"parent,omitempty"` // the stream it fans out over: a call per record of it
	Events  []string `json:"events,omitempty"` // Events API types that keep its records fresh between syncs
	Inputs  []string `json:"inputs,omitempty"` // the streams a derived stream is computed from
	Default bool     `json:"default"`          // whether a sync runs it unless told otherwise
	Key     string   `json:"key"`              // what the records' key is
	Fields  []string `json:"fields"`           // the records' top-level fields, for where, fields and order by
	Doc     string   `json:"doc"`
}

// SyncOptions are how a run was asked for.
type SyncOptions struct {
	Full          bool `json:"full,omitempty"`           // incremental streams walked from the start of their window again
	AnalyticsDays int  `json:"analytics_days,omitempty"` // days of member analytics a first sync fetches (hub's default 1)
	ThreadDays    int  `json:"thread_days,omitempty"`    // how far back messages look again for threads that moved (hub's default 1)
	// JoinPublicChannels: the bot joined the public channels whose history
	// Slack refused it, to read them.
	JoinPublicChannels bool `json:"join_public_channels,omitempty"`
}

// SyncRun is a sync of some streams of one instance, with where each stream
// got to.
type SyncRun struct {
	ID         string                    `json:"id"`
	InstanceID string                    `json:"instance_id"`
	Status     string                    `json:"status"`  // one of the Run constants
	Trigger    string                    `json:"trigger"` // manual or schedule
	Streams    []string                  `json:"streams"` // in the order the hub starts them
	Options    SyncOptions               `json:"options"`
	Progress   map[string]StreamProgress `json:"progress"` // every stream of the run
	Error      string                    `json:"error,omitempty"`
	CreatedAt  time.Time                 `json:"created_at"`
	StartedAt  *time.Time                `json:"started_at,omitempty"`
	FinishedAt *time.Time                `json:"finished_at,omitempty"`
	UpdatedAt  time.Time                 `json:"updated_at"`
}

// Finished reports whether the run has ended: succeeded, failed or canceled.
func (r SyncRun) Finished() bool {
	return r.Status == RunSucceeded || r.Status == RunFailed || r.Status == RunCanceled
}

// StreamProgress is where a stream of a run got to.
type StreamProgress struct {
	State    string `json:"state"`            // one of the Stream constants
	Reason   string `json:"reason,omitempty"` // why it was skipped
	Error    string `json:"error,omitempty"`  // why it failed
	Records  int64  `json:"records"`          // written (inserted or updated)
	Inserted int64  `json:"inserted"`         // of which new
	Deleted  int64  `json:"deleted"`          // marked deleted at the end of a full walk
	Calls    int64  `json:"calls"`            // calls to Slack
	// FewestCalls is the fewest calls the data read needed (each list's
	// items over Slack's largest page): Calls above it are worth a look.
	FewestCalls int64   `json:"fewest_calls"`
	Retries     int64   `json:"retries"`
	WaitedMS    int64   `json:"waited_ms"`        // the stream's time waiting for Slack's rate limits (parallel waits count once)
	Parents     int64   `json:"parents"`          // fan-out: parents done
	Skipped     int64   `json:"skipped"`          // fan-out: parents Slack would not answer for
	Issues      []Issue `json:"issues,omitempty"` // fan-out: why Slack passed parents over, with what to do
	Joined      int64   `json:"joined,omitempty"` // public channels the bot joined to read them
	// WaitingSince is set while the stream waits for Slack's rate budget or
	// out a Retry-After: since when (WaitedMS counts the wait so far).
	WaitingSince *time.Time `json:"waiting_since,omitempty"`
	// Estimate is how many records the stream is expected to hold (what the
	// last run wrote; 0 when unknown), and ParentsTotal how many parents a
	// fan-out walks.
	Estimate     int64      `json:"estimate,omitempty"`
	ParentsTotal int64      `json:"parents_total,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
}

// Issue is what made Slack pass over parents (channels) of a stream that
// fans out over them.
type Issue struct {
	Error string `json:"error"` // Slack's error code, e.g. not_in_channel
	Count int64  `json:"count"` // how many parents Slack answered it for
	Hint  string `json:"hint"`  // what it means, and what to do
}

// Waited is how long the stream waited for Slack's rate limits.
func (p StreamProgress) Waited() time.Duration { return time.Duration(p.WaitedMS) * time.Millisecond }

// Schedule runs a sync of an instance every interval.
type Schedule struct {
	InstanceID string      `json:"instance_id"`
	Every      string      `json:"every"`   // a Go duration: "24h0m0s"
	Streams    []string    `json:"streams"` // empty: the default streams of the day a run starts
	Options    SyncOptions `json:"options"`
	Enabled    bool        `json:"enabled"`
	NextRunAt  *time.Time  `json:"next_run_at,omitempty"`
	LastRunID  string      `json:"last_run_id,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// Interval is Every as a duration (0 if the hub sent what is not one).
func (s Schedule) Interval() time.Duration {
	d, _ := time.ParseDuration(s.Every)
	return d
}

// Record is one synced object of a stream, on its natural key. Data is the
// object as Slack sent it or as the hub derived it, with only the fields
// asked for; Decode reads it into a value.
type Record struct {
	Key             string          `json:"key"`
	TeamID          string          `json:"team_id,omitempty"`
	Data            json.RawMessage `json:"data"`
	SourceUpdatedAt *time.Time      `json:"source_updated_at,omitempty"`
	FirstSeenAt     time.Time       `json:"first_seen_at"`
	LastSeenAt      time.Time       `json:"last_seen_at"`
	DeletedAt       *time.Time      `json:"deleted_at,omitempty"` // set when the object vanished or was deactivated
}

// Decode unmarshals the record's data into v.
func (r Record) Decode(v any) error { return json.Unmarshal(r.Data, v) }

// RecordPage is one page of a stream's records.
type RecordPage struct {
	Stream     string   `json:"stream"`
	Records    []Record `json:"records"`
	NextCursor string   `json:"next_cursor"` // "" on the last page
}

// ---- inputs ----

// CreateAppInput registers a Slack app: the values on its Basic Information
// page at api.slack.com/apps. Printing it shows no secret.
type CreateAppInput struct {
	Name          string   `json:"name,omitempty"`
	ClientID      string   `json:"client_id"`
	ClientSecret  string   `json:"client_secret"`
	SigningSecret string   `json:"signing_secret,omitempty"`
	BotScopes     []string `json:"bot_scopes,omitempty"`
	UserScopes    []string `json:"user_scopes,omitempty"`
}

func (in CreateAppInput) String() string {
	return fmt.Sprintf("{Name:%q ClientID:%q ClientSecret:%s SigningSecret:%s BotScopes:%v UserScopes:%v}",
		in.Name, in.ClientID, redact(in.ClientSecret), redact(in.SigningSecret), in.BotScopes, in.UserScopes)
}

// GoString keeps %#v from showing the secrets.
func (in CreateAppInput) GoString() string { return "connhub.CreateAppInput" + in.String() }

// AppUpdate changes a registered app (UpdateApp); zero fields stay.
type AppUpdate struct {
	Name          string   `json:"name,omitempty"`
	ClientSecret  string   `json:"client_secret,omitempty"`  // a regenerated client secret: proven at Slack before it is stored
	SigningSecret string   `json:"signing_secret,omitempty"` // a regenerated signing secret
	BotScopes     []string `json:"bot_scopes,omitempty"`
	UserScopes    []string `json:"user_scopes,omitempty"`
	// AllowUnverified stores a client secret that no instance can prove now.
	AllowUnverified bool `json:"allow_unverified,omitempty"`
}

func (in AppUpdate) String() string {
	return fmt.Sprintf("{Name:%q ClientSecret:%s SigningSecret:%s BotScopes:%v UserScopes:%v AllowUnverified:%v}",
		in.Name, redact(in.ClientSecret), redact(in.SigningSecret), in.BotScopes, in.UserScopes, in.AllowUnverified)
}

// GoString keeps %#v from showing the secrets.
func (in AppUpdate) GoString() string { return "connhub.AppUpdate" + in.String() }

// UpdatedApp is an app after UpdateApp, and how its new client secret was
// proven.
type UpdatedApp struct {
	App
	ClientSecretVerified string `json:"client_secret_verified,omitempty"`
}

// CreateInstanceInput makes a connector instance in one of three ways,
// chosen by AuthMethod:
//
//   - AuthOAuth2 (the default): the instance is pending and the answer's
//     AuthorizeURL is where a person consents at Slack. Edition (or
//     BotScopes and UserScopes) decides the scopes asked for; Team
//     preselects a workspace (T…) or an Enterprise Grid org (E…); AppID
//     picks the registered app (default: the organization's).
//   - AuthToken: Token is an existing bot (xoxb) or user (xoxp) token, with
//     RefreshToken if it rotates; Slack checks it (auth.test).
//   - AuthRefreshToken: ClientID, ClientSecret and RefreshToken of an app;
//     the hub registers the app and refreshes the token once.
//
// Printing it shows no secret.
type CreateInstanceInput struct {
	Connector    string         `json:"connector,omitempty"` // default slack
	Name         string         `json:"name"`
	AuthMethod   string         `json:"auth_method,omitempty"`
	Edition      string         `json:"edition,omitempty"` // free, pro, business_plus (default), enterprise_grid, compliance
	BotScopes    []string       `json:"bot_scopes,omitempty"`
	UserScopes   []string       `json:"user_scopes,omitempty"`
	Team         string         `json:"team,omitempty"`
	AppID        string         `json:"app_id,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	Settings     map[string]any `json:"settings,omitempty"`
	Token        string         `json:"token,omitempty"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	ClientID     string         `json:"client_id,omitempty"`
	ClientSecret string         `json:"client_secret,omitempty"`
}

func (in CreateInstanceInput) String() string {
	return fmt.Sprintf("{Connector:%q Name:%q AuthMethod:%q Edition:%q BotScopes:%v UserScopes:%v Team:%q AppID:%q Tags:%v Settings:%v Token:%s RefreshToken:%s ClientID:%q ClientSecret:%s}",
		in.Connector, in.Name, in.AuthMethod, in.Edition, in.BotScopes, in.UserScopes, in.Team, in.AppID, in.Tags, in.Settings,
		redact(in.Token), redact(in.RefreshToken), in.ClientID, redact(in.ClientSecret))
}

// GoString keeps %#v from showing the secrets.
func (in CreateInstanceInput) GoString() string { return "connhub.CreateInstanceInput" + in.String() }

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// InstanceUpdate changes an instance without re-authenticating it: nil
// fields stay as they are. Settings are merged into the instance's; a nil
// value removes its key.
type InstanceUpdate struct {
	Name           *string        `json:"name,omitempty"`
	Tags           *[]string      `json:"tags,omitempty"`
	Settings       map[string]any `json:"settings,omitempty"`
	AllowUserToken *bool          `json:"allow_user_token,omitempty"`
}

// CreateCredentialInput stores an instance's credentials under a name that
// integration flows fetch them by.
type CreateCredentialInput struct {
	Name        string `json:"name"`
	InstanceID  string `json:"instance_id"`
	Kind        string `json:"kind,omitempty"` // KindOpenConnectors (default) or KindBearer
	Description string `json:"description,omitempty"`
}

// StartSyncInput asks for a sync. The zero value runs the default streams.
type StartSyncInput struct {
	Streams       []string `json:"streams,omitempty"` // the streams to run (the hub adds what they need); empty: the default ones
	Full          bool     `json:"full,omitempty"`
	AnalyticsDays int      `json:"analytics_days,omitempty"` // 1 to 395; 0: the hub's default, 1
	ThreadDays    int      `json:"thread_days,omitempty"`    // 1 to 90; 0: the hub's default, 1
	// JoinPublicChannels has the bot join the public channels whose history
	// Slack refuses it (the instance needs channels:join).
	JoinPublicChannels bool `json:"join_public_channels,omitempty"`
}

// ScheduleInput creates or replaces an instance's sync schedule.
type ScheduleInput struct {
	Every         time.Duration // at least 15 minutes
	Streams       []string      // empty: the default streams
	Full          bool
	AnalyticsDays int
	ThreadDays    int
	// JoinPublicChannels has each run's bot join the public channels whose
	// history Slack refuses it (the instance needs channels:join).
	JoinPublicChannels bool
	Enabled            bool // false keeps the schedule but starts no sync
}

// MarshalJSON writes Every as a Go duration ("24h0m0s"), as the hub reads it.
func (in ScheduleInput) MarshalJSON() ([]byte, error) {
	streams := in.Streams
	if streams == nil {
		streams = []string{}
	}
	return json.Marshal(struct {
		Every         string   `json:"every"`
		Streams       []string `json:"streams"`
		Full          bool     `json:"full"`
		AnalyticsDays int      `json:"analytics_days"`
		ThreadDays    int      `json:"thread_days"`
		Join          bool     `json:"join_public_channels,omitempty"`
		Enabled       bool     `json:"enabled"`
	}{in.Every.String(), streams, in.Full, in.AnalyticsDays, in.ThreadDays, in.JoinPublicChannels, in.Enabled})
}

// RecordQuery selects, orders and pages a stream's records.
type RecordQuery struct {
	// Where filters in connhub's query language, over the stream's fields:
	// billable = true AND active_30d = false. "" selects every record.
	Where string
	// Fields keeps only these fields in each record's Data: a top-level
	// field, or a path that keeps part of an object (profile.email). Empty
	// keeps them all.
	Fields []string
	// OrderBy sorts: each "field", "field desc" or "-field". Empty: by key.
	OrderBy []string
	// TeamID keeps one workspace's records, on Enterprise Grid.
	TeamID string
	// IncludeDeleted includes the records that vanished or were deactivated.
	IncludeDeleted bool
	// PageSize is the number of records a page holds: 1 to 1000, 0 for the
	// hub's default, 100.
	PageSize int
	// Cursor is the NextCursor of the previous page.
	Cursor string
}

func (q RecordQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("where", q.Where)
	set("fields", strings.Join(q.Fields, ","))
	set("order_by", strings.Join(q.OrderBy, ","))
	set("team_id", q.TeamID)
	set("cursor", q.Cursor)
	if q.IncludeDeleted {
		v.Set("include_deleted", "true")
	}
	if q.PageSize > 0 {
		v.Set("page_size", strconv.Itoa(q.PageSize))
	}
	return v
}

// The formats of an export.
const (
	FormatJSONL = "jsonl" // one Record as JSON a line
	FormatCSV   = "csv"   // a header row _key,_team_id,<fields>,_deleted_at, then a row a record; nested values as JSON
)

// ExportOptions select what an export writes and how.
type ExportOptions struct {
	Format         string // FormatJSONL (default) or FormatCSV
	Where          string
	Fields         []string
	TeamID         string
	IncludeDeleted bool
}

// ListOptions page a list: Cursor is the previous page's NextCursor, Limit
// the page size (0: the hub's default, 100; at most 1000).
type ListOptions struct {
	Cursor string
	Limit  int
}

// ListInstancesOptions filter and page the instance list.
type ListInstancesOptions struct {
	Connector string
	Status    string // one of the Status constants
	Tag       string
	ListOptions
}

// AppPage is one page of apps.
type AppPage struct {
	Apps       []App  `json:"apps"`
	NextCursor string `json:"next_cursor"` // "" on the last page
}

// SyncPage is one page of an instance's runs, newest first.
type SyncPage struct {
	Syncs      []SyncRun `json:"syncs"`
	NextCursor string    `json:"next_cursor"` // "" on the last page
}

// InstancePage is one page of instances.
type InstancePage struct {
	Instances  []Instance `json:"instances"`
	NextCursor string     `json:"next_cursor"` // "" on the last page
}

// CredentialPage is one page of named credentials.
type CredentialPage struct {
	Credentials []Credential `json:"credentials"`
	NextCursor  string       `json:"next_cursor"` // "" on the last page
}

// Ptr returns a pointer to v, for InstanceUpdate's fields.
func Ptr[T any](v T) *T { return &v }
