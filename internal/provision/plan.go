package provision

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is what a change does.
type Kind string

const (
	KindCreate      Kind = "create"       // POST /Users
	KindReactivate  Kind = "reactivate"   // PATCH /Users/{id}: active true, and any attribute that changed
	KindUpdate      Kind = "update"       // PATCH /Users/{id}: the attributes that changed
	KindGroupCreate Kind = "group_create" // POST /Groups with its members
	KindGroupUpdate Kind = "group_update" // PATCH /Groups/{id}: members added and removed
	KindDeactivate  Kind = "deactivate"   // DELETE /Users/{id}
)

// Plan is what applying a directory file would change in Slack. It is
// plain data: it serializes to JSON to be stored, and Apply replays its
// requests.
type Plan struct {
	Options     Options  `json:"options"`
	ActiveUsers int      `json:"active_users"` // active users in Slack when planned
	Changes     []Change `json:"changes"`      // Changes[i].Index is i+1
	Skipped     []Skip   `json:"skipped,omitempty"`
	Counts      Counts   `json:"counts"`
}

// Counts sums a plan up.
type Counts struct {
	Create         int `json:"create"`
	Update         int `json:"update"`
	Reactivate     int `json:"reactivate"`
	Deactivate     int `json:"deactivate"`
	GroupCreate    int `json:"group_create"`
	GroupUpdate    int `json:"group_update"`
	MembersAdded   int `json:"members_added"`
	MembersRemoved int `json:"members_removed"`
	Skipped        int `json:"skipped"`
}

// Change is one SCIM request of a plan.
type Change struct {
	Index int  `json:"index"` // 1-based, stable: outcomes are recorded by it
	Kind  Kind `json:"kind"`
	Row   int  `json:"row,omitempty"` // the file's row, for a person the file lists
	// Key names what changes: a person's match key value (their email or
	// userName), or a group's name.
	Key    string `json:"key"`
	Target string `json:"target,omitempty"` // the Slack ID changed; empty for a create
	// Attrs are the attributes set: old → new for updates, new for creates.
	Attrs []AttrChange `json:"attrs,omitempty"`
	// Added and Removed are a group's members that change.
	Added   []MemberRef `json:"added,omitempty"`
	Removed []MemberRef `json:"removed,omitempty"`
	// Needs are the changes that must be over first: the creates and
	// reactivations of the people a group change adds, and a deactivated
	// person's group changes.
	Needs   []int   `json:"needs,omitempty"`
	Request Request `json:"request"`
}

// Request is a change as the SCIM request that makes it. In a group
// change's body a member whom the plan creates is "change:N", N the create's
// index; apply puts in the ID Slack gave.
type Request struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// AttrChange is one attribute a change sets, with SCIM's name for it
// (userName, name.givenName, emails…).
type AttrChange struct {
	Attr string `json:"attr"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new"`
}

// MemberRef is a member of a group change.
type MemberRef struct {
	ID     string `json:"id,omitempty"`     // the Slack user ID; empty for a person the plan creates
	Change int    `json:"change,omitempty"` // the create or reactivation the member waits for
	Name   string `json:"name"`             // the person's match key value, or Slack's userName
}

// Skip is something the plan leaves alone on purpose, with why.
type Skip struct {
	Row    int    `json:"row,omitempty"`
	Key    string `json:"key"`
	Target string `json:"target,omitempty"`
	Reason string `json:"reason"`
}

// placeholder is the member value of a person a plan creates.
func placeholder(index int) string { return "change:" + strconv.Itoa(index) }

// Attribute names in AttrChange, as SCIM names them.
const (
	attrUserName        = "userName"
	attrEmail           = "emails[primary]"
	attrSecondaryEmail  = "emails[secondary]"
	attrGivenName       = "name.givenName"
	attrFamilyName      = "name.familyName"
	attrDisplayName     = "displayName"
	attrTitle           = "title"
	attrActive          = "active"
	attrGuestType       = "guest.type"
	attrGuestExpiration = "guest.expiration"
	attrGuestChannels   = "guest.channels"
)

