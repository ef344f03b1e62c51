package slacksim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/slacksim/scimfilter"
)

// groups lists the user groups SCIM sees: every enabled group of the org, by ID.
func (c *scimCall) groups() []*usergroup {
	var out []*usergroup
	for _, t := range c.w.teams {
		for _, g := range t.usergroups {
			if g.Deleted == 0 {
				out = append(out, g)
			}
		}
	}
	slices.SortFunc(out, func(a, b *usergroup) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// groupIndex maps each person to the groups they belong to.
func (c *scimCall) groupIndex() map[*user][]*usergroup {
	idx := map[*user][]*usergroup{}
	for _, g := range c.groups() {
		for _, u := range g.users {
			idx[u] = append(idx[u], g)
		}
	}
	return idx
}

// groupsOf lists the enabled groups u belongs to, by ID.
func (c *scimCall) groupsOf(u *user) []*usergroup {
	var out []*usergroup
	for _, t := range c.w.teams {
		for _, g := range t.usergroups {
			if g.Deleted == 0 && slices.Contains(g.users, u) {
				out = append(out, g)
			}
		}
	}
	slices.SortFunc(out, func(a, b *usergroup) int { return strings.Compare(a.ID, b.ID) })
	return out
}

var scimGroupAttrs = map[string]bool{
	"id": true, "displayname": true, "externalid": true, "meta.created": true,
	"members": true, "members.value": true, "members.display": true, "members.type": true,
}

func scimMemberDisplay(u *user) string {
	if u.RealName != "" {
		return u.RealName
	}
	return u.Name
}

type scimGroupRecord struct{ g *usergroup }

func (r scimGroupRecord) Values(attr string) []any {
	switch attr {
	case "id":
		return []any{r.g.ID}
	case "displayname":
		return []any{r.g.Name}
	case "meta.created":
		return []any{time.Unix(r.g.Created, 0).UTC().Format(scimTimeLayout)}
	case "members", "members.value", "members.display", "members.type":
		sub := strings.TrimPrefix(strings.TrimPrefix(attr, "members"), ".")
		if sub == "" {
			sub = "value"
		}
		var out []any
		for _, e := range r.Elems("members") {
			out = append(out, e.Values(sub)...)
		}
		return out
	}
	return nil
}

func (r scimGroupRecord) Elems(attr string) []scimfilter.Record {
	if attr != "members" {
		return nil
	}
	out := make([]scimfilter.Record, len(r.g.users))
	for i, u := range r.g.users {
		out[i] = scimMemberRecord(u)
	}
	return out
}

func scimMemberRecord(u *user) scimfilter.Elem {
	return scimfilter.Elem{"value": u.ID, "display": scimMemberDisplay(u), "type": "User"}
}

type scimGroupJSON struct {
	Schemas     []string       `json:"schemas"`
	ID          string         `json:"id"`
	Meta        map[string]any `json:"meta"`
	DisplayName string         `json:"displayName"`
	Members     []scimRef      `json:"members"`
}

func (c *scimCall) renderGroup(g *usergroup) scimGroupJSON {
	j := scimGroupJSON{Schemas: []string{scimCoreGroup}, ID: g.ID, Meta: c.meta("Group", "/Groups/"+g.ID, g.Created),
		DisplayName: g.Name, Members: make([]scimRef, len(g.users))}
	for i, u := range g.users {
		j.Members[i] = scimRef{Value: u.ID, Display: scimMemberDisplay(u)}
	}
	return j
}

func (c *scimCall) listGroups() (*scimReply, *scimError) {
	f, e := c.filter(scimGroupAttrs)
	if e != nil {
		return nil, e
	}
	return scimPage(c, slices.Values(c.groups()), f,
		func(g *usergroup) scimfilter.Record { return scimGroupRecord{g} },
		func(g *usergroup) any { return c.renderGroup(g) }), nil
}

func (c *scimCall) group() (*usergroup, *scimError) {
	g := c.w.groups[c.id]
	if g == nil || g.Deleted != 0 {
		return nil, scimErr(http.StatusNotFound, "no_such_group", "no group "+c.id)
	}
	return g, nil
}

func (c *scimCall) getGroup() (*scimReply, *scimError) {
	g, e := c.group()
	if e != nil {
		return nil, e
	}
	return &scimReply{status: http.StatusOK, body: c.renderGroup(g)}, nil
}

// scimGroupDraft is a group being changed; see scimDraft.
type scimGroupDraft struct {
	team    *team
	name    string
	members map[string]*user
}

func (c *scimCall) groupDraftOf(g *usergroup) *scimGroupDraft {
	d := &scimGroupDraft{team: g.Team, name: g.Name, members: make(map[string]*user, len(g.users))}
	for _, u := range g.users {
		d.members[u.ID] = u
	}
	return d
}

// member finds a person who may join a group of the workspace t.
func (c *scimCall) member(id string, t *team) (*user, *scimError) {
	u := c.w.users[strings.TrimSpace(id)]
	if u == nil || !scimPerson(u) || (c.w.enterprise == nil && !u.inTeam(t)) {
		return nil, scimBad("no_such_group_members", "no person "+id)
	}
	if u.Deleted || u.Role == roleSingleGuest {
		return nil, scimBad("unable_to_add_deleted_or_guest_to_group", id+" is deactivated or a single-channel guest")
	}
	return u, nil
}

// setMembers adds (or, with remove, takes out) the members a value lists.
func (c *scimCall) setMembers(d *scimGroupDraft, raw json.RawMessage, remove bool) *scimError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		list = []json.RawMessage{raw}
	}
	for _, item := range list {
		var m struct {
			Value     string `json:"value"`
			Operation string `json:"operation"`
		}
		if s, ok := scimString(item); ok {
			m.Value = s
		} else if json.Unmarshal(item, &m) != nil {
			return scimBad("invalid_attribute_format", "members must be objects with a value")
		}
		if remove || strings.EqualFold(m.Operation, "delete") {
			delete(d.members, strings.TrimSpace(m.Value))
			continue
		}
		u, e := c.member(m.Value, d.team)
		if e != nil {
			return e
		}
		d.members[u.ID] = u
	}
	if len(d.members) > scimMaxMembers {
		return scimBad("too_many_users", "a group takes at most 15,000 members")
	}
	return nil
}

