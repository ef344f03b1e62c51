package slacksim

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// A snapshot is the sandbox's mutable state as one JSON document: the world
// as it is now (generated, then changed by installs, controls, SCIM and write
// methods), the registered apps with their secrets, every grant and every
// access and refresh token with its scopes, expiry and revoked state, and the
// clock's advance. What is not in it lives for one run: rate windows, faults,
// stats, open consent pages and authorization codes not yet exchanged.
//
// The world is a graph of pointers; the snapshot names each object by its
// Slack ID instead. The wire types embed the model's own struct (as a
// method-less copy of its type) so that its plain fields are written as they
// are, and shadow each pointer field with the ID (or IDs) it points to: a
// field of the outer struct hides the embedded one of the same name in
// encoding/json. A field added to the model is therefore saved without a
// change here, unless it is a pointer, which the round-trip test catches.

// snapshotVersion is the format of the state file; a file of another version
// is refused, not guessed at.
const snapshotVersion = 1

// snapshot is the state file's document.
type snapshot struct {
	Version     int           `json:"version"`
	SavedAt     time.Time     `json:"saved_at"`
	Config      WorldConfig   `json:"config"`
	Addr        string        `json:"addr,omitempty"`
	ClockOffset time.Duration `json:"clock_offset"`
	DefaultApp  string        `json:"default_app"` // the client ID of the app the start line announces
	Apps        []*app        `json:"apps"`
	Grants      []snapGrant   `json:"grants"`
	Access      []snapAccess  `json:"access_tokens"`
	Refresh     []snapRefresh `json:"refresh_tokens"`
	World       *snapWorld    `json:"world"`
}

// WorldConfig is the part of Config the world is generated from. A saved
// sandbox keeps its world, so it must be started with the same.
type WorldConfig struct {
	Seed       int64   `json:"seed"`
	Users      int     `json:"users"`
	Channels   int     `json:"channels"`
	Workspaces int     `json:"workspaces"`
	Edition    Edition `json:"edition"`
}

// World is the part of c the world is generated from. Workspaces counts only
// on Enterprise Grid and is 1 otherwise.
func (c Config) World() WorldConfig {
	wc := WorldConfig{Seed: c.Seed, Users: c.Users, Channels: c.Channels, Workspaces: c.Workspaces, Edition: c.Edition}
	if wc.Edition != EditionEnterpriseGrid {
		wc.Workspaces = 1
	}
	return wc
}

// diff names each setting that differs between the saved world (w) and the
// one asked for (want), as "edition: saved enterprise_grid, asked free".
func (w WorldConfig) diff(want WorldConfig) []string {
	var out []string
	add := func(name string, saved, asked any) {
		if saved != asked {
			out = append(out, fmt.Sprintf("%s: saved %v, asked %v", name, saved, asked))
		}
	}
	add("seed", w.Seed, want.Seed)
	add("users", w.Users, want.Users)
	add("channels", w.Channels, want.Channels)
	add("edition", w.Edition, want.Edition)
	if w.Edition == want.Edition {
		add("workspaces", w.Workspaces, want.Workspaces) // another edition says enough
	}
	return out
}

type snapGrant struct {
	App        string   `json:"app"` // client ID
	Kind       string   `json:"kind"`
	Team       string   `json:"team,omitempty"`
	Enterprise string   `json:"enterprise,omitempty"`
	OrgInstall bool     `json:"org_install,omitempty"`
	User       string   `json:"user"`
	BotID      string   `json:"bot_id,omitempty"`
	Scopes     []string `json:"scopes"`
	Teams      []string `json:"teams,omitempty"`
	Revoked    bool     `json:"revoked,omitempty"`
	PKCE       bool     `json:"pkce,omitempty"`
	Static     string   `json:"static,omitempty"`
}