// patchOp is one operation of a SCIM PatchOp.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

type patchBody struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// userBody is a POST /Users body.
type userBody struct {
	Schemas     []string `json:"schemas"`
	UserName    string   `json:"userName"`
	Name        *Name    `json:"name,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Title       string   `json:"title,omitempty"`
	Active      bool     `json:"active"`
	Emails      []Email  `json:"emails"`
	Guest       *Guest   `json:"urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User,omitempty"`
}

// groupBody is a POST /Groups body.
type groupBody struct {
	Schemas     []string `json:"schemas"`
	DisplayName string   `json:"displayName"`
	Members     []Member `json:"members"`
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("provision: " + err.Error()) // only this package's own types are encoded
	}
	return b
}

// NewPlan compares a directory file with Slack's state and plans the
// changes. It returns Problems when the file cannot be applied as it is (a
// new person without userName or email, a value that belongs to another
// Slack user), and a *BrakeError when the plan deactivates more than the
// brake's share of active users and opts.Force is not set.
func NewPlan(dir *Directory, st *State, opts Options) (*Plan, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	pl := &planner{dir: dir, st: st, opts: opts,
		byEmail: map[string]*User{}, byName: map[string]*User{}, byID: map[string]*User{}, matched: map[string]bool{}}
	return pl.plan()
}

type planner struct {
	dir  *Directory
	st   *State
	opts Options

	byEmail, byName, byID map[string]*User
	matched               map[string]bool // Slack IDs the file lists

	problems Problems
	out      *Plan

	creates, reactivations, updates, deactivations []*Change
	groupCreates, groupUpdates                     []*Change

	// Once the people's changes are numbered: their indexes, and each
	// person as a group member.
	created     map[int]int       // by row
	reactivated map[string]int    // by Slack ID
	member      map[int]MemberRef // by row, for people who end up active
}

func (pl *planner) plan() (*Plan, error) {
	p := &Plan{Options: pl.opts, Changes: []Change{}}
	pl.out = p
	for i := range pl.st.Users {
		u := &pl.st.Users[i]
		pl.byID[u.ID] = u
		if e := strings.ToLower(u.PrimaryEmail()); e != "" {
			pl.byEmail[e] = u
		}
		pl.byName[strings.ToLower(u.UserName)] = u
		if u.Active {
			p.ActiveUsers++
		}
	}
	pl.member = map[int]MemberRef{}
	for _, person := range pl.dir.People {
		pl.person(person)
	}
	if pl.opts.DeactivateMissing {
		pl.missing()
	}
	if len(pl.problems) > 0 {
		return nil, pl.problems
	}
	pl.number(pl.creates, pl.reactivations, pl.updates)
	pl.created, pl.reactivated = map[int]int{}, map[string]int{}
	for _, c := range pl.creates {
		pl.created[c.Row] = c.Index
	}
	for _, c := range pl.reactivations {
		pl.reactivated[c.Target] = c.Index
	}
	for _, person := range pl.dir.People {
		pl.memberOf(person)
	}
	if pl.dir.Has(ColGroups) {
		pl.groups()
	}
	pl.number(pl.groupCreates, pl.groupUpdates)
	pl.deactivationNeeds()
	pl.number(pl.deactivations)
	p.Counts.Skipped = len(p.Skipped)
	if err := brake(p); err != nil {
		return nil, err
	}
	return p, nil
}

// number appends changes to the plan, giving each its index.
func (pl *planner) number(lists ...[]*Change) {
	p := pl.out
	for _, list := range lists {
		for _, c := range list {
			c.Index = len(p.Changes) + 1
			p.Changes = append(p.Changes, *c)
			switch c.Kind {
			case KindCreate:
				p.Counts.Create++
			case KindReactivate:
				p.Counts.Reactivate++
			case KindUpdate:
				p.Counts.Update++
			case KindDeactivate:
				p.Counts.Deactivate++
			case KindGroupCreate:
				p.Counts.GroupCreate++
			case KindGroupUpdate:
				p.Counts.GroupUpdate++
			}
			p.Counts.MembersAdded += len(c.Added)
			p.Counts.MembersRemoved += len(c.Removed)
		}
	}
}

func (pl *planner) problem(row int, col string, code ProblemCode, format string, args ...any) {
	pl.problems = append(pl.problems, Problem{Row: row, Column: col, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (pl *planner) skip(row int, key, target, reason string) {
	pl.out.Skipped = append(pl.out.Skipped, Skip{Row: row, Key: key, Target: target, Reason: reason})
}

// find is the Slack user the person matches, or nil.
func (pl *planner) find(p Person) *User {
	if pl.opts.MatchKey == MatchUserName {
		return pl.byName[strings.ToLower(p.UserName)]
	}
	return pl.byEmail[strings.ToLower(p.Email)]
}

func (pl *planner) keyOf(p Person) string {
	if pl.opts.MatchKey == MatchUserName {
		return p.UserName
	}
	return p.Email
}

func (pl *planner) userKey(u *User) string {
	if pl.opts.MatchKey == MatchUserName {
		return u.UserName
	}
	return u.PrimaryEmail()
}

// person plans the changes of one row.
func (pl *planner) person(p Person) {
	u := pl.find(p)
	key := pl.keyOf(p)
	// The attribute that is not the key must not belong to someone else.
	if o := pl.byName[strings.ToLower(p.UserName)]; p.UserName != "" && o != nil && o != u {
		pl.problem(p.Row, ColUserName, ProblemConflict, "userName %q belongs to Slack user %s (%s), not to the person this row %s",
			p.UserName, o.ID, o.PrimaryEmail(), describeMatch(u))
	}
	if o := pl.byEmail[strings.ToLower(p.Email)]; p.Email != "" && o != nil && o != u {
		pl.problem(p.Row, ColEmail, ProblemConflict, "email %q belongs to Slack user %s (%s), not to the person this row %s",
			p.Email, o.ID, o.UserName, describeMatch(u))
	}
	if u == nil {
		if !p.Active {
			pl.skip(p.Row, key, "", "not in Slack and not active in the file: nothing to create")
			return
		}
		if p.UserName == "" || p.Email == "" {
			col := ColUserName
			if p.UserName != "" {
				col = ColEmail
			}
			pl.problem(p.Row, col, ProblemMissingAttribute, "%s is new to Slack, and a new person needs userName and email", key)
			return
		}
		pl.creates = append(pl.creates, pl.create(p, key))
		return
	}
	pl.matched[u.ID] = true
	switch {
	case !p.Active && u.Active:
		if why, ok := pl.st.Protected[u.ID]; ok {
			pl.skip(p.Row, key, u.ID, "not deactivated: "+why)
			return
		}
		pl.deactivations = append(pl.deactivations, deactivation(p.Row, key, u.ID))
	case !p.Active:
		// Deactivated in Slack and in the file: left as it is.
	case !u.Active:
		attrs, ops := diff(p, u)
		attrs = append([]AttrChange{{Attr: attrActive, Old: "false", New: "true"}}, attrs...)
		ops = append([]patchOp{{Op: "replace", Path: "active", Value: true}}, ops...)
		pl.reactivations = append(pl.reactivations, patchUser(KindReactivate, p.Row, key, u.ID, attrs, ops))
	default:
		if attrs, ops := diff(p, u); len(ops) > 0 {
			pl.updates = append(pl.updates, patchUser(KindUpdate, p.Row, key, u.ID, attrs, ops))
		}
	}
}

func describeMatch(u *User) string {
	if u == nil {
		return "would create"
	}
	return "matches (" + u.ID + ")"
}

func (pl *planner) create(p Person, key string) *Change {
	b := userBody{Schemas: []string{SchemaUser}, UserName: p.UserName, DisplayName: p.DisplayName, Title: p.Title, Active: true,
		Emails: []Email{{Value: p.Email, Type: "work", Primary: true}}}
	attrs := []AttrChange{{Attr: attrUserName, New: p.UserName}, {Attr: attrEmail, New: p.Email}}
	add := func(attr, v string) {
		if v != "" {
			attrs = append(attrs, AttrChange{Attr: attr, New: v})
		}
	}
	if p.SecondaryEmail != "" {
		b.Emails = append(b.Emails, Email{Value: p.SecondaryEmail, Type: "home"})
		add(attrSecondaryEmail, p.SecondaryEmail)
	}
	if p.GivenName != "" || p.FamilyName != "" {
		b.Name = &Name{GivenName: p.GivenName, FamilyName: p.FamilyName}
	}
	add(attrGivenName, p.GivenName)
	add(attrFamilyName, p.FamilyName)
	add(attrDisplayName, p.DisplayName)
	add(attrTitle, p.Title)
	if p.GuestType != "" {
		b.Schemas = append(b.Schemas, SchemaGuest)
		b.Guest = guestOf(p)
		add(attrGuestType, p.GuestType)
		add(attrGuestExpiration, formatTime(p.GuestExpiration))
		add(attrGuestChannels, strings.Join(p.GuestChannels, ", "))
	}
	return &Change{Kind: KindCreate, Row: p.Row, Key: key, Attrs: attrs,
		Request: Request{Method: http.MethodPost, Path: "/Users", Body: mustJSON(b)}}
}

func guestOf(p Person) *Guest {
	return &Guest{Type: p.GuestType, Expiration: formatTime(p.GuestExpiration), Channels: p.GuestChannels}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func patchUser(kind Kind, row int, key, id string, attrs []AttrChange, ops []patchOp) *Change {
	return &Change{Kind: kind, Row: row, Key: key, Target: id, Attrs: attrs,
		Request: Request{Method: http.MethodPatch, Path: "/Users/" + id,
			Body: mustJSON(patchBody{Schemas: []string{SchemaPatchOp}, Operations: ops})}}
}

func deactivation(row int, key, id string) *Change {
	return &Change{Kind: KindDeactivate, Row: row, Key: key, Target: id,
		Request: Request{Method: http.MethodDelete, Path: "/Users/" + id}}
}

// diff compares what the file says of a person with Slack's user: only the
// attributes the row gives (an empty cell changes nothing). Emails and
// userName compare without case, as Slack keeps them lower-cased.
func diff(p Person, u *User) ([]AttrChange, []patchOp) {
	var attrs []AttrChange
	var ops []patchOp
	set := func(attr, path, old, new string, fold bool) {
		if new == "" || old == new || fold && strings.EqualFold(old, new) {
			return
		}
		attrs = append(attrs, AttrChange{Attr: attr, Old: old, New: new})
		ops = append(ops, patchOp{Op: "replace", Path: path, Value: new})
	}
	set(attrUserName, "userName", u.UserName, p.UserName, true)
	set(attrEmail, "emails[primary eq true].value", u.PrimaryEmail(), p.Email, true)
	set(attrSecondaryEmail, "emails[primary eq false].value", u.SecondaryEmail(), p.SecondaryEmail, true)
	set(attrGivenName, "name.givenName", u.Name.GivenName, p.GivenName, false)
	set(attrFamilyName, "name.familyName", u.Name.FamilyName, p.FamilyName, false)
	set(attrDisplayName, "displayName", u.DisplayName, p.DisplayName, false)
	set(attrTitle, "title", u.Title, p.Title, false)
	if p.GuestType == "" {
		return attrs, ops
	}
	oldExp, newExp := u.guestExpiration(), p.GuestExpiration
	expChanged := !newExp.IsZero() && !newExp.Equal(oldExp)
	switch {
	case u.guestType() != p.GuestType:
		// A conversion sends the whole extension: type, expiration, channels.
		attrs = append(attrs, AttrChange{Attr: attrGuestType, Old: u.guestType(), New: p.GuestType})
		if expChanged {
			attrs = append(attrs, AttrChange{Attr: attrGuestExpiration, Old: formatTime(oldExp), New: formatTime(newExp)})
		}
		if len(p.GuestChannels) > 0 {
			attrs = append(attrs, AttrChange{Attr: attrGuestChannels, New: strings.Join(p.GuestChannels, ", ")})
		}
		ops = append(ops, patchOp{Op: "replace", Path: SchemaGuest, Value: guestOf(p)})
	case expChanged:
		attrs = append(attrs, AttrChange{Attr: attrGuestExpiration, Old: formatTime(oldExp), New: formatTime(newExp)})
		ops = append(ops, patchOp{Op: "replace", Path: SchemaGuest + ":expiration", Value: formatTime(newExp)})
	}
	return attrs, ops
}

// missing plans the deactivation of every active user the file does not
// list.
func (pl *planner) missing() {
	var gone []*User
	for i := range pl.st.Users {
		if u := &pl.st.Users[i]; u.Active && !pl.matched[u.ID] {
			gone = append(gone, u)
		}
	}
	slices.SortFunc(gone, func(a, b *User) int {
		return cmp.Compare(strings.ToLower(pl.userKey(a)), strings.ToLower(pl.userKey(b)))
	})
	for _, u := range gone {
		if why, ok := pl.st.Protected[u.ID]; ok {
			pl.skip(0, pl.userKey(u), u.ID, "not in the file, not deactivated: "+why)
			continue
		}
		pl.deactivations = append(pl.deactivations, deactivation(0, pl.userKey(u), u.ID))
	}
}

// memberOf notes the person as a group member if they end up active: their
// Slack ID, or the create that will give them one; and the reactivation
// they wait for.
func (pl *planner) memberOf(p Person) {
	if !p.Active {
		return
	}
	if u := pl.find(p); u != nil {
		pl.member[p.Row] = MemberRef{ID: u.ID, Change: pl.reactivated[u.ID], Name: pl.keyOf(p)}
	} else if i, ok := pl.created[p.Row]; ok {
		pl.member[p.Row] = MemberRef{Change: i, Name: pl.keyOf(p)}
	}
}

// groups plans the groups the file names: each is created if Slack has no
// group of that name (case aside), and gets the people the file lists in it;
// with overwrite, loses everyone else.
func (pl *planner) groups() {
	type want struct {
		name    string
		members []MemberRef
	}
	wanted := map[string]*want{}
	for _, p := range pl.dir.People {
		for _, g := range p.Groups {
			k := strings.ToLower(g)
			w := wanted[k]
			if w == nil {
				w = &want{name: g}
				wanted[k] = w
			}
			if ref, ok := pl.member[p.Row]; ok {
				w.members = append(w.members, ref)
			}
		}
	}
	slack := map[string]*Group{}
	for i := range pl.st.Groups {
		slack[strings.ToLower(pl.st.Groups[i].DisplayName)] = &pl.st.Groups[i]
	}
	for _, k := range slices.Sorted(maps.Keys(wanted)) {
		w := wanted[k]
		g := slack[k]
		if g == nil {
			pl.groupCreates = append(pl.groupCreates, groupCreate(w.name, w.members))
			continue
		}
		current := map[string]bool{}
		for _, m := range g.Members {
			current[m.Value] = true
		}
		var added, removed []MemberRef
		desired := map[string]bool{}
		for _, m := range w.members {
			if m.ID != "" {
				desired[m.ID] = true
			}
			if m.ID == "" || !current[m.ID] {
				added = append(added, m)
			}
		}
		if pl.opts.Membership == MembershipOverwrite {
			for _, m := range g.Members {
				if !desired[m.Value] {
					removed = append(removed, MemberRef{ID: m.Value, Name: pl.memberName(m)})
				}
			}
		}
		if len(added)+len(removed) > 0 {
			pl.groupUpdates = append(pl.groupUpdates, groupUpdate(g, added, removed))
		}
	}
}

func (pl *planner) memberName(m Member) string {
	if u := pl.byID[m.Value]; u != nil {
		return pl.userKey(u)
	}
	return cmp.Or(m.Display, m.Value)
}

// value is a member as a request names it.
func (m MemberRef) value() string {
	if m.ID != "" {
		return m.ID
	}
	return placeholder(m.Change)
}

func needsOf(members []MemberRef) []int {
	var out []int
	for _, m := range members {
		if m.Change != 0 && !slices.Contains(out, m.Change) {
			out = append(out, m.Change)
		}
	}
	slices.Sort(out)
	return out
}

func groupCreate(name string, members []MemberRef) *Change {
	b := groupBody{Schemas: []string{SchemaGroup}, DisplayName: name, Members: []Member{}}
	for _, m := range members {
		b.Members = append(b.Members, Member{Value: m.value()})
	}
	return &Change{Kind: KindGroupCreate, Key: name, Added: members, Needs: needsOf(members),
		Request: Request{Method: http.MethodPost, Path: "/Groups", Body: mustJSON(b)}}
}

func groupUpdate(g *Group, added, removed []MemberRef) *Change {
	var ops []patchOp
	list := func(ms []MemberRef) []Member {
		out := make([]Member, len(ms))
		for i, m := range ms {
			out[i] = Member{Value: m.value()}
		}
		return out
	}
	if len(added) > 0 {
		ops = append(ops, patchOp{Op: "add", Path: "members", Value: list(added)})
	}
	if len(removed) > 0 {
		ops = append(ops, patchOp{Op: "remove", Path: "members", Value: list(removed)})
	}
	return &Change{Kind: KindGroupUpdate, Key: g.DisplayName, Target: g.ID, Added: added, Removed: removed, Needs: needsOf(added),
		Request: Request{Method: http.MethodPatch, Path: "/Groups/" + g.ID,
			Body: mustJSON(patchBody{Schemas: []string{SchemaPatchOp}, Operations: ops})}}
}

// deactivationNeeds orders a person's deactivation after the group changes
// that take them out of a group.
func (pl *planner) deactivationNeeds() {
	removedBy := map[string][]int{} // user ID → the group updates that remove them
	for _, c := range pl.groupUpdates {
		for _, m := range c.Removed {
			removedBy[m.ID] = append(removedBy[m.ID], c.Index)
		}
	}
	for _, d := range pl.deactivations {
		d.Needs = removedBy[d.Target]
	}
}

// BrakeError is a plan refused by the brake: it deactivates more than the
// allowed share of active users. Plan is the refused plan, to show.
type BrakeError struct {
	Deactivations int
	ActiveUsers   int
	Share         float64 // the brake's share
	Plan          *Plan
}

func (e *BrakeError) Error() string {
	pct := 0.0
	if e.ActiveUsers > 0 {
		pct = 100 * float64(e.Deactivations) / float64(e.ActiveUsers)
	}
	return fmt.Sprintf("provision: the plan deactivates %d of %d active users (%.1f%%), more than the brake's %g%%; check the file and the options, or force it",
		e.Deactivations, e.ActiveUsers, pct, 100*e.Share)
}

// brake refuses a plan over the share unless forced.
func brake(p *Plan) error {
	o := p.Options
	if o.Force || float64(p.Counts.Deactivate) <= o.BrakeShare*float64(p.ActiveUsers) {
		return nil
	}
	return &BrakeError{Deactivations: p.Counts.Deactivate, ActiveUsers: p.ActiveUsers, Share: o.BrakeShare, Plan: p}
}
