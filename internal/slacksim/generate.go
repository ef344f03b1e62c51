package slacksim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// genSpec is what a workspace is generated from. The same spec gives the same
// workspace, ID for ID, on any machine and on the same day (timestamps are
// offsets from Anchor, the start of the day the sandbox starts on).
type genSpec struct {
	Seed       int64
	Users      int
	Channels   int
	Workspaces int // Enterprise Grid only
	Edition    Edition
	Anchor     time.Time
}

const day = 86400

// gen carries the generator's random stream and the world it fills.
type gen struct {
	r      *rand.Rand
	w      *world
	spec   genSpec
	anchor int64
	domain string
	handle map[string]int
}

// generate builds the workspace for spec. It is the only writer of a fresh world,
// so it takes no locks.
func generate(spec genSpec) *world {
	src := rand.NewPCG(uint64(spec.Seed), 0x9e3779b97f4a7c15)
	r := rand.New(src)
	w := &world{
		edition:    spec.Edition,
		users:      make(map[string]*user, spec.Users+16),
		channels:   map[string]*channel{},
		files:      map[string]*file{},
		calls:      map[string]*slackCall{},
		groups:     map[string]*usergroup{},
		emailIndex: make(map[string]*user, spec.Users+16),
		handles:    make(map[string]int, spec.Users+16),
		scim:       &scimState{users: map[string]*scimExtra{}},
		anchor:     spec.Anchor.UTC().Truncate(24 * time.Hour).Unix(),
	}
	w.ids = &idSource{rnd: r.Uint64, src: src, seen: map[string]struct{}{}}
	g := &gen{r: r, w: w, spec: spec, anchor: w.anchor, handle: make(map[string]int, spec.Users)}
	g.org()
	g.people()
	for _, t := range w.teams {
		g.channelsFor(t)
	}
	g.directMessages()
	g.sharedChannels()
	for _, t := range w.teams {
		g.messagesFor(t)
		g.filesFor(t)
		g.usergroupsFor(t)
		g.emojiFor(t)
		g.integrationLogsFor(t)
		g.callsFor(t)
		g.accessLogIndex(t)
	}
	return w
}