var scimGroupURNs = []string{strings.ToLower(scimCoreGroup)}

func (c *scimCall) setGroupPath(d *scimGroupDraft, op, path string, raw json.RawMessage, strict bool) *scimError {
	p, e := parseSCIMPath(path, scimGroupURNs)
	if e != nil {
		return e
	}
	format := scimBad("invalid_attribute_format", "the value of "+path+" has the wrong type")
	switch p.attr {
	case "displayname":
		if op == "remove" {
			return scimBad("invalid_request_payload", "displayName cannot be removed")
		}
		s, ok := scimString(raw)
		if !ok {
			return format
		}
		d.name = strings.TrimSpace(s)
	case "members":
		if p.filter != nil {
			if op != "remove" {
				return scimBad("invalid_request_payload", "a member filter path only removes")
			}
			for id, u := range d.members {
				if p.filter.Match(scimMemberRecord(u)) {
					delete(d.members, id)
				}
			}
			return nil
		}
		if p.sub != "" && p.sub != "value" {
			return scimBad("invalid_request_payload", "no attribute "+strconv.Quote(path))
		}
		switch op {
		case "remove":
			if len(raw) == 0 || string(raw) == "null" {
				clear(d.members)
				return nil
			}
			return c.setMembers(d, raw, true)
		case "replace":
			clear(d.members)
		}
		return c.setMembers(d, raw, false)
	case scimGroupURNs[0]:
		var obj map[string]json.RawMessage
		if op == "remove" || json.Unmarshal(raw, &obj) != nil {
			return format
		}
		return c.applyGroupObject(d, op, obj)
	case "schemas", "id", "meta", "externalid":
	default:
		if strict {
			return scimBad("invalid_request_payload", "no attribute "+strconv.Quote(path))
		}
	}
	return nil
}

func (c *scimCall) applyGroupObject(d *scimGroupDraft, op string, obj map[string]json.RawMessage) *scimError {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if e := c.setGroupPath(d, op, k, obj[k], false); e != nil {
			return e
		}
	}
	return nil
}

// scimGroupHandle makes a handle for a new group from its name, unique in t.
func scimGroupHandle(t *team, name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if base == "" {
		base = "group"
	}
	taken := func(h string) bool {
		return slices.ContainsFunc(t.usergroups, func(g *usergroup) bool { return g.Handle == h })
	}
	h := base
	for n := 2; taken(h); n++ {
		h = base + "-" + strconv.Itoa(n)
	}
	return h
}

