package slacksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The JSON shapes below follow Slack's objects field for field (FACTS 3.1), in
// Slack's order. They are built per response from the compact model so that a
// large workspace costs little memory.

type profileJSON struct {
	Title                  string         `json:"title"`
	Phone                  string         `json:"phone"`
	Skype                  string         `json:"skype"`
	RealName               string         `json:"real_name"`
	RealNameNormalized     string         `json:"real_name_normalized"`
	DisplayName            string         `json:"display_name"`
	DisplayNameNormalized  string         `json:"display_name_normalized"`
	Fields                 map[string]any `json:"fields"`
	StatusText             string         `json:"status_text"`
	StatusEmoji            string         `json:"status_emoji"`
	StatusEmojiDisplayInfo []any          `json:"status_emoji_display_info"`
	StatusExpiration       int64          `json:"status_expiration"`
	AvatarHash             string         `json:"avatar_hash"`
	StartDate              string         `json:"start_date,omitempty"`
	GuestInvitedBy         string         `json:"guest_invited_by,omitempty"`
	GuestExpirationTS      int64          `json:"guest_expiration_ts,omitempty"`
	BotID                  string         `json:"bot_id,omitempty"`
	APIAppID               string         `json:"api_app_id,omitempty"`
	AlwaysActive           bool           `json:"always_active,omitempty"`
	Email                  string         `json:"email,omitempty"`
	Pronouns               string         `json:"pronouns,omitempty"`
	HuddleState            string         `json:"huddle_state"`
	FirstName              string         `json:"first_name"`
	LastName               string         `json:"last_name"`
	Image24                string         `json:"image_24"`
	Image32                string         `json:"image_32"`
	Image48                string         `json:"image_48"`
	Image72                string         `json:"image_72"`
	Image192               string         `json:"image_192"`
	Image512               string         `json:"image_512"`
	Image1024              string         `json:"image_1024,omitempty"`
	ImageOriginal          string         `json:"image_original,omitempty"`
	IsCustomImage          bool           `json:"is_custom_image,omitempty"`
	StatusTextCanonical    string         `json:"status_text_canonical"`
	Team                   string         `json:"team"`
}

type enterpriseUserJSON struct {
	ID             string   `json:"id"`
	EnterpriseID   string   `json:"enterprise_id"`
	EnterpriseName string   `json:"enterprise_name"`
	IsAdmin        bool     `json:"is_admin"`
	IsOwner        bool     `json:"is_owner"`
	IsPrimaryOwner bool     `json:"is_primary_owner"`
	Teams          []string `json:"teams"`
}

type userJSON struct {
	ID                     string              `json:"id"`
	TeamID                 string              `json:"team_id"`
	Name                   string              `json:"name"`
	Deleted                bool                `json:"deleted"`
	Color                  string              `json:"color,omitempty"`
	RealName               string              `json:"real_name,omitempty"`
	TZ                     string              `json:"tz,omitempty"`
	TZLabel                string              `json:"tz_label,omitempty"`
	TZOffset               int                 `json:"tz_offset"`
	Profile                profileJSON         `json:"profile"`
	IsAdmin                bool                `json:"is_admin"`
	IsOwner                bool                `json:"is_owner"`
	IsPrimaryOwner         bool                `json:"is_primary_owner"`
	IsRestricted           bool                `json:"is_restricted"`
	IsUltraRestricted      bool                `json:"is_ultra_restricted"`
	IsBot                  bool                `json:"is_bot"`
	IsAppUser              bool                `json:"is_app_user"`
	IsWorkflowBot          bool                `json:"is_workflow_bot,omitempty"`
	IsInvitedUser          bool                `json:"is_invited_user,omitempty"`
	IsEmailConfirmed       bool                `json:"is_email_confirmed"`
	Has2FA                 *bool               `json:"has_2fa,omitempty"`
	WhoCanShareContactCard string              `json:"who_can_share_contact_card"`
	Updated                int64               `json:"updated"`
	Locale                 string              `json:"locale,omitempty"`
	EnterpriseUser         *enterpriseUserJSON `json:"enterprise_user,omitempty"`
	Teams                  []string            `json:"teams,omitempty"`
	EnterpriseID           string              `json:"enterprise_id,omitempty"`
	EnterpriseName         string              `json:"enterprise_name,omitempty"`
}

