package sync

import (
	"context"
	"slices"
	"strings"
)

// A stream is one kind of record that a sync retrieves from Slack, with
// everything the engine needs to know to decide whether it can run, to run
// it, and to resume it.
type stream struct {
	Name   string
	Method string // the Slack method that fetches it
	Token  string // "bot" or "user": which of the instance's tokens calls Method
	// Scopes must all have been granted to Token.
	Scopes []string
	// AnyScopes: at least one must have been granted (conversations.list
	// reads public channels with channels:read, private ones with groups:read).
	AnyScopes []string
	// Plans it is available on (Slack answers paid_only, feature_not_available
	// or plan_upgrade_required elsewhere); empty means every plan.
	Plans []string
	// Parent is the stream whose records this one fans out over: a call per
	// channel, say. It runs after Parent in the same sync.
	Parent string
	// After are streams it reads the records of once they are done
	// (derived streams).
	After []string
	// OptIn streams run only when asked for by name.
	OptIn bool
	// Walk says how it is fetched: "full" walks everything Slack has, and
	// at the end marks the records the walk did not see as deleted;
	// "incremental" fetches only what is new since the last run's mark and
	// never marks; "derived" is computed from other streams' records.
	Walk string
	// OrgLevel streams are fetched once for an Enterprise Grid org, not per
	// workspace.
	OrgLevel bool
	// History streams keep every record they ever wrote: a derived stream
	// that is not history marks the records its run did not write deleted,
	// as a full walk does.
	History bool
	// Key describes the records' natural key, for people.
	Key string
	// Fields are the record's top-level fields (for where, fields and
	// order_by); nested fields are reached through them.
	Fields []string
	// Doc says what it holds, for people.
	Doc string

	fetch func(ctx context.Context, w *walker) error
}

const (
	walkFull        = "full"
	walkIncremental = "incremental"
	walkDerived     = "derived"
)

var (
	paidPlans         = []string{"pro", "business_plus", "enterprise_grid", "compliance"}
	businessPlusPlans = []string{"business_plus", "enterprise_grid", "compliance"}
)