type snapAccess struct {
	Value     string    `json:"value"`
	Grant     int       `json:"grant"` // index in grants
	Expires   time.Time `json:"expires,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
	Legacy    bool      `json:"legacy,omitempty"`
	Exchanged bool      `json:"exchanged,omitempty"`
}

type snapRefresh struct {
	Value string `json:"value"`
	Grant int    `json:"grant"`
	Used  bool   `json:"used,omitempty"`
}

// The world's wire types. Each plainX is X without its methods, embedded so
// that X's plain fields are written as they are; the fields beside it shadow
// X's pointers with IDs, and carry its unexported fields.
type (
	plainTeam      team
	plainUser      user
	plainChannel   channel
	plainMessage   message
	plainFile      file
	plainBookmark  bookmark
	plainUsergroup usergroup
	plainIntLog    integrationLog
	plainCall      slackCall
)

type snapWorld struct {
	Edition    Edition
	Anchor     int64
	Seq        uint64
	IDStream   []byte // the ID stream's state (math/rand/v2 PCG)
	Enterprise *enterprise
	Owner      string
	Teams      []snapTeam
	Users      []snapUser
	Channels   []snapChannel
	Files      []snapFile
	Groups     []snapUsergroup
	Calls      []snapCall
	EmailIndex map[string]string
	SCIM       map[string]snapSCIM
}

type snapTeam struct {
	plainTeam
	Users      []string
	Channels   []string
	Usergroups []string
	Files      []string
	Logins     []snapLoginRef
	IntLogs    []snapIntLog
	Emoji      []emoji
}

type snapLoginRef struct {
	User string
	I    int
}

type snapIntLog struct {
	plainIntLog
	User string
}

type snapUser struct {
	plainUser
	Teams  []string
	Logins []login
	IMs    []string
}

type snapChannel struct {
	plainChannel
	Team      string
	Shared    []string
	Creator   string
	IMUser    string
	Members   []string
	Messages  []snapMessage
	Bookmarks []snapBookmark
}

type snapMessage struct {
	plainMessage
	User     string
	Replies  []snapMessage
	Parent   *struct{} `json:",omitempty"` // a reply's parent is the message it is nested in
	Reaction []snapReaction
	Files    []string
}

type snapReaction struct {
	Name  string
	Users []string
}

type snapBookmark struct {
	plainBookmark
	By string
}

type snapFile struct {
	plainFile
	User     string
	Team     string
	Channels []string
}

type snapUsergroup struct {
	plainUsergroup
	Team      string
	CreatedBy string
	UpdatedBy string
	Users     []string
	Channels  []string
}

type snapCall struct {
	plainCall
	Team     string
	Users    []string
	Channels []string
}

type snapSCIM struct {
	ExternalID, Email2, Role                                                  string `json:",omitempty"`
	EmployeeNumber, CostCenter, Organization, Division, Department, ManagerID string `json:",omitempty"`
}

func idOf[T any](x *T, id func(*T) string) string {
	if x == nil {
		return ""
	}
	return id(x)
}

func userID(u *user) string           { return idOf(u, func(u *user) string { return u.ID }) }
func teamID(t *team) string           { return idOf(t, func(t *team) string { return t.ID }) }
func channelID(c *channel) string     { return idOf(c, func(c *channel) string { return c.ID }) }
func fileID(f *file) string           { return f.ID }
func groupID(g *usergroup) string     { return g.ID }
func userRefs(us []*user) []string    { return mapIDs(us, userID) }
func teamRefs(ts []*team) []string    { return mapIDs(ts, teamID) }
func chanRefs(cs []*channel) []string { return mapIDs(cs, channelID) }

func mapIDs[T any](xs []T, id func(T) string) []string {
	if xs == nil {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

// sortedValues lists a map's values in the order of their keys, so that a
// state file saved twice from the same state is the same file.
func sortedValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// snapshotWorld describes w. The caller holds w's lock (a read lock will do).
func snapshotWorld(w *world) (*snapWorld, error) {
	ids, err := w.ids.src.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("the ID stream: %w", err)
	}
	sw := &snapWorld{Edition: w.edition, Anchor: w.anchor, Seq: w.seq, IDStream: ids, Enterprise: w.enterprise,
		Owner: userID(w.owner), EmailIndex: make(map[string]string, len(w.emailIndex)), SCIM: map[string]snapSCIM{}}
	for _, t := range w.teams {
		st := snapTeam{plainTeam: plainTeam(*t), Users: userRefs(t.users), Channels: chanRefs(t.channels),
			Usergroups: mapIDs(t.usergroups, groupID), Files: mapIDs(t.files, fileID), Emoji: t.emoji}
		for _, l := range t.logins {
			st.Logins = append(st.Logins, snapLoginRef{User: l.u.ID, I: l.i})
		}
		for i := range t.intLogs {
			st.IntLogs = append(st.IntLogs, snapIntLog{plainIntLog: plainIntLog(t.intLogs[i]), User: userID(t.intLogs[i].User)})
		}
		sw.Teams = append(sw.Teams, st)
	}
	for _, u := range sortedValues(w.users) {
		sw.Users = append(sw.Users, snapUser{plainUser: plainUser(*u), Teams: teamRefs(u.Teams), Logins: u.logins, IMs: chanRefs(u.ims)})
	}
	for _, c := range sortedValues(w.channels) {
		sc := snapChannel{plainChannel: plainChannel(*c), Team: teamID(c.Team), Shared: teamRefs(c.Shared), Creator: userID(c.Creator),
			IMUser: userID(c.IMUser), Members: userRefs(c.members), Messages: snapMessages(c.messages)}
		for _, b := range c.bookmarks {
			sc.Bookmarks = append(sc.Bookmarks, snapBookmark{plainBookmark: plainBookmark(*b), By: userID(b.By)})
		}
		sw.Channels = append(sw.Channels, sc)
	}
	for _, f := range sortedValues(w.files) {
		sw.Files = append(sw.Files, snapFile{plainFile: plainFile(*f), User: userID(f.User), Team: teamID(f.Team), Channels: chanRefs(f.Channels)})
	}
	for _, g := range sortedValues(w.groups) {
		sw.Groups = append(sw.Groups, snapUsergroup{plainUsergroup: plainUsergroup(*g), Team: teamID(g.Team), CreatedBy: userID(g.CreatedBy),
			UpdatedBy: userID(g.UpdatedBy), Users: userRefs(g.users), Channels: chanRefs(g.channels)})
	}
	for _, c := range sortedValues(w.calls) {
		sw.Calls = append(sw.Calls, snapCall{plainCall: plainCall(*c), Team: teamID(c.Team), Users: userRefs(c.Users), Channels: chanRefs(c.Channels)})
	}
	for e, u := range w.emailIndex {
		sw.EmailIndex[e] = u.ID
	}
	for id, x := range w.scim.users {
		sw.SCIM[id] = snapSCIM{ExternalID: x.externalID, Email2: x.email2, Role: x.role, EmployeeNumber: x.ent.employeeNumber,
			CostCenter: x.ent.costCenter, Organization: x.ent.organization, Division: x.ent.division, Department: x.ent.department, ManagerID: x.ent.managerID}
	}
	return sw, nil
}

func snapMessages(ms []*message) []snapMessage {
	if ms == nil {
		return nil
	}
	out := make([]snapMessage, len(ms))
	for i, m := range ms {
		sm := snapMessage{plainMessage: plainMessage(*m), User: userID(m.User), Replies: snapMessages(m.Replies), Files: mapIDs(m.Files, fileID)}
		for _, r := range m.Reaction {
			sm.Reaction = append(sm.Reaction, snapReaction{Name: r.Name, Users: userRefs(r.Users)})
		}
		out[i] = sm
	}
	return out
}

// refs resolves the IDs of a snapshot to the objects being rebuilt, and keeps
// the first that names nothing: a file whose references do not hold together
// is refused whole.
type refs struct {
	w   *world
	err error
}

func (r *refs) fail(kind, id string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s %q is named but not saved", kind, id)
	}
}

func (r *refs) user(id string) *user {
	if id == "" {
		return nil
	}
	u := r.w.users[id]
	if u == nil {
		r.fail("user", id)
	}
	return u
}

func (r *refs) team(id string) *team {
	if id == "" {
		return nil
	}
	t := r.w.team(id)
	if t == nil {
		r.fail("workspace", id)
	}
	return t
}

func (r *refs) channel(id string) *channel {
	c := r.w.channels[id]
	if c == nil {
		r.fail("channel", id)
	}
	return c
}

func (r *refs) file(id string) *file {
	f := r.w.files[id]
	if f == nil {
		r.fail("file", id)
	}
	return f
}

func (r *refs) group(id string) *usergroup {
	g := r.w.groups[id]
	if g == nil {
		r.fail("user group", id)
	}
	return g
}

func resolveAll[T any](ids []string, one func(string) T) []T {
	if ids == nil {
		return nil
	}
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = one(id)
	}
	return out
}

// restoreWorld rebuilds the world a snapshot describes.
func restoreWorld(sw *snapWorld) (*world, error) {
	if sw == nil {
		return nil, errors.New("no world")
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(sw.IDStream); err != nil {
		return nil, fmt.Errorf("the ID stream: %w", err)
	}
	w := &world{
		edition: sw.Edition, enterprise: sw.Enterprise, anchor: sw.Anchor, seq: sw.Seq,
		users: make(map[string]*user, len(sw.Users)), channels: make(map[string]*channel, len(sw.Channels)),
		files: make(map[string]*file, len(sw.Files)), calls: make(map[string]*slackCall, len(sw.Calls)),
		groups: make(map[string]*usergroup, len(sw.Groups)), emailIndex: make(map[string]*user, len(sw.EmailIndex)),
		handles: make(map[string]int, len(sw.Users)),
		scim:    &scimState{users: make(map[string]*scimExtra, len(sw.SCIM))},
	}
	w.ids = &idSource{rnd: rand.New(src).Uint64, src: src, seen: map[string]struct{}{}}
	r := &refs{w: w}
	// Objects first, then the references between them, in an order where
	// each refers only to objects already made.
	for i := range sw.Teams {
		w.teams = append(w.teams, (*team)(&sw.Teams[i].plainTeam))
	}
	if len(w.teams) == 0 {
		return nil, errors.New("no workspace")
	}
	for i := range sw.Users {
		su := &sw.Users[i]
		u := (*user)(&su.plainUser)
		u.Teams, u.logins = resolveAll(su.Teams, r.team), su.Logins
		if len(u.Teams) == 0 {
			return nil, fmt.Errorf("user %q belongs to no workspace", u.ID)
		}
		w.users[u.ID] = u
		w.handles[strings.ToLower(u.Name)]++
	}
	for i := range sw.Channels {
		sc := &sw.Channels[i]
		c := (*channel)(&sc.plainChannel)
		c.Team, c.Shared, c.Creator, c.IMUser = r.team(sc.Team), resolveAll(sc.Shared, r.team), r.user(sc.Creator), r.user(sc.IMUser)
		c.members = resolveAll(sc.Members, r.user)
		w.channels[c.ID] = c
	}
	for i := range sw.Files {
		sf := &sw.Files[i]
		f := (*file)(&sf.plainFile)
		f.User, f.Team, f.Channels = r.user(sf.User), r.team(sf.Team), resolveAll(sf.Channels, r.channel)
		w.files[f.ID] = f
	}
	for _, sc := range sw.Channels {
		c := w.channels[sc.ID]
		c.messages = restoreMessages(r, sc.Messages, nil)
		for i := range sc.Bookmarks {
			sb := &sc.Bookmarks[i]
			b := (*bookmark)(&sb.plainBookmark)
			b.By = r.user(sb.By)
			c.bookmarks = append(c.bookmarks, b)
		}
	}
	for _, su := range sw.Users {
		w.users[su.ID].ims = resolveAll(su.IMs, r.channel)
	}
	for i := range sw.Groups {
		sg := &sw.Groups[i]
		g := (*usergroup)(&sg.plainUsergroup)
		g.Team, g.CreatedBy, g.UpdatedBy = r.team(sg.Team), r.user(sg.CreatedBy), r.user(sg.UpdatedBy)
		g.users, g.channels = resolveAll(sg.Users, r.user), resolveAll(sg.Channels, r.channel)
		w.groups[g.ID] = g
	}
	for i := range sw.Calls {
		sc := &sw.Calls[i]
		c := (*slackCall)(&sc.plainCall)
		c.Team, c.Users, c.Channels = r.team(sc.Team), resolveAll(sc.Users, r.user), resolveAll(sc.Channels, r.channel)
		w.calls[c.ID] = c
	}
	for i, st := range sw.Teams {
		t := w.teams[i]
		t.users, t.channels = resolveAll(st.Users, r.user), resolveAll(st.Channels, r.channel)
		t.usergroups, t.files, t.emoji = resolveAll(st.Usergroups, r.group), resolveAll(st.Files, r.file), st.Emoji
		for _, l := range st.Logins {
			u := r.user(l.User)
			if u != nil && (l.I < 0 || l.I >= len(u.logins)) {
				return nil, fmt.Errorf("user %q has no login %d", l.User, l.I)
			}
			t.logins = append(t.logins, loginRef{u: u, i: l.I})
		}
		for _, sl := range st.IntLogs {
			l := integrationLog(sl.plainIntLog)
			l.User = r.user(sl.User)
			t.intLogs = append(t.intLogs, l)
		}
	}
	for e, id := range sw.EmailIndex {
		w.emailIndex[e] = r.user(id)
	}
	for id, x := range sw.SCIM {
		w.scim.users[id] = &scimExtra{externalID: x.ExternalID, email2: x.Email2, role: x.Role, ent: scimEnt{employeeNumber: x.EmployeeNumber,
			costCenter: x.CostCenter, organization: x.Organization, division: x.Division, department: x.Department, managerID: x.ManagerID}}
	}
	w.owner = r.user(sw.Owner)
	if r.err != nil {
		return nil, r.err
	}
	if w.owner == nil {
		return nil, errors.New("no primary owner")
	}
	w.rememberIDs()
	return w, nil
}

func restoreMessages(r *refs, sms []snapMessage, parent *message) []*message {
	if sms == nil {
		return nil
	}
	out := make([]*message, len(sms))
	for i := range sms {
		sm := &sms[i]
		m := (*message)(&sm.plainMessage)
		m.User, m.Parent, m.Files = r.user(sm.User), parent, resolveAll(sm.Files, r.file)
		m.Replies = restoreMessages(r, sm.Replies, m)
		for _, sr := range sm.Reaction {
			m.Reaction = append(m.Reaction, reaction{Name: sr.Name, Users: resolveAll(sr.Users, r.user)})
		}
		out[i] = m
	}
	return out
}

// rememberIDs marks every ID in the world as taken, so that the ID stream,
// though it continues where it was, never hands out one already in use.
func (w *world) rememberIDs() {
	seen := w.ids.seen
	add := func(id string) {
		if id != "" {
			seen[id] = struct{}{}
		}
	}
	if w.enterprise != nil {
		add(w.enterprise.ID)
	}
	for _, t := range w.teams {
		add(t.ID)
		for _, l := range t.intLogs {
			add(l.AppID)
		}
	}
	for id, u := range w.users {
		add(id)
		add(u.BotID)
		add(u.AppID)
	}
	for id, c := range w.channels {
		add(id)
		for _, b := range c.bookmarks {
			add(b.ID)
		}
	}
	for id := range w.files {
		add(id)
	}
	for id := range w.groups {
		add(id)
	}
	for id := range w.calls {
		add(id)
	}
}

// snapshotAuth describes the apps, grants and tokens. The caller holds the
// auth lock.
func snapshotAuth(a *authState, snap *snapshot) {
	snap.Apps = sortedValues(a.apps)
	index := make(map[*grant]int, len(a.grants))
	for i, g := range a.grants {
		index[g] = i
		snap.Grants = append(snap.Grants, snapGrant{App: g.app.ClientID, Kind: g.kind.String(), Team: teamID(g.team),
			Enterprise: idOf(g.enterprise, func(e *enterprise) string { return e.ID }), OrgInstall: g.orgInstall, User: userID(g.user),
			BotID: g.botID, Scopes: g.scopes, Teams: teamRefs(g.teams), Revoked: g.revoked, PKCE: g.pkce, Static: g.static})
	}
	for _, t := range sortedValues(a.access) {
		snap.Access = append(snap.Access, snapAccess{Value: t.value, Grant: index[t.g], Expires: t.expires, Revoked: t.revoked,
			Legacy: t.legacy, Exchanged: t.exchanged})
	}
	for _, t := range sortedValues(a.refresh) {
		snap.Refresh = append(snap.Refresh, snapRefresh{Value: t.value, Grant: index[t.g], Used: t.used})
	}
}

// restoreAuth rebuilds the apps, grants and tokens of a snapshot over w.
func restoreAuth(snap *snapshot, w *world) (*authState, error) {
	a := newAuthState()
	for _, ap := range snap.Apps {
		if ap == nil || ap.ClientID == "" || ap.ClientSecret == "" {
			return nil, errors.New("an app with no client ID or secret")
		}
		a.apps[ap.ClientID] = ap
	}
	r := &refs{w: w}
	for i, sg := range snap.Grants {
		g := &grant{app: a.apps[sg.App], team: r.team(sg.Team), orgInstall: sg.OrgInstall, user: r.user(sg.User), botID: sg.BotID,
			scopes: sg.Scopes, teams: resolveAll(sg.Teams, r.team), revoked: sg.Revoked, pkce: sg.PKCE, static: sg.Static}
		switch sg.Kind {
		case "bot":
			g.kind = kindBot
		case "user":
			g.kind = kindUser
		default:
			return nil, fmt.Errorf("grant %d: kind %q", i, sg.Kind)
		}
		if g.app == nil {
			return nil, fmt.Errorf("grant %d: app %q is not saved", i, sg.App)
		}
		if g.user == nil {
			return nil, fmt.Errorf("grant %d: no user", i)
		}
		if sg.Enterprise != "" {
			if w.enterprise == nil || w.enterprise.ID != sg.Enterprise {
				return nil, fmt.Errorf("grant %d: enterprise %q is not this org", i, sg.Enterprise)
			}
			g.enterprise = w.enterprise
		}
		a.grants = append(a.grants, g)
	}
	grantAt := func(i int) (*grant, error) {
		if i < 0 || i >= len(a.grants) {
			return nil, fmt.Errorf("a token names grant %d of %d", i, len(a.grants))
		}
		return a.grants[i], nil
	}
	for _, st := range snap.Access {
		g, err := grantAt(st.Grant)
		if err != nil {
			return nil, err
		}
		a.access[st.Value] = &accessToken{value: st.Value, g: g, expires: st.Expires, revoked: st.Revoked, legacy: st.Legacy, exchanged: st.Exchanged}
	}
	for _, st := range snap.Refresh {
		g, err := grantAt(st.Grant)
		if err != nil {
			return nil, err
		}
		a.refresh[st.Value] = &refreshToken{value: st.Value, g: g, used: st.Used}
	}
	if r.err != nil {
		return nil, r.err
	}
	return a, nil
}