// userView says what a caller may see of users.
type userView struct {
	email  bool  // users:read.email granted
	locale bool  // include_locale
	admin  bool  // the caller is an admin (2FA is shown to admins)
	team   *team // the workspace in context, for team_id
}

func (c *call) userView() userView {
	v := userView{email: c.p != nil && c.p.hasScope("users:read.email"), locale: boolArg(c.arg("include_locale")), team: c.team}
	if c.p != nil && c.p.kind == kindUser && c.p.user.isAdmin() {
		v.admin = true
	}
	return v
}

// avatarBase is the start of a user's avatar URLs; the size and ".png" follow.
func avatarBase(u *user, t *team, hash string) string {
	return "https://avatars.slack-edge.com/" + t.ID + "/" + u.ID + "_" + hash + "_"
}

// avatarURL is one of a user's avatar URLs.
func avatarURL(u *user, t *team, size int) string {
	return avatarBase(u, t, avatarHash(u)) + strconv.Itoa(size) + ".png"
}

func avatarHash(u *user) string {
	const digits = "0123456789abcdef"
	v := uint64(stableFloat(u.ID, 0) * (1 << 48))
	var b [12]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

func (w *world) renderProfile(u *user, v userView) profileJSON {
	t := u.home()
	if v.team != nil && u.inTeam(v.team) {
		t = v.team
	}
	hash := avatarHash(u)
	img := avatarBase(u, t, hash)
	p := profileJSON{
		Title: u.Title, Phone: u.Phone, RealName: u.RealName, RealNameNormalized: u.RealName,
		DisplayName: u.DisplayName, DisplayNameNormalized: u.DisplayName, Fields: map[string]any{},
		StatusText: u.StatusText, StatusEmoji: u.StatusEmoji, StatusEmojiDisplayInfo: []any{},
		AvatarHash: hash, StartDate: u.StartDate, GuestExpirationTS: u.GuestExpiry,
		Pronouns: u.Pronouns, HuddleState: "default_unset", FirstName: u.FirstName, LastName: u.LastName,
		Image24: img + "24.png", Image32: img + "32.png", Image48: img + "48.png",
		Image72: img + "72.png", Image192: img + "192.png", Image512: img + "512.png",
		StatusTextCanonical: "", Team: t.ID,
	}
	if u.Role == roleBot {
		p.BotID, p.APIAppID, p.AlwaysActive = u.BotID, u.AppID, true
		p.StartDate = ""
	}
	if u.Role == roleSlackbot {
		p.AlwaysActive = true
	}
	if v.email && u.Email != "" {
		p.Email = u.Email
	}
	if u.Role == roleMultiGuest || u.Role == roleSingleGuest {
		p.GuestInvitedBy = w.installer().ID
	}
	return p
}

func (w *world) renderUser(u *user, v userView) userJSON {
	t := u.home()
	if v.team != nil && u.inTeam(v.team) {
		t = v.team
	}
	tz := timezones[u.TZ]
	j := userJSON{
		ID: u.ID, TeamID: t.ID, Name: u.Name, Deleted: u.Deleted, Color: u.Color, RealName: u.RealName,
		TZ: tz.Name, TZLabel: tz.Label, TZOffset: tz.Offset, Profile: w.renderProfile(u, v),
		IsAdmin: u.isAdmin(), IsOwner: u.isOwner(), IsPrimaryOwner: u.Role == rolePrimaryOwner,
		IsRestricted: u.isGuest(), IsUltraRestricted: u.Role == roleSingleGuest,
		IsBot: u.Role == roleBot, IsInvitedUser: u.Invited, IsEmailConfirmed: u.Email != "" && !u.Invited,
		WhoCanShareContactCard: "EVERYONE", Updated: u.Updated,
	}
	if u.Deleted {
		// Slack keeps a deactivated user's profile but drops the time zone and color.
		j.TZ, j.TZLabel, j.TZOffset, j.Color = "", "", 0, ""
		j.IsAdmin, j.IsOwner = false, false
	}
	if u.Role == roleBot {
		j.TZ, j.TZLabel, j.TZOffset = "America/Los_Angeles", "Pacific Standard Time", -28800
	}
	if v.admin && u.Role != roleBot && u.Role != roleSlackbot {
		has := u.Has2FA
		j.Has2FA = &has
	}
	if v.locale {
		j.Locale = locales[u.Locale].Tag
	}
	if w.enterprise != nil && u.Role != roleSlackbot {
		teams := make([]string, len(u.Teams))
		for i, ut := range u.Teams {
			teams[i] = ut.ID
		}
		j.EnterpriseUser = &enterpriseUserJSON{ID: u.ID, EnterpriseID: w.enterprise.ID, EnterpriseName: w.enterprise.Name,
			IsAdmin: u.isAdmin(), IsOwner: u.isOwner(), IsPrimaryOwner: u.Role == rolePrimaryOwner, Teams: teams}
		j.Teams = teams
		j.EnterpriseID, j.EnterpriseName = w.enterprise.ID, w.enterprise.Name
	}
	return j
}

type topicJSON struct {
	Value   string `json:"value"`
	Creator string `json:"creator"`
	LastSet int64  `json:"last_set"`
}

type convJSON struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name,omitempty"`
	IsChannel          bool       `json:"is_channel"`
	IsGroup            bool       `json:"is_group"`
	IsIM               bool       `json:"is_im"`
	IsMpim             bool       `json:"is_mpim"`
	IsPrivate          bool       `json:"is_private"`
	Created            int64      `json:"created"`
	IsArchived         bool       `json:"is_archived"`
	IsGeneral          bool       `json:"is_general"`
	Unlinked           int        `json:"unlinked"`
	NameNormalized     string     `json:"name_normalized,omitempty"`
	IsShared           bool       `json:"is_shared"`
	IsOrgShared        bool       `json:"is_org_shared"`
	IsExtShared        bool       `json:"is_ext_shared"`
	IsPendingExtShared bool       `json:"is_pending_ext_shared"`
	PendingShared      []string   `json:"pending_shared"`
	ContextTeamID      string     `json:"context_team_id"`
	Updated            int64      `json:"updated"`
	ParentConversation *string    `json:"parent_conversation"`
	Creator            string     `json:"creator,omitempty"`
	SharedTeamIDs      []string   `json:"shared_team_ids,omitempty"`
	IsMember           *bool      `json:"is_member,omitempty"`
	Topic              *topicJSON `json:"topic,omitempty"`
	Purpose            *topicJSON `json:"purpose,omitempty"`
	PreviousNames      []string   `json:"previous_names"`
	NumMembers         *int       `json:"num_members,omitempty"`

	im *imJSON // a DM, drawn in its own, smaller shape
}

