package slacksim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// Edition is a Slack plan. It decides which methods answer and what
// team.billing.info reports.
type Edition string

const (
	EditionFree           Edition = "free"
	EditionPro            Edition = "pro"
	EditionBusinessPlus   Edition = "business_plus"
	EditionEnterpriseGrid Edition = "enterprise_grid"
)

// Editions lists the editions the sandbox emulates, cheapest first.
var Editions = []Edition{EditionFree, EditionPro, EditionBusinessPlus, EditionEnterpriseGrid}

// plan is the value team.billing.info reports for the edition.
func (e Edition) plan() string {
	switch e {
	case EditionPro:
		return "std"
	case EditionBusinessPlus:
		return "plus"
	case EditionEnterpriseGrid:
		return "enterprise"
	}
	return ""
}

// paid reports whether the edition is any paid plan.
func (e Edition) paid() bool { return e != EditionFree }

// businessPlus reports whether the edition has Business+ features (SCIM, analytics).
func (e Edition) businessPlus() bool {
	return e == EditionBusinessPlus || e == EditionEnterpriseGrid
}

// world is the generated Slack organization: one workspace, or on Enterprise Grid
// an org with several. Every field is guarded by mu; handlers take the read lock
// and the controls that change the workspace take the write lock.
type world struct {
	mu sync.RWMutex

	edition    Edition
	enterprise *enterprise // nil unless Enterprise Grid
	teams      []*team     // sorted by ID; teams[0] is the primary workspace

	users    map[string]*user    // every user of the org by ID, bots and Slackbot included
	channels map[string]*channel // every conversation by ID
	files    map[string]*file
	calls    map[string]*slackCall
	groups   map[string]*usergroup

	// seq numbers new objects made after generation (by installs, controls and
	// write methods), so their IDs stay unique.
	seq uint64
	ids *idSource

	emailIndex map[string]*user // lower-cased email to user
	handles    map[string]int   // lower-cased handle to how many accounts use it (setHandle, addUser)
	owner      *user            // the primary owner
	scim       *scimState       // what SCIM carries that the model has no field for
	anchor     int64            // unix seconds of the day the workspace was generated for
}

type enterprise struct {
	ID, Name, Domain string
}

type team struct {
	ID, Name, Domain, EmailDomain string
	Created                       int64
	IconHash                      string

	users      []*user      // members, sorted by ID
	channels   []*channel   // conversations visible in this workspace, sorted by ID
	usergroups []*usergroup // sorted by ID
	files      []*file      // newest first
	logins     []loginRef   // access log entries, last login first
	intLogs    []integrationLog
	emoji      []emoji
}

// role is a user's account type, from Slack's user flags.
type role uint8

const (
	roleMember role = iota
	roleAdmin
	roleOwner
	rolePrimaryOwner
	roleMultiGuest  // is_restricted
	roleSingleGuest // is_ultra_restricted
	roleBot
	roleSlackbot
)

type user struct {
	ID          string
	Name        string // the handle
	RealName    string
	FirstName   string
	LastName    string
	DisplayName string
	Email       string
	Title       string
	Phone       string
	Pronouns    string
	StatusText  string
	StatusEmoji string
	StartDate   string
	Color       string
	TZ          int // index into timezones
	Locale      int // index into locales

	Role        role
	Deleted     bool
	Invited     bool // invited, never signed in
	Has2FA      bool
	BotID       string
	AppID       string
	GuestExpiry int64 // guest_expiration_ts, 0 for none

	Teams   []*team // the workspaces the user belongs to; Teams[0] is home
	Created int64
	Updated int64

	// Activity drives presence, access logs, billing and analytics: Activity is
	// the chance the user is active on a given day, LastActive the last day they
	// were (0: never).
	Activity   float32
	LastActive int64

	logins []login
	ims    []*channel // direct-message conversations the user is part of
}

func (u *user) isBot() bool         { return u.Role == roleBot }
func (u *user) isGuest() bool       { return u.Role == roleMultiGuest || u.Role == roleSingleGuest }
func (u *user) isAdmin() bool       { return u.Role == roleAdmin || u.isOwner() }
func (u *user) isOwner() bool       { return u.Role == roleOwner || u.Role == rolePrimaryOwner }
func (u *user) home() *team         { return u.Teams[0] }
func (u *user) inTeam(t *team) bool { return slices.Contains(u.Teams, t) }

// billable reports whether Slack's Fair Billing Policy bills the user today:
// an active (not deactivated) human who has been active in the last 14 days.
// Single-channel guests are free; bots and Slackbot are never billed.
func (u *user) billable(now int64, e Edition) bool {
	if !e.paid() || u.Deleted || u.Invited || u.Role == roleBot || u.Role == roleSlackbot || u.Role == roleSingleGuest {
		return false
	}
	return u.LastActive > 0 && now-u.LastActive <= 14*86400
}

type login struct {
	First, Last int64
	Count       int
	IP          string
	Agent       int // index into userAgents
	Place       int // index into places
}

type loginRef struct {
	u *user
	i int
}

type chanKind uint8

const (
	kindPublic chanKind = iota
	kindPrivate
	kindIM
	kindMPIM
)

func (k chanKind) typeName() string {
	return [...]string{"public_channel", "private_channel", "im", "mpim"}[k]
}

