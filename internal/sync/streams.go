package sync

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/query"
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
	// Feature is the catalog feature it serves (internal/connector); its
	// editions are the plans the stream is available on.
	Feature string
	// Plans it is available on (Slack answers paid_only, feature_not_available
	// or plan_upgrade_required elsewhere), from Feature; empty means every
	// plan.
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
	// Fields are the record's top-level fields and their types (for where,
	// fields and order_by); nested fields are reached through them.
	Fields fieldSet
	// Doc says what it holds, for people.
	Doc string
	// Events are the Events API types that keep its records fresh between
	// syncs (ApplyEvent, events.go).
	Events []string
	// Volatile are the fields Slack changes with no event that keeps the
	// record fresh (a channel's updated, with every message): a sync does
	// not count them as corrections of a record an event wrote.
	Volatile []string

	// List is a plain stream's spec: a list of objects, a record each.
	// Other streams have a fetch of their own.
	List  *list
	fetch func(ctx context.Context, w *walker) error
}

const (
	walkFull        = "full"
	walkIncremental = "incremental"
	walkDerived     = "derived"
)

// slackCatalog is the catalog's Slack connector: its editions and features.
func slackCatalog() connector.Connector {
	c, _ := connector.Get("slack")
	return c
}

// init makes the fetch of each plain stream from its list, and gives each
// stream the plans of its catalog feature (empty: every plan): the catalog
// is the one table of which Slack plans have what.
func init() {
	slack := slackCatalog()
	for _, s := range streams {
		if s.List != nil {
			s.fetch = fetchList(s.List)
		}
		if s.Feature == "" {
			continue
		}
		i := slices.IndexFunc(slack.Features, func(f connector.Feature) bool { return f.Key == s.Feature })
		if i < 0 {
			panic("sync: stream " + s.Name + " names no catalog feature " + s.Feature)
		}
		if editions := slack.Features[i].Editions; len(editions) < len(slack.Editions) {
			s.Plans = slices.Clone(editions)
		}
	}
}