// streams are every stream, in the order a sync starts them.
var streams = []*stream{
	{Name: "team", Method: "team.info", Token: "bot", Scopes: []string{"team:read"}, Walk: walkFull, Key: "the workspace ID",
		Fields: []string{"id", "name", "domain", "email_domain", "icon", "enterprise_id", "enterprise_name", "enterprise_domain", "avatar_base_url", "is_verified", "url", "discoverable"},
		Doc:    "The workspace: name, domain, icon, its Enterprise Grid org.", fetch: fetchTeam},
	{Name: "subscriptions", Method: "team.billing.info", Token: "bot", Scopes: []string{"team.billing:read"}, Walk: walkFull, Key: "the workspace ID",
		Fields: []string{"team_id", "plan", "edition", "plan_name"},
		Doc:    "The workspace's Slack plan (subscription): free, pro, business_plus, enterprise_grid or compliance.", fetch: fetchSubscription},
	{Name: "users", Method: "users.list", Token: "bot", Scopes: []string{"users:read"}, Walk: walkFull, Key: "the user ID",
		Fields: []string{"id", "team_id", "name", "deleted", "color", "real_name", "tz", "tz_label", "tz_offset", "profile", "is_admin", "is_owner",
			"is_primary_owner", "is_restricted", "is_ultra_restricted", "is_bot", "is_app_user", "is_workflow_bot", "is_invited_user", "is_stranger",
			"is_email_confirmed", "who_can_share_contact_card", "updated", "locale", "has_2fa", "two_factor_type", "enterprise_user", "teams",
			"enterprise_id", "enterprise_name"},
		Doc: "Every account: profile and email, role (owner, admin, member, guest), deactivated, bot, last updated.", fetch: fetchUsers},
	{Name: "billable_info", Method: "team.billableInfo", Token: "user", Scopes: []string{"admin"}, Walk: walkFull, Key: "the user ID (with /team on Enterprise Grid)",
		Fields: []string{"user_id", "team_id", "billing_active"},
		Doc:    "Whether each account holds a billable seat under Slack's Fair Billing Policy.", fetch: fetchBillableInfo},
	{Name: "access_logs", Method: "team.accessLogs", Token: "user", Scopes: []string{"admin"}, Plans: paidPlans, Walk: walkFull,
		Key:    "user ID/IP/a hash of the user agent",
		Fields: []string{"user_id", "username", "date_first", "date_last", "count", "ip", "user_agent", "isp", "country", "region", "team_id"},
		Doc:    "Logins: each account's devices and places, first and last seen, how many times.", fetch: fetchAccessLogs},
	{Name: "member_analytics", Method: "admin.analytics.getFile", Token: "user", Scopes: []string{"admin.analytics:read"}, Plans: businessPlusPlans,
		Walk: walkIncremental, OrgLevel: true, Key: "user ID/date",
		Fields: []string{"enterprise_id", "team_id", "date", "user_id", "email_address", "is_guest", "is_billable_seat", "is_active", "is_active_ios",
			"is_active_android", "is_active_desktop", "reactions_added_count", "messages_posted_count", "channel_messages_posted_count",
			"files_added_count", "is_active_apps", "is_active_workflows", "is_active_slack_connect", "total_calls_count", "slack_calls_count",
			"slack_huddles_count", "search_count", "date_claimed"},
		Doc:   "Daily member analytics, for the days each account was active (one file a day; days without activity say nothing and are not kept).",
		fetch: fetchMemberAnalytics},
	{Name: "channels", Method: "conversations.list", Token: "bot", AnyScopes: []string{"channels:read", "groups:read"}, Walk: walkFull, Key: "the channel ID",
		Fields: []string{"id", "name", "name_normalized", "is_channel", "is_group", "is_im", "is_mpim", "is_private", "created", "creator", "is_archived",
			"is_general", "unlinked", "is_shared", "is_org_shared", "is_ext_shared", "is_pending_ext_shared", "shared_team_ids", "is_member", "topic",
			"purpose", "previous_names", "num_members", "context_team_id", "updated", "properties"},
		Doc: "Public and private channels, archived ones included (private ones the app was added to).", fetch: fetchChannels},
	{Name: "channel_members", Method: "conversations.members", Token: "bot", AnyScopes: []string{"channels:read", "groups:read"}, Parent: "channels",
		Walk: walkFull, Key: "channel ID/page number (0000, 0001…)", Fields: []string{"channel_id", "page", "count", "user_ids"},
		Doc: "Who is in each channel: a record per page of up to 1,000 members; user_ids HAS 'U…' finds a user's channels.", fetch: fetchChannelMembers},
	{Name: "usergroups", Method: "usergroups.list", Token: "bot", Scopes: []string{"usergroups:read"}, Plans: paidPlans, Walk: walkFull, Key: "the user group ID",
		Fields: []string{"id", "team_id", "is_usergroup", "is_subteam", "name", "description", "handle", "is_external", "date_create", "date_update",
			"date_delete", "auto_type", "auto_provision", "enterprise_subteam_id", "created_by", "updated_by", "deleted_by", "prefs", "user_count", "channel_count"},
		Doc: "User groups (@-mention handles), disabled ones included.", fetch: fetchUsergroups},
	{Name: "usergroup_members", Method: "usergroups.list", Token: "bot", Scopes: []string{"usergroups:read"}, Plans: paidPlans, Walk: walkFull,
		Key: "user group ID/user ID", Fields: []string{"usergroup_id", "user_id", "team_id"},
		Doc: "Who is in each user group (from usergroups.list with include_users: one call for every group).", fetch: fetchUsergroupMembers},
	{Name: "files", Method: "files.list", Token: "bot", Scopes: []string{"files:read"}, Walk: walkFull, Key: "the file ID",
		Fields: []string{"id", "created", "timestamp", "name", "title", "mimetype", "filetype", "pretty_type", "user", "size", "mode", "is_external",
			"is_public", "url_private", "url_private_download", "permalink", "channels", "groups", "ims"},
		Doc: "Files' metadata (never their content).", fetch: fetchFiles},
	{Name: "emoji", Method: "emoji.list", Token: "bot", Scopes: []string{"emoji:read"}, Walk: walkFull, Key: "the emoji's name",
		Fields: []string{"name", "url", "alias_for", "team_id"},
		Doc:    "Custom emoji: an image URL, or the emoji it is an alias for.", fetch: fetchEmoji},
	{Name: "integration_logs", Method: "team.integrationLogs", Token: "user", Scopes: []string{"admin"}, Walk: walkFull,
		Key:    "date/app or service ID/change/user ID",
		Fields: []string{"service_id", "service_type", "app_id", "app_type", "user_id", "user_name", "channel", "date", "change_type", "scope", "reason", "team_id"},
		Doc:    "Apps and integrations added, removed, enabled, disabled and changed, and by whom.", fetch: fetchIntegrationLogs},
	{Name: "bookmarks", Method: "bookmarks.list", Token: "bot", Scopes: []string{"bookmarks:read"}, Parent: "channels", Walk: walkFull, Key: "the bookmark ID",
		Fields: []string{"id", "channel_id", "title", "link", "emoji", "icon_url", "type", "entity_id", "date_created", "date_updated", "rank",
			"last_updated_by_user_id", "last_updated_by_team_id", "shortcut_id", "app_id"},
		Doc: "Channels' bookmarks.", fetch: fetchBookmarks},
	{Name: "messages", Method: "conversations.history", Token: "bot", AnyScopes: []string{"channels:history", "groups:history"}, Parent: "channels",
		Walk: walkIncremental, OptIn: true, Key: "channel ID/ts",
		Fields: []string{"channel_id", "type", "subtype", "user", "bot_id", "app_id", "team", "text", "ts", "thread_ts", "reply_count",
			"reply_users_count", "latest_reply", "reply_users", "edited", "reactions", "files", "blocks", "attachments", "client_msg_id"},
		Doc: "Messages of the channels the app is in, and their threads' replies (conversations.replies), when asked for by name. " +
			"A later sync reads what is new, and threads whose parent's latest_reply moved within the lookback window (thread_days, default 7).",
		fetch: fetchMessages},
	{Name: "licenses", Walk: walkDerived, After: []string{"users", "billable_info", "access_logs", "member_analytics", "subscriptions"}, Key: "the user ID",
		Fields: []string{"user_id", "team_id", "name", "real_name", "email", "title", "account_type", "guest", "deactivated", "bot", "billable",
			"last_active_at", "last_active_source", "days_inactive", "active_30d", "active_90d", "as_of"},
		Doc: "Per account, what license management asks: billable seat, guest or member, deactivated, last active and from which source " +
			"(access logs, analytics, or none), active in the last 30 and 90 days.", fetch: deriveLicenses},
	{Name: "license_summary", Walk: walkDerived, After: []string{"licenses"}, Key: "the workspace or org ID",
		Fields: []string{"team_id", "plan", "accounts", "members", "guests", "bots", "deactivated", "billable_seats", "active_30d", "active_90d",
			"billable_inactive_30d", "billable_inactive_90d", "as_of"},
		Doc:   "The license summary: plan, billable seats, active in the last 30 and 90 days, billable seats inactive for 30 and 90 days.",
		fetch: deriveSummary},
	{Name: "license_snapshots", Walk: walkDerived, History: true, After: []string{"license_summary"}, Key: "date/workspace or org ID",
		Fields: []string{"date", "team_id", "plan", "accounts", "members", "guests", "bots", "deactivated", "billable_seats", "active_30d", "active_90d",
			"billable_inactive_30d", "billable_inactive_90d", "as_of"},
		Doc: "The license summary of each day a sync ran, kept because Slack keeps no history of billing and activity.", fetch: deriveSnapshot},
}