func (g *gen) pick(n int) int             { return g.r.IntN(n) }
func (g *gen) chance(p float64) bool      { return g.r.Float64() < p }
func (g *gen) between(lo, hi int64) int64 { return lo + g.r.Int64N(max(hi-lo, 1)) }
func pickFrom[T any](g *gen, xs []T) T    { return xs[g.r.IntN(len(xs))] }
func (g *gen) daysAgo(lo, hi int) int64 {
	return g.anchor - int64(lo)*day - g.r.Int64N(int64(max(hi-lo, 1))*day)
}
func slug(s string) string      { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
func (g *gen) hex(n int) string { return fmt.Sprintf("%0*x", n, g.r.Uint64())[:n] }

func (g *gen) org() {
	company := pickFrom(g, companyNames)
	g.domain = slug(company) + ".example"
	w := g.w
	n := 1
	if g.spec.Edition == EditionEnterpriseGrid {
		w.enterprise = &enterprise{ID: w.newID("E"), Name: company + " Corp", Domain: slug(company) + "-corp"}
		n = max(g.spec.Workspaces, 1)
	}
	created := g.daysAgo(1500, 2500)
	for i := range n {
		t := &team{ID: w.newID("T"), Name: company, Domain: slug(company), EmailDomain: g.domain, Created: created, IconHash: g.hex(12)}
		if w.enterprise != nil {
			suffix := workspaceSuffixes[i%len(workspaceSuffixes)]
			t.Name = company + " " + suffix
			t.Domain = slug(company) + "-" + strings.ToLower(suffix)
		}
		w.teams = append(w.teams, t)
	}
	slices.SortFunc(w.teams[1:], func(a, b *team) int { return strings.Compare(a.ID, b.ID) })
}

var guestDomains = []string{"contractor.example", "agency.example", "partner.example", "freelance.example"}

var statuses = []struct{ Text, Emoji string }{
	{"In a meeting", ":calendar:"}, {"Out sick", ":face_with_thermometer:"}, {"Vacationing", ":palm_tree:"},
	{"Commuting", ":bus:"}, {"Working remotely", ":house_with_garden:"}, {"Focus time", ":headphones:"},
}

// people makes Slackbot and spec.Users accounts with a realistic mix of roles.
func (g *gen) people() {
	w := g.w
	slackbot := &user{
		ID: "USLACKBOT", Name: "slackbot", RealName: "Slackbot", FirstName: "slackbot", Color: "757575",
		Role: roleSlackbot, Teams: slices.Clone(w.teams), Created: w.teams[0].Created, Updated: 0, Activity: 1,
		LastActive: g.anchor - day,
	}
	g.add(slackbot)
	paid := g.spec.Edition.paid()
	for i := range g.spec.Users {
		u := &user{Role: roleMember, TZ: g.weightedTZ(), Locale: g.weightedLocale(), Color: pickFrom(g, colors)}
		switch p := g.r.Float64(); {
		case i == 0:
			u.Role = rolePrimaryOwner
			w.owner = u
		case p < 0.02:
			u.Role = roleBot
		case p < 0.025:
			u.Role = roleOwner
		case p < 0.05:
			u.Role = roleAdmin
		case paid && p < 0.10:
			u.Role = roleMultiGuest
		case paid && p < 0.13:
			u.Role = roleSingleGuest
		}
		prefix := "U"
		if w.enterprise != nil {
			prefix = "W"
		}
		u.ID = w.newID(prefix)
		if u.Role == roleBot {
			g.botUser(u)
		} else {
			g.human(u, i == 0)
		}
		g.teamsFor(u)
		g.add(u)
	}
	for _, t := range w.teams {
		slices.SortFunc(t.users, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	}
}

func (g *gen) add(u *user) {
	g.w.users[u.ID] = u
	g.w.handles[strings.ToLower(u.Name)]++
	if u.Email != "" {
		g.w.emailIndex[strings.ToLower(u.Email)] = u
	}
	if len(u.Teams) == 0 {
		return
	}
	for _, t := range u.Teams {
		t.users = append(t.users, u)
	}
}

func (g *gen) teamsFor(u *user) {
	teams := g.w.teams
	if len(teams) == 1 || u.isAdmin() {
		u.Teams = slices.Clone(teams)
		return
	}
	home := teams[g.pick(len(teams))]
	u.Teams = []*team{home}
	if g.chance(0.25) {
		other := teams[g.pick(len(teams))]
		if other != home {
			u.Teams = append(u.Teams, other)
		}
	}
}

func (g *gen) uniqueHandle(base string) string {
	n := g.handle[base]
	g.handle[base] = n + 1
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s%d", base, n+1)
}

func (g *gen) human(u *user, primary bool) {
	u.FirstName, u.LastName = pickFrom(g, firstNames), pickFrom(g, lastNames)
	u.RealName = u.FirstName + " " + u.LastName
	u.Name = g.uniqueHandle(strings.ToLower(u.FirstName + "." + u.LastName))
	domain := g.domain
	if u.isGuest() {
		domain = pickFrom(g, guestDomains)
	}
	u.Email = u.Name + "@" + domain
	switch p := g.r.Float64(); {
	case p < 0.6:
		u.DisplayName = u.FirstName
	case p < 0.8:
		u.DisplayName = strings.ToLower(u.FirstName) + "." + strings.ToLower(u.LastName[:1])
	}
	u.Title = pickFrom(g, titles)
	if g.chance(0.3) {
		u.Phone = fmt.Sprintf("+1 555 %03d %04d", g.pick(1000), g.pick(10000))
	}
	if g.chance(0.2) {
		u.Pronouns = pickFrom(g, []string{"she/her", "he/him", "they/them"})
	}
	if g.chance(0.15) {
		s := pickFrom(g, statuses)
		u.StatusText, u.StatusEmoji = s.Text, s.Emoji
	}
	u.Has2FA = g.chance(0.6)
	if primary {
		u.Created = g.w.teams[0].Created
	} else {
		u.Created = g.daysAgo(1, 1400)
	}
	u.StartDate = time.Unix(u.Created, 0).UTC().Format(time.DateOnly)
	if u.isGuest() && g.chance(0.3) {
		u.GuestExpiry = g.anchor + g.between(10, 120)*day
	}

	// Activity: most people work daily, some weekly, some rarely, some never
	// came back. Guests and deactivated accounts lean to the rare end.
	switch p := g.r.Float64(); {
	case p < 0.55 && !u.isGuest():
		u.Activity = 0.75 + 0.2*g.r.Float32()
		u.LastActive = g.anchor - day + g.between(8, 20)*3600
	case p < 0.75:
		u.Activity = 0.2 + 0.3*g.r.Float32()
		u.LastActive = g.daysAgo(1, 7)
	case p < 0.9:
		u.Activity = 0.02 + 0.08*g.r.Float32()
		u.LastActive = g.daysAgo(3, 40)
	default:
		u.Activity = 0
		u.LastActive = g.daysAgo(30, 365)
	}
	if primary {
		u.Activity, u.LastActive = 0.95, g.anchor-day+17*3600
	}
	u.LastActive = max(u.LastActive, u.Created+3600)
	u.Updated = g.between(u.Created, max(u.LastActive, u.Created+1))

	deleteChance := 0.07
	if u.isGuest() {
		deleteChance = 0.2
	}
	switch {
	case primary:
	case g.chance(deleteChance):
		u.Deleted = true
		u.Activity = 0
		gone := g.between(u.Created+day, g.anchor-day)
		u.LastActive = min(u.LastActive, gone-day)
		u.LastActive = max(u.LastActive, u.Created+3600)
		u.Updated = gone
		u.StatusText, u.StatusEmoji = "", ""
	case u.Role == roleMember && g.chance(0.02):
		u.Invited = true
		u.Activity, u.LastActive = 0, 0
		u.Created = g.daysAgo(1, 30)
		u.Updated = u.Created
	}
	if !u.Invited && !u.Deleted {
		g.logins(u)
	}
}

func (g *gen) botUser(u *user) {
	app := pickFrom(g, thirdPartyApps)
	u.RealName = app
	u.FirstName = app
	u.Name = g.uniqueHandle(strings.ToLower(strings.ReplaceAll(app, " ", "")))
	u.BotID = g.w.newID("B")
	u.AppID = g.w.newID("A")
	u.Created = g.daysAgo(10, 1200)
	u.Updated = g.between(u.Created, g.anchor)
	u.Activity = 1
	u.LastActive = g.anchor - day
	if g.chance(0.1) {
		u.Deleted = true // an uninstalled app's bot stays in the directory, deactivated
		u.Activity = 0
		u.LastActive = u.Updated
	}
}

// weighted picks an index in [0,n) with chance proportional to weight(i).
func (g *gen) weighted(n int, weight func(int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	r := g.pick(total)
	for i := range n {
		if r < weight(i) {
			return i
		}
		r -= weight(i)
	}
	return 0
}

func (g *gen) weightedTZ() int {
	return g.weighted(len(timezones), func(i int) int { return timezones[i].Weight })
}

func (g *gen) weightedLocale() int {
	return g.weighted(len(locales), func(i int) int { return locales[i].Weight })
}

// tzPlace maps a time zone to the place its users log in from.
var tzPlace = []int{0, 2, 2, 1, 7, 3, 4, 5, 9, 6, 10, 8, 11}

// logins gives a user one access-log entry per device: the primary device was
// last used on the user's last active day; others earlier.
func (g *gen) logins(u *user) {
	devices := 1
	if u.Activity > 0.5 {
		devices = 1 + g.pick(3)
	} else if u.Activity > 0.1 {
		devices = 1 + g.pick(2)
	}
	placeIdx := tzPlace[u.TZ]
	agents := g.r.Perm(len(userAgents))[:devices]
	for d, agent := range agents {
		last := u.LastActive
		if d > 0 {
			last = g.between(u.Created+3600, u.LastActive)
		}
		first := g.between(u.Created, last)
		days := max((last-first)/day, 1)
		count := 1 + int(float64(days)*float64(max(u.Activity, 0.01))*(1+g.r.Float64()))
		u.logins = append(u.logins, login{
			First: first, Last: last, Count: count, Agent: agent, Place: placeIdx,
			IP: fmt.Sprintf("%d.%d.%d.%d", 23+g.pick(180), g.pick(256), g.pick(256), 1+g.pick(254)),
		})
	}
}

func (g *gen) accessLogIndex(t *team) {
	for _, u := range t.users {
		if u.home() != t {
			continue
		}
		for i := range u.logins {
			t.logins = append(t.logins, loginRef{u, i})
		}
	}
	slices.SortFunc(t.logins, func(a, b loginRef) int {
		if c := cmpInt(b.u.logins[b.i].Last, a.u.logins[a.i].Last); c != 0 {
			return c
		}
		return strings.Compare(a.u.ID, b.u.ID)
	})
}

// activeHumans lists the team's people who can post: not deactivated, not
// invited, not bots.
func activeHumans(t *team) []*user {
	var out []*user
	for _, u := range t.users {
		if !u.Deleted && !u.Invited && (u.Role != roleBot && u.Role != roleSlackbot) {
			out = append(out, u)
		}
	}
	return out
}

// sample picks k distinct elements of xs.
func sample[T any](g *gen, xs []T, k int) []T {
	if k >= len(xs) {
		return slices.Clone(xs)
	}
	if k > len(xs)/4 {
		out := make([]T, 0, k)
		for i, x := range xs {
			// selection sampling: take x with probability need/left.
			if g.pick(len(xs)-i) < k-len(out) {
				out = append(out, x)
			}
		}
		return out
	}
	seen := make(map[int]struct{}, k)
	out := make([]T, 0, k)
	for len(out) < k {
		i := g.pick(len(xs))
		if _, dup := seen[i]; !dup {
			seen[i] = struct{}{}
			out = append(out, xs[i])
		}
	}
	return out
}

func (g *gen) newChannel(t *team, name string, kind chanKind, creator *user, created int64) *channel {
	c := &channel{ID: g.w.newID("C"), Name: name, Kind: kind, Team: t, Created: created, Creator: creator}
	if kind == kindIM {
		c.ID = g.w.newID("D")
	}
	c.Updated = (created + g.between(0, g.anchor-created)) * 1000
	g.w.channels[c.ID] = c
	t.channels = append(t.channels, c)
	return c
}

func (g *gen) channelsFor(t *team) {
	people := activeHumans(t)
	var staff, guests []*user
	for _, u := range people {
		if u.isGuest() {
			guests = append(guests, u)
		} else {
			staff = append(staff, u)
		}
	}
	owner := staff[0]
	for _, u := range staff {
		if u.Role == rolePrimaryOwner {
			owner = u
		}
	}
	n := max(g.spec.Channels/len(g.w.teams), 2)
	general := g.newChannel(t, "general", kindPublic, owner, t.Created)
	general.General = true
	general.Purpose = textMeta{"This is the one channel that will always include everyone. It's a great spot for announcements and team-wide conversations.", owner.ID, t.Created}
	general.members = slices.Clone(staff)
	random := g.newChannel(t, "random", kindPublic, owner, t.Created)
	random.Purpose = textMeta{"A place for non-work-related flimflam, faffing, hodge-podge or jibber-jabber you'd prefer to keep out of more focused work-related channels.", owner.ID, t.Created}
	random.members = sample(g, staff, int(float64(len(staff))*0.8)+1)
	var others []*channel
	for i := 2; i < n; i++ {
		name := channelNames[(i-2)%len(channelNames)]
		if round := (i - 2) / len(channelNames); round > 0 {
			name = fmt.Sprintf("%s-%d", name, round+1)
		}
		kind := kindPublic
		if g.chance(0.22) {
			kind = kindPrivate
		}
		creator := pickFrom(g, staff)
		c := g.newChannel(t, name, kind, creator, g.between(max(t.Created, creator.Created), g.anchor-day))
		c.Archived = g.chance(0.1)
		capacity := min(float64(len(staff))*0.3, 5000)
		size := 3 + int(capacity*math.Pow(g.r.Float64(), 2))
		c.members = sample(g, staff, size)
		c.members = append(c.members, creator)
		if topic := pickFrom(g, channelTopics); topic != "" {
			c.Topic = textMeta{topic, creator.ID, g.between(c.Created, g.anchor)}
		}
		c.Purpose = textMeta{"Discussion about " + strings.ReplaceAll(name, "-", " ") + ".", creator.ID, c.Created}
		if g.chance(0.05) {
			c.PreviousNames = []string{name + "-old"}
		}
		others = append(others, c)
	}
	// Small workspaces still show every kind: at least one private and one
	// archived channel once there are a few.
	if len(others) >= 4 {
		if !slices.ContainsFunc(others, func(c *channel) bool { return c.Kind == kindPrivate }) {
			others[0].Kind = kindPrivate
		}
		if !slices.ContainsFunc(others, func(c *channel) bool { return c.Archived }) {
			others[len(others)-1].Archived = true
		}
	}
	for _, u := range guests {
		if len(others) == 0 {
			break
		}
		k := 1
		if u.Role == roleMultiGuest {
			k = 2 + g.pick(3)
		}
		for _, c := range sample(g, others, k) {
			c.members = append(c.members, u)
		}
	}
	for _, c := range t.channels {
		sortMembers(c)
	}
}

func sortMembers(c *channel) {
	slices.SortFunc(c.members, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	c.members = slices.CompactFunc(c.members, func(a, b *user) bool { return a == b })
}

// sharedChannels shares a channel of the primary workspace with every other one
// on Enterprise Grid.
func (g *gen) sharedChannels() {
	if len(g.w.teams) < 2 {
		return
	}
	home := g.w.teams[0]
	people := activeHumans(home)
	c := g.newChannel(home, "org-announcements", kindPublic, people[0], home.Created+day)
	c.Shared = slices.Clone(g.w.teams[1:])
	c.Purpose = textMeta{"Announcements for the whole organization.", people[0].ID, c.Created}
	for _, t := range g.w.teams {
		c.members = append(c.members, sample(g, activeHumans(t), 50)...)
		if t != home {
			t.channels = append(t.channels, c)
		}
	}
	sortMembers(c)
}

func (g *gen) directMessages() {
	for _, t := range g.w.teams {
		people := activeHumans(t)
		if len(people) < 2 {
			continue
		}
		pairs := min(len(people)/2, 500)
		seen := map[[2]*user]bool{}
		for range pairs {
			a, b := pickFrom(g, people), pickFrom(g, people)
			if a == b || seen[[2]*user{a, b}] || seen[[2]*user{b, a}] {
				continue
			}
			seen[[2]*user{a, b}] = true
			c := g.newChannel(t, "", kindIM, a, g.between(max(a.Created, b.Created), g.anchor-day))
			c.IMUser = b
			c.members = []*user{a, b}
			sortMembers(c)
			a.ims = append(a.ims, c)
			b.ims = append(b.ims, c)
		}
		for range min(len(people)/20, 50) {
			members := sample(g, people, 3+g.pick(3))
			handles := make([]string, len(members))
			for i, u := range members {
				handles[i] = u.Name
			}
			c := g.newChannel(t, "mpdm-"+strings.Join(handles, "--")+"-1", kindMPIM, members[0], g.daysAgo(1, 300))
			c.members = members
			sortMembers(c)
		}
	}
	for _, t := range g.w.teams {
		slices.SortFunc(t.channels, func(a, b *channel) int { return strings.Compare(a.ID, b.ID) })
	}
}

func (g *gen) sentence(lo, hi int) string {
	n := lo + g.pick(hi-lo+1)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pickFrom(g, words))
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// messagesFor writes each conversation's history: top-level messages over the
// channel's life, some with threads and reactions. The total is bounded so that
// a large workspace stays small in memory.
func (g *gen) messagesFor(t *team) {
	total := len(g.w.channels)
	perChannel := max(min(300, 200000/max(total, 1)), 5)
	for _, c := range t.channels {
		if c.Team != t || len(c.members) == 0 {
			continue
		}
		count := g.pick(perChannel)
		if c.General {
			count = perChannel
		}
		if c.Kind == kindIM {
			count = g.pick(12)
		}
		from := max(c.Created, g.anchor-180*day)
		times := make([]int64, count)
		for i := range times {
			times[i] = g.between(from, g.anchor-3600)*1e6 + g.r.Int64N(1e6)
		}
		slices.Sort(times)
		times = slices.Compact(times)
		for _, ts := range times {
			m := &message{TS: ts, User: pickFrom(g, c.members), Text: g.sentence(3, 18)}
			if g.chance(0.05) && c.Kind != kindIM {
				m.Subtype = "channel_join"
				m.Text = "<@" + m.User.ID + "> has joined the channel"
			} else if g.chance(0.1) {
				m.Text = "<@" + pickFrom(g, c.members).ID + "> " + m.Text
			}
			if g.chance(0.12) && m.Subtype == "" {
				g.thread(c, m)
			}
			if g.chance(0.1) {
				n := 1 + g.pick(3)
				for _, name := range sample(g, reactionNames, n) {
					m.Reaction = append(m.Reaction, reaction{Name: name, Users: sample(g, c.members, 1+g.pick(4))})
				}
			}
			m.Pinned = g.chance(0.01)
			c.messages = append(c.messages, m)
		}
		if c.Kind == kindPublic && g.chance(0.3) {
			g.bookmarks(c)
		}
	}
}

func (g *gen) thread(c *channel, parent *message) {
	n := 1 + g.pick(8)
	ts := parent.TS
	for range n {
		ts += (1 + g.r.Int64N(4*3600)) * 1e6
		if ts >= g.anchor*1e6 {
			break
		}
		parent.Replies = append(parent.Replies, &message{TS: ts, User: pickFrom(g, c.members), Text: g.sentence(2, 12), Parent: parent})
	}
}

func (g *gen) bookmarks(c *channel) {
	kinds := []struct{ title, path, emoji string }{
		{"Runbook", "docs/runbook", ":book:"}, {"Roadmap", "roadmap", ":world_map:"},
		{"Dashboard", "dashboards/main", ":bar_chart:"}, {"Team wiki", "wiki", ":notebook:"},
	}
	for i, k := range sample(g, kinds, 1+g.pick(3)) {
		by := pickFrom(g, c.members)
		created := g.between(c.Created, g.anchor)
		c.bookmarks = append(c.bookmarks, &bookmark{
			ID: g.w.newID("Bk"), Title: k.title, Link: "https://" + g.domain + "/" + k.path, Emoji: k.emoji,
			Created: created, Updated: g.between(created, g.anchor+1), By: by, Rank: string(rune('a' + i)),
		})
	}
}

func (g *gen) filesFor(t *team) {
	var chans []*channel
	for _, c := range t.channels {
		if c.Team == t && len(c.members) > 0 && (c.Kind == kindPublic || c.Kind == kindPrivate) {
			chans = append(chans, c)
		}
	}
	if len(chans) == 0 {
		return
	}
	n := min(max(len(t.users)/4, 5), 20000)
	for range n {
		c := pickFrom(g, chans)
		owner := pickFrom(g, c.members)
		ft := g.pick(len(fileTypes))
		stem := pickFrom(g, fileStems)
		f := &file{
			ID: g.w.newID("F"), Created: g.between(max(c.Created, owner.Created), g.anchor-60), Type: ft,
			Name: stem + "." + fileTypes[ft].Ext, Title: strings.ReplaceAll(stem, "-", " "), Size: 2000 + g.pick(4<<20),
			User: owner, Team: t, Channels: []*channel{c}, Public: c.Kind == kindPublic,
		}
		g.w.files[f.ID] = f
		t.files = append(t.files, f)
	}
	slices.SortFunc(t.files, func(a, b *file) int {
		if c := cmpInt(b.Created, a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func (g *gen) usergroupsFor(t *team) {
	staff := activeHumans(t)
	var admins []*user
	for _, u := range staff {
		if u.isAdmin() {
			admins = append(admins, u)
		}
	}
	mk := func(name, handle, desc string, members []*user) *usergroup {
		by := pickFrom(g, admins)
		created := g.between(t.Created, g.anchor-day)
		ug := &usergroup{ID: g.w.newID("S"), Team: t, Name: name, Handle: handle, Description: desc,
			Created: created, Updated: g.between(created, g.anchor), CreatedBy: by, UpdatedBy: by, users: members}
		slices.SortFunc(ug.users, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
		g.w.groups[ug.ID] = ug
		t.usergroups = append(t.usergroups, ug)
		return ug
	}
	admin := mk("Admins", "admins", "Workspace admins and owners", admins)
	admin.AutoType = "admin"
	n := min(max(len(staff)/40, 3), 200)
	for i := range n {
		base := channelNames[i%len(channelNames)]
		handle := base + "-team"
		if round := i / len(channelNames); round > 0 {
			handle = fmt.Sprintf("%s-team-%d", base, round+1)
		}
		ug := mk(strings.ToUpper(base[:1])+base[1:]+" team", handle, "People who work on "+base, sample(g, staff, 2+g.pick(min(len(staff), 40))))
		if g.chance(0.1) {
			ug.Deleted = g.between(ug.Updated, g.anchor)
			ug.Updated = ug.Deleted
		}
		var chans []*channel
		for _, c := range t.channels {
			if c.Kind == kindPublic && strings.HasPrefix(c.Name, base) {
				chans = append(chans, c)
			}
		}
		ug.channels = chans
	}
	slices.SortFunc(t.usergroups, func(a, b *usergroup) int { return strings.Compare(a.ID, b.ID) })
}

func (g *gen) emojiFor(t *team) {
	for _, name := range customEmoji {
		t.emoji = append(t.emoji, emoji{Name: name, URL: fmt.Sprintf("https://emoji.slack-edge.com/%s/%s/%s.png", t.ID, name, g.hex(16))})
	}
	t.emoji = append(t.emoji, emoji{Name: "shipit2", Alias: "shipit"}, emoji{Name: "parrot", Alias: "partyparrot"}, emoji{Name: "lgtm2", Alias: "lgtm"})
	slices.SortFunc(t.emoji, func(a, b emoji) int { return strings.Compare(a.Name, b.Name) })
}

func (g *gen) integrationLogsFor(t *team) {
	var admins []*user
	for _, u := range t.users {
		if u.isAdmin() && !u.Deleted {
			admins = append(admins, u)
		}
	}
	for _, app := range sample(g, thirdPartyApps, 6+g.pick(6)) {
		appID := g.w.newID("A")
		added := g.daysAgo(30, 700)
		by := pickFrom(g, admins)
		t.intLogs = append(t.intLogs, integrationLog{User: by, Date: added, ChangeType: "added", AppID: appID, AppName: app,
			Scope: pickFrom(g, []string{"channels:read,chat:write", "users:read,users:read.email", "files:read,files:write", "commands,incoming-webhook"})})
		switch p := g.r.Float64(); {
		case p < 0.2:
			t.intLogs = append(t.intLogs, integrationLog{User: pickFrom(g, admins), Date: g.between(added, g.anchor), ChangeType: "removed", AppID: appID, AppName: app, Reason: "user"})
		case p < 0.3:
			t.intLogs = append(t.intLogs, integrationLog{User: pickFrom(g, admins), Date: g.between(added, g.anchor), ChangeType: "disabled", AppID: appID, AppName: app, Reason: "user"})
		case p < 0.5:
			t.intLogs = append(t.intLogs, integrationLog{User: pickFrom(g, admins), Date: g.between(added, g.anchor), ChangeType: "expanded", AppID: appID, AppName: app, Scope: "reactions:read"})
		}
	}
	t.intLogs = append(t.intLogs, integrationLog{User: pickFrom(g, admins), Date: g.daysAgo(100, 900), ChangeType: "added",
		ServiceID: fmt.Sprintf("%d", 1000000000+g.pick(900000000)), ServiceType: "Incoming WebHooks", Channel: "deploys"})
	slices.SortFunc(t.intLogs, func(a, b integrationLog) int { return cmpInt(b.Date, a.Date) })
}

func (g *gen) callsFor(t *team) {
	var chans []*channel
	for _, c := range t.channels {
		if c.Team == t && c.Kind == kindPublic && len(c.members) > 1 {
			chans = append(chans, c)
		}
	}
	if len(chans) == 0 {
		return
	}
	for range 10 {
		c := pickFrom(g, chans)
		cl := &slackCall{ID: g.w.newID("R"), Start: g.daysAgo(0, 90), ExternalID: g.hex(16), Title: "Sync on " + c.Name,
			Team: t, Users: sample(g, c.members, 2+g.pick(5)), Channels: []*channel{c}}
		g.w.calls[cl.ID] = cl
	}
}

// activeOn reports whether the user was active on the day starting at dayStart:
// a stable coin flip weighted by the user's activity, never before the account
// existed, never after the user's last active day, always on it.
func (u *user) activeOn(dayStart int64) bool {
	if u.LastActive == 0 || dayStart > u.LastActive || dayStart+day <= u.Created {
		return false
	}
	if u.LastActive-dayStart < day {
		return true
	}
	return stableFloat(u.ID, dayStart) < float64(u.Activity)
}

// stableFloat is a number in [0,1) that depends only on its inputs.
func stableFloat(id string, n int64) float64 {
	// FNV-1a over the ID's bytes, then n's eight bytes, little end first.
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	for i := range 8 {
		h = (h ^ uint64(byte(n>>(8*i)))) * prime
	}
	return float64(h>>11) / (1 << 53)
}