// streams are every stream, in the order a sync starts them.
var streams = []*stream{
	{Name: "team", Feature: "team", Method: "team.info", Token: "bot", Scopes: []string{"team:read"}, Walk: walkFull, Key: "the workspace ID",
		Fields: fields("id name domain email_domain icon:object enterprise_id enterprise_name enterprise_domain " +
			"avatar_base_url is_verified:boolean url discoverable:any lob_sales_home_enabled:boolean"),
		Doc: "The workspace: name, domain, icon, its Enterprise Grid org.",
		List: &list{One: true, Field: "team", Key: "id", Team: "id", ArgsFor: func(w *walker) url.Values {
			if w.team == "" {
				return nil
			}
			return url.Values{"team": {w.team}}
		}}},
	{Name: "subscriptions", Feature: "billing", Method: "team.billing.info", Token: "bot", Scopes: []string{"team.billing:read"}, Walk: walkFull, Key: "the workspace ID",
		Fields: fields("team_id plan edition plan_name"),
		Doc:    "The workspace's Slack plan (subscription): free, pro, business_plus, enterprise_grid or compliance.", fetch: fetchSubscription},
	{Name: "users", Feature: "users", Method: "users.list", Token: "bot", Scopes: []string{"users:read"}, Walk: walkFull, Key: "the user ID",
		Fields: fields("id team_id name deleted:boolean color real_name tz tz_label tz_offset:number profile:object " +
			"is_admin:boolean is_owner:boolean is_primary_owner:boolean is_restricted:boolean " +
			"is_ultra_restricted:boolean is_bot:boolean is_app_user:boolean is_workflow_bot:boolean " +
			"is_invited_user:boolean is_stranger:boolean is_email_confirmed:boolean who_can_share_contact_card " +
			"updated:number locale has_2fa:boolean two_factor_type enterprise_user:object teams:array " +
			"enterprise_id enterprise_name"),
		Doc:    "Every account: profile and email, role (owner, admin, member, guest), deactivated, bot, last updated.",
		Events: []string{"user_change", "team_join"},
		List: &list{Args: url.Values{"limit": {"1000"}, "include_locale": {"true"}}, Field: "members", Key: "id", Team: "team_id",
			Updated: []string{"updated"}}},
	{Name: "billable_info", Feature: "billing", Method: "team.billableInfo", Token: "user", Scopes: []string{"admin"}, Walk: walkFull, Key: "the user ID (with /team on Enterprise Grid)",
		Fields: fields("user_id team_id billing_active:boolean"),
		Doc:    "Whether each account holds a billable seat under Slack's Fair Billing Policy.", fetch: fetchBillableInfo},
	{Name: "access_logs", Feature: "access_logs", Method: "team.accessLogs", Token: "user", Scopes: []string{"admin"}, Walk: walkFull,
		Key: "user ID/IP/a hash of the user agent",
		Fields: fields("user_id username date_first:number date_last:number count:number ip user_agent isp country region " +
			"team_id"),
		Doc: "Logins: each account's devices and places, first and last seen, how many times.",
		// Slack aggregates logins by person, IP and user agent.
		List: &list{Args: url.Values{"limit": {"1000"}}, Field: "logins", Key: "user_id/ip/#user_agent", WithTeam: true,
			Updated: []string{"date_last"}}},
	{Name: "member_analytics", Feature: "analytics", Method: "admin.analytics.getFile", Token: "user", Scopes: []string{"admin.analytics:read"},
		Walk: walkIncremental, OrgLevel: true, Key: "user ID/date",
		Fields: fields("enterprise_id team_id date user_id email_address is_guest:boolean is_billable_seat:boolean " +
			"is_active:boolean is_active_ios:boolean is_active_android:boolean is_active_desktop:boolean " +
			"reactions_added_count:number messages_posted_count:number channel_messages_posted_count:number " +
			"files_added_count:number is_active_apps:boolean is_active_workflows:boolean " +
			"is_active_slack_connect:boolean total_calls_count:number slack_calls_count:number " +
			"slack_huddles_count:number search_count:number date_claimed:number"),
		Doc:   "Daily member analytics, for the days each account was active (one file a day; days without activity say nothing and are not kept).",
		fetch: fetchMemberAnalytics},
	{Name: "channels", Feature: "channels", Method: "conversations.list", Token: "bot", AnyScopes: []string{"channels:read", "groups:read"}, Walk: walkFull, Key: "the channel ID",
		Fields: fields("id name name_normalized is_channel:boolean is_group:boolean is_im:boolean is_mpim:boolean " +
			"is_private:boolean created:number creator is_archived:boolean is_general:boolean unlinked:number " +
			"is_shared:boolean is_org_shared:boolean is_ext_shared:boolean is_pending_ext_shared:boolean " +
			"shared_team_ids:array is_member:boolean topic:object purpose:object previous_names:array " +
			"num_members:number context_team_id updated:number properties:object parent_conversation:any pending_shared:array"),
		Doc: "Public and private channels, archived ones included (private ones the app was added to).",
		List: &list{Args: url.Values{"limit": {"999"}, "exclude_archived": {"false"}},
			ArgsFor: func(w *walker) url.Values { return url.Values{"types": {w.channelTypes()}} }, Field: "channels", Key: "id",
			Updated: []string{"updated"}, Millis: true},
		Events: []string{"channel_created", "channel_rename", "channel_archive", "channel_unarchive", "channel_deleted",
			"group_rename", "group_archive", "group_unarchive", "group_deleted"},
		Volatile: []string{"updated", "num_members", "is_member", "topic", "purpose"}},
	{Name: "channel_members", Feature: "channels", Method: "conversations.members", Token: "bot", AnyScopes: []string{"channels:read", "groups:read"}, Parent: "channels",
		Walk: walkFull, Key: "channel ID/page number (0000, 0001…)", Fields: fields("channel_id page:number count:number user_ids:array"),
		Doc:    "Who is in each channel: a record per page of up to 1,000 members; user_ids HAS 'U…' finds a user's channels.",
		Events: []string{"member_joined_channel", "member_left_channel", "channel_created"}, fetch: fetchChannelMembers},
	{Name: "usergroups", Feature: "usergroups", Method: "usergroups.list", Token: "bot", Scopes: []string{"usergroups:read"}, Walk: walkFull, Key: "the user group ID",
		Fields: fields("id team_id is_usergroup:boolean is_subteam:boolean name description handle is_external:boolean " +
			"date_create:number date_update:number date_delete:number auto_type:any auto_provision:boolean " +
			"enterprise_subteam_id created_by updated_by deleted_by prefs:object user_count:number " +
			"channel_count:number"),
		Doc:    "User groups (@-mention handles), disabled ones included.",
		Events: []string{"subteam_created", "subteam_updated"},
		List: &list{Args: url.Values{"include_disabled": {"true"}, "include_count": {"true"}}, Field: "usergroups", Key: "id",
			Team: "team_id", Updated: []string{"date_update"}}},
	{Name: "usergroup_members", Feature: "usergroups", Method: "usergroups.list", Token: "bot", Scopes: []string{"usergroups:read"}, Walk: walkFull,
		Key: "user group ID/user ID", Fields: fields("usergroup_id user_id team_id"),
		Doc:    "Who is in each user group (from usergroups.list with include_users: one call for every group).",
		Events: []string{"subteam_created", "subteam_updated", "subteam_members_changed"},
		List: &list{Args: url.Values{"include_disabled": {"true"}, "include_count": {"true"}, "include_users": {"true"}}, Field: "usergroups",
			Key: "id", Team: "team_id", Each: &each{Field: "users", Of: "usergroup_id", As: "user_id"}}},
	{Name: "files", Feature: "files", Method: "files.list", Token: "bot", Scopes: []string{"files:read"}, Walk: walkFull, Key: "the file ID",
		Fields: fields("id created:number timestamp:number name title mimetype filetype pretty_type user size:number mode " +
			"is_external:boolean is_public:boolean url_private url_private_download permalink channels:array " +
			"groups:array ims:array editable:boolean external_type public_url_shared:boolean comments_count:number " +
			"display_as_bot:boolean username permalink_public user_team"),
		Doc: "Files' metadata (never their content).",
		List: &list{Args: url.Values{"limit": {"1000"}, "show_files_hidden_by_limit": {"true"}}, Field: "files", Key: "id",
			Updated: []string{"updated", "created"}}},
	{Name: "emoji", Feature: "emoji", Method: "emoji.list", Token: "bot", Scopes: []string{"emoji:read"}, Walk: walkFull, Key: "the emoji's name",
		Fields: fields("name url alias_for team_id"),
		Doc:    "Custom emoji: an image URL, or the emoji it is an alias for.", Events: []string{"emoji_changed"}, fetch: fetchEmoji},
	{Name: "integration_logs", Feature: "integration_logs", Method: "team.integrationLogs", Token: "user", Scopes: []string{"admin"}, Walk: walkFull,
		Key: "date/app or service ID/change/user ID",
		Fields: fields("service_id service_type app_id app_type user_id user_name channel date change_type scope reason " +
			"team_id"),
		Doc: "Apps and integrations added, removed, enabled, disabled and changed, and by whom.",
		List: &list{Args: url.Values{"count": {"1000"}}, Classic: true, Field: "logs", Key: "date/app_id|service_id/change_type/user_id/channel?",
			WithTeam: true, Updated: []string{"date"}}},
	{Name: "bookmarks", Feature: "bookmarks", Method: "bookmarks.list", Token: "bot", Scopes: []string{"bookmarks:read"}, Parent: "channels", Walk: walkFull, Key: "the bookmark ID",
		Fields: fields("id channel_id title link emoji icon_url type entity_id date_created:number date_updated:number rank " +
			"last_updated_by_user_id last_updated_by_team_id shortcut_id app_id"),
		Doc:  "Channels' bookmarks.",
		List: &list{Field: "bookmarks", Key: "id", Updated: []string{"date_updated"}, ParentArg: "channel_id"}},
	{Name: "messages", Feature: "messages", Method: "conversations.history", Token: "bot", AnyScopes: []string{"channels:history", "groups:history"}, Parent: "channels",
		Walk: walkIncremental, OptIn: true, Key: "channel ID/ts",
		Fields: fields("channel_id type subtype user bot_id app_id team text ts thread_ts reply_count:number " +
			"reply_users_count:number latest_reply reply_users:array edited:object reactions:array files:array " +
			"blocks:array attachments:array client_msg_id is_locked:boolean subscribed:boolean parent_user_id pinned_to:array"),
		Doc: "Messages of the channels the app is in, and their threads' replies (conversations.replies), when asked for by name. " +
			"A later sync reads what is new, and threads whose parent's latest_reply moved within the lookback window (thread_days, default 7).",
		Events: []string{"message"}, fetch: fetchMessages},
	{Name: "licenses", Walk: walkDerived, After: []string{"users", "billable_info", "access_logs", "member_analytics", "subscriptions"}, Key: "the user ID",
		Fields: fields("user_id team_id name real_name email title account_type guest:boolean deactivated:boolean " +
			"bot:boolean billable:boolean last_active_at last_active_source days_inactive:number " +
			"active_30d:boolean active_90d:boolean as_of"),
		Doc: "Per account, what license management asks: billable seat, guest or member, deactivated, last active and from which source " +
			"(access logs, analytics, or none), active in the last 30 and 90 days.", fetch: deriveLicenses},
	{Name: "license_summary", Walk: walkDerived, After: []string{"licenses"}, Key: "the workspace or org ID",
		Fields: fields("team_id plan accounts:number members:number guests:number bots:number deactivated:number " +
			"billable_seats:number active_30d:number active_90d:number billable_inactive_30d:number " +
			"billable_inactive_90d:number as_of"),
		Doc:   "The license summary: plan, billable seats, active in the last 30 and 90 days, billable seats inactive for 30 and 90 days.",
		fetch: deriveSummary},
	{Name: "license_snapshots", Walk: walkDerived, History: true, After: []string{"license_summary"}, Key: "date/workspace or org ID",
		Fields: fields("date team_id plan accounts:number members:number guests:number bots:number deactivated:number " +
			"billable_seats:number active_30d:number active_90d:number billable_inactive_30d:number " +
			"billable_inactive_90d:number as_of"),
		Doc: "The license summary of each day a sync ran, kept because Slack keeps no history of billing and activity.", fetch: deriveSnapshot},
}