// commitGroup checks the draft and writes it to g, or creates the group when
// g is nil.
func (c *scimCall) commitGroup(g *usergroup, d *scimGroupDraft) (*usergroup, *scimError) {
	if d.name == "" {
		return nil, scimBad("invalid_request_payload", "displayName is required")
	}
	for _, o := range d.team.usergroups {
		if o != g && o.Deleted == 0 && strings.EqualFold(o.Name, d.name) {
			return nil, scimErr(http.StatusConflict, "name_already_exists", "a group named "+d.name+" exists: "+o.ID)
		}
	}
	now := c.now.Unix()
	members := slices.SortedFunc(maps.Values(d.members), func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	if g == nil {
		g = &usergroup{ID: c.w.newID("S"), Team: d.team, Name: d.name, Handle: scimGroupHandle(d.team, d.name),
			Created: now, Updated: now, CreatedBy: c.p.user, UpdatedBy: c.p.user, users: members}
		c.w.groups[g.ID] = g
		i, _ := slices.BinarySearchFunc(d.team.usergroups, g.ID, func(x *usergroup, id string) int { return strings.Compare(x.ID, id) })
		d.team.usergroups = slices.Insert(d.team.usergroups, i, g)
		c.s.emit(c.w, subteamEvent("subteam_created", g))
		return g, nil
	}
	prev, prevUpdate, renamed := g.users, g.Updated, g.Name != d.name
	g.Name, g.users = d.name, members
	g.Updated, g.UpdatedBy = max(now, g.Updated+1), c.p.user
	if !c.s.emitMembersChanged(c.w, g, prev, prevUpdate) && renamed {
		c.s.emit(c.w, subteamEvent("subteam_updated", g))
	}
	return g, nil
}

func (c *scimCall) createGroup() (*scimReply, *scimError) {
	obj, e := c.decodeObject()
	if e != nil {
		return nil, e
	}
	d := &scimGroupDraft{team: c.w.teams[0], members: map[string]*user{}}
	if e := c.applyGroupObject(d, "add", obj); e != nil {
		return nil, e
	}
	g, e := c.commitGroup(nil, d)
	if e != nil {
		return nil, e
	}
	return &scimReply{status: http.StatusCreated, body: c.renderGroup(g), location: c.base + "/Groups/" + g.ID}, nil
}

func (c *scimCall) putGroup() (*scimReply, *scimError) {
	g, e := c.group()
	if e != nil {
		return nil, e
	}
	obj, e := c.decodeObject()
	if e != nil {
		return nil, e
	}
	d := &scimGroupDraft{team: g.Team, members: map[string]*user{}}
	if e := c.applyGroupObject(d, "add", obj); e != nil {
		return nil, e
	}
	if _, e := c.commitGroup(g, d); e != nil {
		return nil, e
	}
	return &scimReply{status: http.StatusOK, body: c.renderGroup(g)}, nil
}

func (c *scimCall) patchGroup() (*scimReply, *scimError) {
	g, e := c.group()
	if e != nil {
		return nil, e
	}
	ops, e := c.decodePatch()
	if e != nil {
		return nil, e
	}
	d := c.groupDraftOf(g)
	for _, op := range ops {
		if op.Path == "" {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(op.Value, &obj); err != nil {
				return nil, scimBad("invalid_attribute_format", "an op without path needs an object value")
			}
			if e := c.applyGroupObject(d, op.Op, obj); e != nil {
				return nil, e
			}
			continue
		}
		if e := c.setGroupPath(d, op.Op, op.Path, op.Value, true); e != nil {
			return nil, e
		}
	}
	if _, e := c.commitGroup(g, d); e != nil {
		return nil, e
	}
	return &scimReply{status: http.StatusOK, body: c.renderGroup(g)}, nil
}

func (c *scimCall) deleteGroup() (*scimReply, *scimError) {
	g, e := c.group()
	if e != nil {
		return nil, e
	}
	delete(c.w.groups, g.ID)
	g.Team.usergroups = slices.DeleteFunc(g.Team.usergroups, func(x *usergroup) bool { return x == g })
	// Slack has no subteam_deleted: a group that goes away is told as
	// subteam_updated with date_delete set.
	g.Deleted, g.UpdatedBy = c.now.Unix(), c.p.user
	g.Updated = g.Deleted
	c.s.emit(c.w, subteamEvent("subteam_updated", g))
	return &scimReply{status: http.StatusNoContent}, nil
}