type channel struct {
	ID            string
	Name          string
	Kind          chanKind
	Team          *team
	Shared        []*team // org-shared channels: every workspace it is shared with
	Created       int64
	Creator       *user
	Archived      bool
	General       bool
	Topic         textMeta
	Purpose       textMeta
	PreviousNames []string
	Updated       int64 // milliseconds, as Slack's channel "updated"
	IMUser        *user // the other party of an IM

	members   []*user    // sorted by ID
	messages  []*message // top-level messages, oldest first
	bookmarks []*bookmark
}

type textMeta struct {
	Value   string
	Creator string
	LastSet int64
}

func (c *channel) hasMember(u *user) bool {
	_, ok := slices.BinarySearchFunc(c.members, u.ID, func(m *user, id string) int { return strings.Compare(m.ID, id) })
	return ok
}

func (c *channel) addMember(u *user) {
	i, ok := slices.BinarySearchFunc(c.members, u.ID, func(m *user, id string) int { return strings.Compare(m.ID, id) })
	if !ok {
		c.members = slices.Insert(c.members, i, u)
	}
}

func (c *channel) removeMember(u *user) {
	i, ok := slices.BinarySearchFunc(c.members, u.ID, func(m *user, id string) int { return strings.Compare(m.ID, id) })
	if ok {
		c.members = slices.Delete(c.members, i, i+1)
	}
}

// visibleIn reports whether the channel shows in the workspace t.
func (c *channel) visibleIn(t *team) bool { return c.Team == t || slices.Contains(c.Shared, t) }

// findMessage returns the top-level message with timestamp ts.
func (c *channel) findMessage(ts int64) *message {
	i, ok := slices.BinarySearchFunc(c.messages, ts, func(m *message, ts int64) int { return cmpInt(m.TS, ts) })
	if !ok {
		return nil
	}
	return c.messages[i]
}

type message struct {
	TS       int64 // microseconds since the epoch: Slack's "1512085950.000216"
	User     *user
	Text     string
	Subtype  string
	Edited   int64
	Replies  []*message // thread replies, oldest first
	Parent   *message
	Reaction []reaction
	Files    []*file
	Pinned   bool
}

type reaction struct {
	Name  string
	Users []*user
}

type file struct {
	ID       string
	Created  int64
	Name     string
	Title    string
	Type     int // index into fileTypes
	Size     int
	User     *user
	Team     *team
	Channels []*channel
	Public   bool
}

type bookmark struct {
	ID      string
	Title   string
	Link    string
	Emoji   string
	Created int64
	Updated int64
	By      *user
	Rank    string
}

type usergroup struct {
	ID          string
	Team        *team
	Name        string
	Handle      string
	Description string
	AutoType    string
	Created     int64
	Updated     int64
	Deleted     int64
	CreatedBy   *user
	UpdatedBy   *user
	users       []*user
	channels    []*channel
}

type emoji struct {
	Name  string
	Alias string // target name for "alias:x", else ""
	URL   string
}

type integrationLog struct {
	User        *user
	Date        int64
	ChangeType  string // added, removed, enabled, disabled, expanded, updated
	AppID       string
	AppName     string
	ServiceID   string // legacy custom integrations
	ServiceType string
	Scope       string
	Channel     string
	Reason      string
}

type slackCall struct {
	ID         string
	Start      int64
	ExternalID string
	Title      string
	Team       *team
	Users      []*user
	Channels   []*channel
}

// setHandle gives u the handle h, keeping w.handles true for an account of
// the world (one not yet added is counted by addUser).
func (w *world) setHandle(u *user, h string) {
	if w.users[u.ID] == u {
		w.uncountHandle(u.Name)
		w.handles[strings.ToLower(h)]++
	}
	u.Name = h
}

func (w *world) uncountHandle(h string) {
	k := strings.ToLower(h)
	if w.handles[k] <= 1 {
		delete(w.handles, k)
		return
	}
	w.handles[k]--
}

// handleUsed reports whether an account other than self uses the handle h,
// case ignored: a map lookup, not a scan of the users.
func (w *world) handleUsed(h string, self *user) bool {
	n := w.handles[strings.ToLower(h)]
	if self != nil && w.users[self.ID] == self && strings.EqualFold(self.Name, h) {
		n--
	}
	return n > 0
}

// team returns the workspace with the given ID.
func (w *world) team(id string) *team {
	for _, t := range w.teams {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// newID makes an ID with Slack's prefix for the kind of object, unique in the world.
func (w *world) newID(prefix string) string { return w.ids.next(prefix) }

// idSource makes Slack-shaped IDs ("U0" then nine upper-case letters and digits)
// from the generator's random stream, never repeating one. src is that
// stream's state, which a saved sandbox keeps so that the IDs it makes after
// a restart are the ones it would have made without one.
type idSource struct {
	rnd  func() uint64
	src  *rand.PCG
	seen map[string]struct{}
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (s *idSource) next(prefix string) string {
	for {
		var b [10]byte
		b[0] = '0'
		v := s.rnd()
		for i := 1; i < len(b); i++ {
			b[i] = idAlphabet[v%uint64(len(idAlphabet))]
			v /= uint64(len(idAlphabet))
			if v == 0 {
				v = s.rnd()
			}
		}
		id := prefix + string(b[:])
		if _, dup := s.seen[id]; !dup {
			s.seen[id] = struct{}{}
			return id
		}
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// formatTS renders a message timestamp as Slack does: seconds, a dot, six digits.
func formatTS(ts int64) string { return fmt.Sprintf("%d.%06d", ts/1e6, ts%1e6) }