// streamByName finds a stream.
func streamByName(name string) *stream {
	i := slices.IndexFunc(streams, func(s *stream) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return streams[i]
}

// StreamNames are the names of every stream, in order.
func StreamNames() []string {
	out := make([]string, len(streams))
	for i, s := range streams {
		out[i] = s.Name
	}
	return out
}

// DefaultStreams are the streams a sync runs when it names none.
func DefaultStreams() []string {
	var out []string
	for _, s := range streams {
		if !s.OptIn {
			out = append(out, s.Name)
		}
	}
	return out
}

// StreamInfo describes a stream, for the API and the CLI.
type StreamInfo struct {
	Name    string   `json:"name"`
	Method  string   `json:"method,omitempty" doc:"The Slack method that fetches it (none for derived streams)"`
	Token   string   `json:"token,omitempty" doc:"Which of the instance's tokens calls it: bot or user"`
	Scopes  []string `json:"scopes,omitempty" doc:"Scopes it needs"`
	Plans   []string `json:"plans,omitempty" doc:"Plans it is available on; absent: every plan"`
	Walk    string   `json:"walk" doc:"full: everything each time, vanished records marked deleted; incremental: only what is new; derived: computed from other streams"`
	Parent  string   `json:"parent,omitempty" doc:"The stream it fans out over (a call per record of it)"`
	Inputs  []string `json:"inputs,omitempty" doc:"The streams a derived stream is computed from"`
	Default bool     `json:"default" doc:"Whether a sync runs it unless told otherwise"`
	Key     string   `json:"key" doc:"What the records' natural key is"`
	Fields  []string `json:"fields" doc:"The records' top-level fields, for where, fields and order_by"`
	Doc     string   `json:"doc"`
}

// Streams describes every stream.
func Streams() []StreamInfo {
	out := make([]StreamInfo, len(streams))
	for i, s := range streams {
		scopes := s.Scopes
		if len(s.AnyScopes) > 0 {
			scopes = []string{strings.Join(s.AnyScopes, " or ")}
		}
		out[i] = StreamInfo{Name: s.Name, Method: s.Method, Token: s.Token, Scopes: scopes, Plans: s.Plans, Walk: s.Walk, Parent: s.Parent,
			Inputs: s.After, Default: !s.OptIn, Key: s.Key, Fields: s.Fields, Doc: s.Doc}
	}
	return out
}