// fieldSet is a stream's top-level fields, in order, with their types.
type fieldSet struct {
	names []string
	types query.Schema
}

// fields reads a space-separated list of fields, each "name" (a string) or
// "name:type" with a type of query.ParseType ("any" for one that varies).
func fields(spec string) fieldSet {
	fs := fieldSet{types: query.Schema{}}
	for _, f := range strings.Fields(spec) {
		name, typ, typed := strings.Cut(f, ":")
		t := query.TypeString
		if typed {
			var err error
			if t, err = query.ParseType(typ); err != nil {
				panic("sync: stream field " + name + ": " + err.Error())
			}
		}
		fs.names = append(fs.names, name)
		if t != query.TypeAny {
			fs.types[name] = t
		}
	}
	return fs
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
	Events  []string `json:"events,omitempty" doc:"The Events API event types that keep its records fresh between syncs"`
	Inputs  []string `json:"inputs,omitempty" doc:"The streams a derived stream is computed from"`
	Default bool     `json:"default" doc:"Whether a sync runs it unless told otherwise"`
	Key     string   `json:"key" doc:"What the records' natural key is"`
	Fields  []string `json:"fields" doc:"The records' top-level fields, for where, fields and order_by"`
	// Types are the fields' types; a field it does not name varies in type.
	Types query.Schema `json:"types" doc:"The fields' JSON types (string, number, boolean, object or array), which where checks its values against; a field not named here varies"`
	Doc   string       `json:"doc"`
}

// Streams describes every stream.
func Streams() []StreamInfo {
	out := make([]StreamInfo, len(streams))
	for i, s := range streams {
		scopes := s.Scopes
		if len(s.AnyScopes) > 0 {
			scopes = []string{strings.Join(s.AnyScopes, " or ")}
		}
		out[i] = StreamInfo{Name: s.Name, Method: s.Method, Token: s.Token, Scopes: scopes, Plans: s.Plans, Walk: s.Walk, Parent: s.Parent, Events: s.Events,
			Inputs: s.After, Default: !s.OptIn, Key: s.Key, Fields: s.Fields.names, Types: s.Fields.types, Doc: s.Doc}
	}
	return out
}