// imJSON is a direct message as Slack draws it in conversations.list and
// conversations.info: none of the channel fields (is_channel, is_private,
// pending_shared…), but the other party, whether they are deactivated, and a
// priority.
type imJSON struct {
	ID            string  `json:"id"`
	Created       int64   `json:"created"`
	IsArchived    bool    `json:"is_archived"`
	IsIM          bool    `json:"is_im"`
	IsOrgShared   bool    `json:"is_org_shared"`
	ContextTeamID string  `json:"context_team_id"`
	Updated       int64   `json:"updated"`
	User          string  `json:"user"`
	IsUserDeleted bool    `json:"is_user_deleted"`
	Priority      float64 `json:"priority"`
}

// MarshalJSON draws a DM in its own shape. Like the reply encoder it leaves <,
// > and & as they are, so "<@U123>" in a topic reads as Slack writes it.
func (j convJSON) MarshalJSON() ([]byte, error) {
	type plain convJSON // without this method
	var v any = plain(j)
	if j.im != nil {
		v = j.im
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// renderChannel draws a conversation as seen by viewer. numMembers adds
// num_members, as conversations.list always does and conversations.info does
// on request.
func renderChannel(ch *channel, viewer *user, ctx *team, numMembers bool) convJSON {
	j := convJSON{
		ID: ch.ID, Created: ch.Created, IsArchived: ch.Archived, ContextTeamID: ch.Team.ID, Updated: ch.Updated,
		IsOrgShared: len(ch.Shared) > 0, PendingShared: []string{}, PreviousNames: []string{},
	}
	if ctx != nil {
		j.ContextTeamID = ctx.ID
	}
	if ch.Kind == kindIM {
		other := ch.IMUser
		if viewer != nil && other == viewer {
			other = ch.Creator
		}
		j.im = &imJSON{ID: ch.ID, Created: ch.Created, IsArchived: ch.Archived, IsIM: true, ContextTeamID: j.ContextTeamID,
			Updated: ch.Updated, User: other.ID, IsUserDeleted: other.Deleted}
		j.ID, j.IsIM = ch.ID, true
		return j
	}
	j.Name, j.NameNormalized, j.Creator = ch.Name, ch.Name, ch.Creator.ID
	j.IsChannel = ch.Kind == kindPublic || ch.Kind == kindPrivate
	j.IsMpim = ch.Kind == kindMPIM
	j.IsPrivate = ch.Kind != kindPublic
	j.IsGeneral = ch.General
	j.IsShared = len(ch.Shared) > 0
	if j.IsShared {
		j.SharedTeamIDs = []string{ch.Team.ID}
		for _, t := range ch.Shared {
			j.SharedTeamIDs = append(j.SharedTeamIDs, t.ID)
		}
	}
	if viewer != nil {
		member := ch.hasMember(viewer)
		j.IsMember = &member
	}
	j.Topic = &topicJSON{ch.Topic.Value, ch.Topic.Creator, ch.Topic.LastSet}
	j.Purpose = &topicJSON{ch.Purpose.Value, ch.Purpose.Creator, ch.Purpose.LastSet}
	if ch.PreviousNames != nil {
		j.PreviousNames = ch.PreviousNames
	}
	if numMembers {
		n := len(ch.members)
		j.NumMembers = &n
	}
	return j
}

type reactionJSON struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

type messageJSON struct {
	Type            string         `json:"type"`
	Subtype         string         `json:"subtype,omitempty"`
	User            string         `json:"user,omitempty"`
	BotID           string         `json:"bot_id,omitempty"`
	AppID           string         `json:"app_id,omitempty"`
	Text            string         `json:"text"`
	TS              string         `json:"ts"`
	Team            string         `json:"team,omitempty"`
	ThreadTS        string         `json:"thread_ts,omitempty"`
	ReplyCount      int            `json:"reply_count,omitempty"`
	ReplyUsersCount int            `json:"reply_users_count,omitempty"`
	LatestReply     string         `json:"latest_reply,omitempty"`
	ReplyUsers      []string       `json:"reply_users,omitempty"`
	IsLocked        *bool          `json:"is_locked,omitempty"`
	Subscribed      *bool          `json:"subscribed,omitempty"`
	ParentUserID    string         `json:"parent_user_id,omitempty"`
	Edited          *editedJSON    `json:"edited,omitempty"`
	Reactions       []reactionJSON `json:"reactions,omitempty"`
	Files           []fileJSON     `json:"files,omitempty"`
	PinnedTo        []string       `json:"pinned_to,omitempty"`
}

type editedJSON struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

func renderMessage(ch *channel, m *message) messageJSON {
	j := messageJSON{Type: "message", Subtype: m.Subtype, Text: m.Text, TS: formatTS(m.TS), Team: m.User.home().ID}
	if m.User.Role == roleBot {
		j.BotID, j.AppID = m.User.BotID, m.User.AppID
		if m.Subtype == "" {
			j.User = m.User.ID
		}
	}
	if j.User == "" {
		j.User = m.User.ID
	}
	if m.Edited != 0 {
		j.Edited = &editedJSON{User: m.User.ID, TS: formatTS(m.Edited)}
	}
	switch {
	case m.Parent != nil:
		j.ThreadTS, j.ParentUserID = formatTS(m.Parent.TS), m.Parent.User.ID
	case len(m.Replies) > 0:
		j.ThreadTS = j.TS
		j.ReplyCount = len(m.Replies)
		j.LatestReply = formatTS(m.Replies[len(m.Replies)-1].TS)
		seen := map[string]bool{}
		for _, r := range m.Replies {
			if !seen[r.User.ID] {
				seen[r.User.ID] = true
				j.ReplyUsers = append(j.ReplyUsers, r.User.ID)
			}
		}
		j.ReplyUsersCount = len(j.ReplyUsers)
		f := false
		j.IsLocked, j.Subscribed = &f, &f
	}
	for _, r := range m.Reaction {
		ids := make([]string, len(r.Users))
		for i, u := range r.Users {
			ids[i] = u.ID
		}
		j.Reactions = append(j.Reactions, reactionJSON{Name: r.Name, Users: ids, Count: len(ids)})
	}
	for _, f := range m.Files {
		j.Files = append(j.Files, renderFile(f))
	}
	if m.Pinned {
		j.PinnedTo = []string{ch.ID}
	}
	return j
}

type fileJSON struct {
	ID                 string   `json:"id"`
	Created            int64    `json:"created"`
	Timestamp          int64    `json:"timestamp"`
	Name               string   `json:"name"`
	Title              string   `json:"title"`
	Mimetype           string   `json:"mimetype"`
	Filetype           string   `json:"filetype"`
	PrettyType         string   `json:"pretty_type"`
	User               string   `json:"user"`
	UserTeam           string   `json:"user_team"`
	Editable           bool     `json:"editable"`
	Size               int      `json:"size"`
	Mode               string   `json:"mode"`
	IsExternal         bool     `json:"is_external"`
	ExternalType       string   `json:"external_type"`
	IsPublic           bool     `json:"is_public"`
	PublicURLShared    bool     `json:"public_url_shared"`
	DisplayAsBot       bool     `json:"display_as_bot"`
	Username           string   `json:"username"`
	URLPrivate         string   `json:"url_private"`
	URLPrivateDownload string   `json:"url_private_download"`
	Permalink          string   `json:"permalink"`
	PermalinkPublic    string   `json:"permalink_public"`
	Channels           []string `json:"channels"`
	Groups             []string `json:"groups"`
	IMs                []string `json:"ims"`
	CommentsCount      int      `json:"comments_count"`
}

func renderFile(f *file) fileJSON {
	ft := fileTypes[f.Type]
	base := fmt.Sprintf("https://files.slack.com/files-pri/%s-%s/", f.Team.ID, f.ID)
	j := fileJSON{
		ID: f.ID, Created: f.Created, Timestamp: f.Created, Name: f.Name, Title: f.Title, Mimetype: ft.Mime,
		Filetype: ft.Ext, PrettyType: ft.Pretty, User: f.User.ID, UserTeam: f.Team.ID, Size: f.Size, Mode: "hosted",
		IsPublic: f.Public, URLPrivate: base + f.Name, URLPrivateDownload: base + "download/" + f.Name,
		Permalink:       fmt.Sprintf("https://%s.slack.com/files/%s/%s/%s", f.Team.Domain, f.User.ID, f.ID, strings.ReplaceAll(f.Name, ".", "_")),
		PermalinkPublic: fmt.Sprintf("https://slack-files.com/%s-%s-%s", f.Team.ID, f.ID, avatarHash(f.User)[:10]),
		Channels:        []string{}, Groups: []string{}, IMs: []string{},
	}
	for _, c := range f.Channels {
		switch c.Kind {
		case kindPublic:
			j.Channels = append(j.Channels, c.ID)
		case kindIM:
			j.IMs = append(j.IMs, c.ID)
		default:
			j.Groups = append(j.Groups, c.ID)
		}
	}
	return j
}

type usergroupJSON struct {
	ID                  string         `json:"id"`
	TeamID              string         `json:"team_id"`
	IsUsergroup         bool           `json:"is_usergroup"`
	IsSubteam           bool           `json:"is_subteam"`
	Name                string         `json:"name"`
	Description         string         `json:"description"`
	Handle              string         `json:"handle"`
	IsExternal          bool           `json:"is_external"`
	DateCreate          int64          `json:"date_create"`
	DateUpdate          int64          `json:"date_update"`
	DateDelete          int64          `json:"date_delete"`
	AutoType            *string        `json:"auto_type"`
	AutoProvision       bool           `json:"auto_provision"`
	EnterpriseSubteamID string         `json:"enterprise_subteam_id"`
	CreatedBy           string         `json:"created_by"`
	UpdatedBy           string         `json:"updated_by"`
	DeletedBy           *string        `json:"deleted_by"`
	Prefs               usergroupPrefs `json:"prefs"`
	Users               []string       `json:"users,omitempty"`
	UserCount           *int           `json:"user_count,omitempty"`
	ChannelCount        int            `json:"channel_count"`
}

type usergroupPrefs struct {
	Channels []string `json:"channels"`
	Groups   []string `json:"groups"`
}

func renderUsergroup(g *usergroup, withUsers, withCount bool) usergroupJSON {
	j := usergroupJSON{
		ID: g.ID, TeamID: g.Team.ID, IsUsergroup: true, IsSubteam: true, Name: g.Name, Description: g.Description,
		Handle: g.Handle, DateCreate: g.Created, DateUpdate: g.Updated, DateDelete: g.Deleted,
		CreatedBy: g.CreatedBy.ID, UpdatedBy: g.UpdatedBy.ID, Prefs: usergroupPrefs{Channels: []string{}, Groups: []string{}},
		ChannelCount: len(g.channels),
	}
	if g.AutoType != "" {
		at := g.AutoType
		j.AutoType = &at
	}
	if g.Deleted != 0 {
		by := g.UpdatedBy.ID
		j.DeletedBy = &by
	}
	for _, c := range g.channels {
		j.Prefs.Channels = append(j.Prefs.Channels, c.ID)
	}
	if withUsers {
		j.Users = userIDs(g.users)
	}
	if withCount {
		n := len(g.users)
		j.UserCount = &n
	}
	return j
}

func userIDs(us []*user) []string {
	ids := make([]string, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

func (w *world) renderTeam(t *team) map[string]any {
	icon := map[string]any{}
	for _, size := range []int{34, 44, 68, 88, 102, 132, 230} {
		icon[fmt.Sprintf("image_%d", size)] = fmt.Sprintf("https://avatars.slack-edge.com/%s/%s_%d.png", t.ID, t.IconHash, size)
	}
	icon["image_default"] = false
	j := map[string]any{
		"id": t.ID, "name": t.Name, "url": "https://" + t.Domain + ".slack.com/", "domain": t.Domain,
		"email_domain": t.EmailDomain, "icon": icon, "avatar_base_url": "https://ca.slack-edge.com/",
		"is_verified": false, "lob_sales_home_enabled": false, "discoverable": nil,
	}
	if w.enterprise != nil {
		j["enterprise_id"] = w.enterprise.ID
		j["enterprise_name"] = w.enterprise.Name
		j["enterprise_domain"] = w.enterprise.Domain
	}
	return j
}
