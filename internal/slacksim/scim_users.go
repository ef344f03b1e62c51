package slacksim

import (
	"encoding/json"
	"iter"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connhub/connhub/internal/slacksim/scimfilter"
)

func scimPerson(u *user) bool { return u.Role != roleBot && u.Role != roleSlackbot }

// people lists the org's people (bots and Slackbot left out) by ID.
func (c *scimCall) people() iter.Seq[*user] {
	return func(yield func(*user) bool) {
		src := c.w.teams[0].users
		if len(c.w.teams) > 1 {
			src = slices.SortedFunc(maps.Values(c.w.users), func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
		}
		for _, u := range src {
			if scimPerson(u) && !yield(u) {
				return
			}
		}
	}
}

type scimName struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
}

// scimEmailJSON is an email as Slack's v2 answers draw it: value and primary,
// no type (a path or filter may still name the type: the primary's is work,
// the secondary's home).
type scimEmailJSON struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
}

type scimValue struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

type scimRef struct {
	Value   string `json:"value"`
	Display string `json:"display"`
}

type scimEnterpriseJSON struct {
	EmployeeNumber *string `json:"employeeNumber"`
	CostCenter     *string `json:"costCenter"`
	Organization   *string `json:"organization"`
	Division       *string `json:"division"`
	Department     *string `json:"department"`
	Manager        struct {
		ManagerID *string `json:"managerId"`
	} `json:"manager"`
}

type scimGuestJSON struct {
	Type       string `json:"type"`
	Expiration string `json:"expiration,omitempty"`
}

type scimProfileJSON struct {
	StartDate string `json:"startDate"`
}

type scimUserJSON struct {
	Schemas      []string           `json:"schemas"`
	ID           string             `json:"id"`
	ExternalID   string             `json:"externalId"`
	Meta         map[string]any     `json:"meta"`
	UserName     string             `json:"userName"`
	NickName     string             `json:"nickName"`
	Name         scimName           `json:"name"`
	DisplayName  string             `json:"displayName"`
	ProfileURL   string             `json:"profileUrl"`
	Title        string             `json:"title"`
	Timezone     string             `json:"timezone"`
	Active       bool               `json:"active"`
	Emails       []scimEmailJSON    `json:"emails"`
	Photos       []scimValue        `json:"photos"`
	PhoneNumbers []scimValue        `json:"phoneNumbers,omitempty"`
	Roles        []scimValue        `json:"roles"`
	Enterprise   scimEnterpriseJSON `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	Profile      *scimProfileJSON   `json:"urn:ietf:params:scim:schemas:extension:slack:profile:2.0:User,omitempty"`
	Guest        *scimGuestJSON     `json:"urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User,omitempty"`
	Groups       []scimRef          `json:"groups"`
}

func scimOptional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func scimGuestType(u *user) string {
	switch u.Role {
	case roleMultiGuest:
		return "multi"
	case roleSingleGuest:
		return "single"
	}
	return ""
}

func (c *scimCall) profileURL(u *user) string {
	if c.w.enterprise != nil {
		return "https://" + c.w.enterprise.Domain + ".enterprise.slack.com/team/" + u.Name
	}
	return "https://" + u.home().Domain + ".slack.com/team/" + u.Name
}

func (c *scimCall) renderUser(u *user, groups []*usergroup) scimUserJSON {
	x := c.extra(u.ID)
	j := scimUserJSON{
		Schemas: []string{scimCoreUser, scimEnterprise}, ID: u.ID, ExternalID: x.externalID,
		Meta:     c.meta("User", "/Users/"+u.ID, u.Created),
		UserName: u.Name, NickName: u.Name, Name: scimName{GivenName: u.FirstName, FamilyName: u.LastName},
		DisplayName: u.DisplayName, ProfileURL: c.profileURL(u), Title: u.Title, Timezone: timezones[u.TZ].Name,
		Active: !u.Deleted, Emails: []scimEmailJSON{}, Roles: []scimValue{}, Groups: []scimRef{},
		Photos: []scimValue{{Value: avatarURL(u, u.home(), 192), Type: "photo"}},
	}
	if u.Email != "" {
		j.Emails = append(j.Emails, scimEmailJSON{Value: u.Email, Primary: true})
	}
	if x.email2 != "" {
		j.Emails = append(j.Emails, scimEmailJSON{Value: x.email2})
	}
	if u.Phone != "" {
		j.PhoneNumbers = []scimValue{{Value: u.Phone, Type: "work", Primary: true}}
	}
	if x.role != "" {
		j.Roles = append(j.Roles, scimValue{Value: x.role, Primary: true})
	}
	j.Enterprise = scimEnterpriseJSON{EmployeeNumber: scimOptional(x.ent.employeeNumber), CostCenter: scimOptional(x.ent.costCenter),
		Organization: scimOptional(x.ent.organization), Division: scimOptional(x.ent.division), Department: scimOptional(x.ent.department)}
	j.Enterprise.Manager.ManagerID = scimOptional(x.ent.managerID)
	if u.StartDate != "" {
		j.Schemas = append(j.Schemas, scimProfile)
		j.Profile = &scimProfileJSON{StartDate: u.StartDate + "T00:00:00+0000"}
	}
	if gt := scimGuestType(u); gt != "" {
		j.Schemas = append(j.Schemas, scimGuest)
		j.Guest = &scimGuestJSON{Type: gt}
		if u.GuestExpiry > 0 {
			j.Guest.Expiration = time.Unix(u.GuestExpiry, 0).UTC().Format(time.RFC3339)
		}
	}
	for _, g := range groups {
		j.Groups = append(j.Groups, scimRef{Value: g.ID, Display: g.Name})
	}
	return j
}

// scimUserAttrs are the attributes a user filter may name, lower-cased.
var scimUserAttrs = map[string]bool{
	"id": true, "externalid": true, "username": true, "nickname": true, "displayname": true, "title": true,
	"timezone": true, "active": true, "profileurl": true, "meta.created": true,
	"name.givenname": true, "name.familyname": true, "name.formatted": true,
	"emails": true, "emails.value": true, "emails.type": true, "emails.primary": true, "email": true,
	"groups": true, "groups.value": true, "groups.display": true,
}

type scimUserRecord struct {
	c   *scimCall
	u   *user
	idx map[*user][]*usergroup
}

func (r scimUserRecord) Values(attr string) []any {
	u := r.u
	switch attr {
	case "id":
		return []any{u.ID}
	case "externalid":
		return []any{r.c.extra(u.ID).externalID}
	case "username", "nickname":
		return []any{u.Name}
	case "displayname":
		return []any{u.DisplayName}
	case "title":
		return []any{u.Title}
	case "timezone":
		return []any{timezones[u.TZ].Name}
	case "active":
		return []any{!u.Deleted}
	case "profileurl":
		return []any{r.c.profileURL(u)}
	case "meta.created":
		return []any{time.Unix(u.Created, 0).UTC().Format(scimTimeLayout)}
	case "name.givenname":
		return []any{u.FirstName}
	case "name.familyname":
		return []any{u.LastName}
	case "name.formatted":
		return []any{u.RealName}
	case "groups", "groups.value", "groups.display":
		var out []any
		for _, g := range r.idx[u] {
			if attr == "groups.display" {
				out = append(out, g.Name)
			} else {
				out = append(out, g.ID)
			}
		}
		return out
	}
	var out []any
	for _, e := range r.Elems("emails") {
		sub := strings.TrimPrefix(strings.TrimPrefix(attr, "emails"), ".")
		if attr == "email" || sub == "" {
			sub = "value"
		}
		out = append(out, e.Values(sub)...)
	}
	return out
}

func (r scimUserRecord) Elems(attr string) []scimfilter.Record {
	switch attr {
	case "emails", "email":
		var out []scimfilter.Record
		if r.u.Email != "" {
			out = append(out, scimfilter.Elem{"value": r.u.Email, "type": "work", "primary": true})
		}
		if e2 := r.c.extra(r.u.ID).email2; e2 != "" {
			out = append(out, scimfilter.Elem{"value": e2, "type": "home", "primary": false})
		}
		return out
	case "groups":
		var out []scimfilter.Record
		for _, g := range r.idx[r.u] {
			out = append(out, scimfilter.Elem{"value": g.ID, "display": g.Name})
		}
		return out
	}
	return nil
}

func (c *scimCall) listUsers() (*scimReply, *scimError) {
	f, e := c.filter(scimUserAttrs)
	if e != nil {
		return nil, e
	}
	idx := c.groupIndex()
	return scimPage(c, c.people(), f,
		func(u *user) scimfilter.Record { return scimUserRecord{c: c, u: u, idx: idx} },
		func(u *user) any { return c.renderUser(u, idx[u]) }), nil
}

// person finds the user the path names; modify also checks the caller
// outranks or matches them.
func (c *scimCall) person(modify bool) (*user, *scimError) {
	u := c.w.users[c.id]
	if u == nil || !scimPerson(u) {
		return nil, scimErr(http.StatusNotFound, "no_such_user", "no person "+c.id)
	}
	if modify && scimRank(u) > scimRank(c.p.user) {
		return nil, scimErr(http.StatusForbidden, "cannot_modify_owner", "the token's user is outranked by "+u.ID)
	}
	return u, nil
}

func scimRank(u *user) int {
	switch u.Role {
	case rolePrimaryOwner:
		return 3
	case roleOwner:
		return 2
	case roleAdmin:
		return 1
	}
	return 0
}

func (c *scimCall) userReply(status int, u *user) *scimReply {
	if status == http.StatusCreated { // a new account belongs to no group yet
		return &scimReply{status: status, body: c.renderUser(u, nil), location: c.base + "/Users/" + u.ID}
	}
	return &scimReply{status: status, body: c.renderUser(u, c.groupsOf(u))}
}

func (c *scimCall) getUser() (*scimReply, *scimError) {
	u, e := c.person(false)
	if e != nil {
		return nil, e
	}
	return c.userReply(http.StatusOK, u), nil
}

// scimDraft is a user as SCIM sees it, changed by a request and written back
// only when every change is valid, so a failed request changes nothing.
type scimDraft struct {
	userName, given, family, displayName, title string
	tz                                          int
	active                                      bool
	email, email2, phone                        string
	externalID, role                            string
	ent                                         scimEnt
	guest                                       string // "", "multi" or "single"
	guestExpiry                                 int64
	startDate                                   string // YYYY-MM-DD
	fromNick                                    bool   // userName was last set as nickName
}

func (c *scimCall) draftOf(u *user) *scimDraft {
	x := c.extra(u.ID)
	return &scimDraft{userName: u.Name, given: u.FirstName, family: u.LastName, displayName: u.DisplayName, title: u.Title,
		tz: u.TZ, active: !u.Deleted, email: u.Email, email2: x.email2, phone: u.Phone, externalID: x.externalID,
		role: x.role, ent: x.ent, guest: scimGuestType(u), guestExpiry: u.GuestExpiry, startDate: u.StartDate}
}

type scimMode uint8

const (
	scimCreate scimMode = iota
	scimReplace
	scimPatch
)

// applyUserObject sets every attribute of obj, in a stable order. userName
// wins over nickName, which is the same field.
func (c *scimCall) applyUserObject(d *scimDraft, op string, obj map[string]json.RawMessage, mode scimMode) *scimError {
	_, hasUserName := scimLookup(obj, "userName")
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if hasUserName && strings.EqualFold(k, "nickName") {
			continue
		}
		if e := c.setUserPath(d, op, k, obj[k], mode, false); e != nil {
			return e
		}
	}
	return nil
}

func (c *scimCall) createUser() (*scimReply, *scimError) {
	obj, e := c.decodeObject()
	if e != nil {
		return nil, e
	}
	raw, ok := scimLookup(obj, "userName")
	if !ok {
		raw, ok = scimLookup(obj, "nickName")
	}
	if !ok || string(raw) == "null" {
		return nil, scimBad("username_required", "userName is required")
	}
	d := &scimDraft{active: true}
	if e := c.applyUserObject(d, "replace", obj, scimCreate); e != nil {
		return nil, e
	}
	if d.given == "" && d.family == "" {
		d.given = d.displayName // as Slack fills the name of a user created with a display name only
	}
	if d.startDate == "" {
		d.startDate = c.now.UTC().Format(time.DateOnly)
	}
	u, e := c.commitUser(nil, d)
	if e != nil {
		return nil, e
	}
	return c.userReply(http.StatusCreated, u), nil
}

func (c *scimCall) putUser() (*scimReply, *scimError) {
	u, e := c.person(true)
	if e != nil {
		return nil, e
	}
	obj, e := c.decodeObject()
	if e != nil {
		return nil, e
	}
	_, hasName := scimLookup(obj, "userName")
	_, hasNick := scimLookup(obj, "nickName")
	if !hasName && !hasNick {
		return nil, scimBad("username_empty", "PUT replaces the user and needs userName")
	}
	d := c.draftOf(u)
	d.given, d.family, d.displayName, d.title, d.phone = "", "", "", "", ""
	d.role, d.email2, d.startDate, d.ent = "", "", "", scimEnt{} // externalId stays: Slack does not update it
	if e := c.applyUserObject(d, "replace", obj, scimReplace); e != nil {
		return nil, e
	}
	if _, e := c.commitUser(u, d); e != nil {
		return nil, e
	}
	return c.userReply(http.StatusOK, u), nil
}

func (c *scimCall) patchUser() (*scimReply, *scimError) {
	u, e := c.person(true)
	if e != nil {
		return nil, e
	}
	ops, e := c.decodePatch()
	if e != nil {
		return nil, e
	}
	d := c.draftOf(u)
	for _, op := range ops {
		if op.Path == "" {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(op.Value, &obj); err != nil {
				return nil, scimBad("invalid_attribute_format", "an op without path needs an object value")
			}
			if e := c.applyUserObject(d, op.Op, obj, scimPatch); e != nil {
				return nil, e
			}
			continue
		}
		if e := c.setUserPath(d, op.Op, op.Path, op.Value, scimPatch, true); e != nil {
			return nil, e
		}
	}
	if _, e := c.commitUser(u, d); e != nil {
		return nil, e
	}
	return c.userReply(http.StatusOK, u), nil
}

func (c *scimCall) deleteUser() (*scimReply, *scimError) {
	if u := c.w.users[c.id]; u != nil && !scimPerson(u) {
		return nil, scimErr(http.StatusForbidden, "cannot_disable_bot_user_with_scim", u.ID+" is a bot")
	}
	u, e := c.person(true)
	if e != nil {
		return nil, e
	}
	if u.Role == rolePrimaryOwner {
		return nil, scimErr(http.StatusForbidden, "cannot_disable_primary_owner", "the primary owner cannot be deactivated")
	}
	if !u.Deleted {
		c.w.setDeleted(u, true, c.now.Unix())
		c.s.emit(c.w, c.w.userEvent("user_change", u, c.now))
	}
	return &scimReply{status: http.StatusNoContent}, nil
}

var scimUserURNs = []string{strings.ToLower(scimCoreUser), strings.ToLower(scimEnterprise), strings.ToLower(scimGuest), strings.ToLower(scimProfile)}

// setUserPath applies one change to the draft. strict rejects paths the
// sandbox does not know; bodies and value objects ignore them.
func (c *scimCall) setUserPath(d *scimDraft, op, path string, raw json.RawMessage, mode scimMode, strict bool) *scimError {
	p, e := parseSCIMPath(path, scimUserURNs)
	if e != nil {
		return e
	}
	remove := op == "remove"
	format := scimBad("invalid_attribute_format", "the value of "+path+" has the wrong type")
	unknown := func() *scimError {
		if strict {
			return scimBad("invalid_request_payload", "no attribute "+strconv.Quote(path))
		}
		return nil
	}
	if p.filter != nil && p.attr != "emails" && p.attr != "phonenumbers" && p.attr != "roles" {
		return scimBad("invalid_request_payload", "no value filter on "+path)
	}
	str := func(dst *string) *scimError {
		if remove {
			*dst = ""
			return nil
		}
		s, ok := scimString(raw)
		if !ok {
			return format
		}
		*dst = strings.TrimSpace(s)
		return nil
	}
	switch p.attr {
	case "active":
		if remove || p.sub != "" {
			return scimBad("invalid_request_payload", "active can only be set")
		}
		var b scimBool
		if json.Unmarshal(raw, &b) != nil || string(raw) == "null" {
			return format
		}
		d.active = bool(b)
	case "username", "nickname":
		if remove {
			return scimBad("username_empty", "userName cannot be removed")
		}
		if p.sub != "" {
			return unknown()
		}
		d.fromNick = p.attr == "nickname"
		return str(&d.userName)
	case "name":
		switch p.sub {
		case "":
			if remove {
				d.given, d.family = "", ""
				return nil
			}
			var n struct {
				GivenName, FamilyName, Formatted *string
			}
			if json.Unmarshal(raw, &n) != nil {
				return format
			}
			if n.GivenName != nil {
				d.given = strings.TrimSpace(*n.GivenName)
			}
			if n.FamilyName != nil {
				d.family = strings.TrimSpace(*n.FamilyName)
			}
			if n.GivenName == nil && n.FamilyName == nil && n.Formatted != nil {
				d.given, d.family, _ = strings.Cut(strings.TrimSpace(*n.Formatted), " ")
			}
		case "givenname":
			return str(&d.given)
		case "familyname":
			return str(&d.family)
		case "formatted", "honorificprefix", "honorificsuffix", "middlename":
		default:
			return unknown()
		}
	case "displayname", "title", "externalid":
		if p.sub != "" {
			return unknown()
		}
		if p.attr == "externalid" && mode != scimCreate {
			return nil // Slack: "updates to the externalId attribute are not supported"
		}
		dst := map[string]*string{"displayname": &d.displayName, "title": &d.title, "externalid": &d.externalID}[p.attr]
		return str(dst)
	case "timezone":
		var tz string
		if e := str(&tz); e != nil {
			return e
		}
		tz = strings.ReplaceAll(tz, " ", "_")
		for i, z := range timezones {
			if strings.EqualFold(z.Name, tz) {
				d.tz = i
			}
		}
	case "emails":
		return scimSetEmails(d, op, p, raw, format)
	case "phonenumbers":
		return scimSetSingle(&d.phone, op, p, raw, format)
	case "roles":
		return scimSetSingle(&d.role, op, p, raw, format)
	case scimUserURNs[0]: // the core schema as a whole: its attributes in an object
		var obj map[string]json.RawMessage
		if remove || json.Unmarshal(raw, &obj) != nil {
			return format
		}
		return c.applyUserObject(d, op, obj, mode)
	case scimUserURNs[1]:
		return scimSetEnterprise(&d.ent, op, p.sub, raw, format)
	case scimUserURNs[2]:
		return scimSetGuest(d, op, p.sub, raw, format)
	case scimUserURNs[3]:
		if p.sub != "" && p.sub != "startdate" {
			return unknown()
		}
		if remove {
			d.startDate = ""
			return nil
		}
		v := raw
		if p.sub == "" {
			var obj struct {
				StartDate json.RawMessage `json:"startDate"`
			}
			if json.Unmarshal(raw, &obj) != nil {
				return format
			}
			if obj.StartDate == nil {
				return nil
			}
			v = obj.StartDate
		}
		s, ok := scimString(v)
		if !ok {
			return format
		}
		if s == "" {
			d.startDate = ""
			return nil
		}
		t, ok := scimParseTime(s)
		if !ok {
			return format
		}
		d.startDate = t.UTC().Format(time.DateOnly)
	case "password":
		if mode != scimCreate {
			return scimBad("password_change_not_allowed", "SCIM cannot change a password")
		}
	case "schemas", "id", "meta", "groups", "photos", "addresses", "address", "usertype", "locale", "preferredlanguage",
		"profileurl", "entitlements", "ims", "x509certificates":
		// Accepted and not modelled (groups and profileUrl are read-only;
		// Slack's own PATCH example removes "address").
	default:
		return unknown()
	}
	return nil
}

// scimEmailIn is one entry of an emails (or phoneNumbers, roles) value.
type scimEmailIn struct {
	Value     string   `json:"value"`
	Type      string   `json:"type"`
	Primary   scimBool `json:"primary"`
	Operation string   `json:"operation"`
}

// scimEntries reads a multi-valued attribute's value: an array or a single
// entry, each an object or a bare string.
func scimEntries(raw json.RawMessage) ([]scimEmailIn, bool) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		list = []json.RawMessage{raw}
	}
	out := make([]scimEmailIn, 0, len(list))
	for _, item := range list {
		var e scimEmailIn
		if s, ok := scimString(item); ok {
			e.Value = s
		} else if json.Unmarshal(item, &e) != nil {
			return nil, false
		}
		e.Value = strings.TrimSpace(e.Value)
		if e.Value != "" {
			out = append(out, e)
		}
	}
	return out, true
}

// scimPickPrimary chooses as Slack does: the entry marked primary, else the first
// of type work, else the first.
func scimPickPrimary(entries []scimEmailIn) (primary string, rest []string) {
	at := -1
	for i, e := range entries {
		if e.Primary {
			at = i
			break
		}
	}
	if at < 0 {
		for i, e := range entries {
			if strings.EqualFold(e.Type, "work") {
				at = i
				break
			}
		}
	}
	if at < 0 && len(entries) > 0 {
		at = 0
	}
	for i, e := range entries {
		if i == at {
			primary = e.Value
		} else if !strings.EqualFold(e.Value, entries[at].Value) {
			rest = append(rest, e.Value)
		}
	}
	return primary, rest
}

func scimSetEmails(d *scimDraft, op string, p scimPath, raw json.RawMessage, format *scimError) *scimError {
	noPrimary := scimBad("missing_primary_email", "the primary email cannot be removed, only replaced")
	valueOf := func() (string, *scimError) {
		if s, ok := scimString(raw); ok {
			return strings.TrimSpace(s), nil
		}
		entries, ok := scimEntries(raw)
		if !ok || len(entries) == 0 {
			return "", format
		}
		return entries[0].Value, nil
	}
	switch {
	case p.filter == nil && p.sub == "":
		if op == "remove" {
			if len(raw) == 0 || string(raw) == "null" {
				d.email2 = "" // Slack: removing emails removes the secondary one
				return nil
			}
			entries, ok := scimEntries(raw)
			if !ok {
				return format
			}
			for _, e := range entries {
				if strings.EqualFold(e.Value, d.email) {
					return noPrimary
				}
				if strings.EqualFold(e.Value, d.email2) {
					d.email2 = ""
				}
			}
			return nil
		}
		entries, ok := scimEntries(raw)
		if !ok {
			return format
		}
		if op == "replace" {
			primary, rest := scimPickPrimary(entries)
			d.email, d.email2 = primary, ""
			if len(rest) > 0 {
				d.email2 = rest[0]
			}
			return nil
		}
		for _, e := range entries {
			switch {
			case bool(e.Primary) || d.email == "":
				if !strings.EqualFold(d.email, e.Value) && d.email2 == "" {
					d.email2 = d.email
				}
				d.email = e.Value
			case e.Operation == "delete" && strings.EqualFold(e.Value, d.email2):
				d.email2 = ""
			case !strings.EqualFold(e.Value, d.email):
				d.email2 = e.Value
			}
		}
		if strings.EqualFold(d.email, d.email2) {
			d.email2 = ""
		}
		return nil
	case p.filter == nil: // emails.value, emails.type, ...
		if p.sub != "value" {
			return nil
		}
		if op == "remove" {
			return noPrimary
		}
		v, e := valueOf()
		if e != nil {
			return e
		}
		d.email = v
		return nil
	}
	slots := []struct {
		rec     scimfilter.Elem
		primary bool
	}{
		{scimfilter.Elem{"value": d.email, "type": "work", "primary": true}, true},
		{scimfilter.Elem{"value": d.email2, "type": "home", "primary": false}, false},
	}
	set := func(primary bool, v string) {
		if primary {
			d.email = v
		} else {
			d.email2 = v
		}
	}
	matched := false
	for _, s := range slots {
		if s.rec["value"] == "" || !p.filter.Match(s.rec) {
			continue
		}
		matched = true
		if op == "remove" {
			if p.sub != "" && p.sub != "value" {
				continue
			}
			if s.primary {
				return noPrimary
			}
			d.email2 = ""
			continue
		}
		if p.sub != "" && p.sub != "value" {
			continue
		}
		v, e := valueOf()
		if e != nil {
			return e
		}
		set(s.primary, v)
	}
	if !matched && op != "remove" && (p.sub == "" || p.sub == "value") {
		// No such email yet: a filter that would match the primary slot
		// (type work, primary true) sets it, anything else the secondary.
		v, e := valueOf()
		if e != nil {
			return e
		}
		set(d.email == "" || p.filter.Match(scimfilter.Elem{"value": "", "type": "work", "primary": true}), v)
	}
	return nil
}

// scimSetSingle sets an attribute Slack keeps one value of (a phone number, a
// role) from a multi-valued SCIM attribute.
func scimSetSingle(dst *string, op string, p scimPath, raw json.RawMessage, format *scimError) *scimError {
	if op == "remove" {
		*dst = ""
		return nil
	}
	if p.sub != "" && p.sub != "value" {
		return nil
	}
	if s, ok := scimString(raw); ok {
		*dst = strings.TrimSpace(s)
		return nil
	}
	entries, ok := scimEntries(raw)
	if !ok {
		return format
	}
	*dst, _ = scimPickPrimary(entries)
	return nil
}

func scimSetEnterprise(ent *scimEnt, op, sub string, raw json.RawMessage, format *scimError) *scimError {
	fields := map[string]*string{"employeenumber": &ent.employeeNumber, "costcenter": &ent.costCenter,
		"organization": &ent.organization, "division": &ent.division, "department": &ent.department,
		"manager.managerid": &ent.managerID, "manager": &ent.managerID}
	if sub == "" {
		if op == "remove" {
			*ent = scimEnt{}
			return nil
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return format
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if e := scimSetEnterprise(ent, op, strings.ToLower(k), obj[k], format); e != nil {
				return e
			}
		}
		return nil
	}
	dst := fields[sub]
	if dst == nil {
		return nil
	}
	if op == "remove" || string(raw) == "null" {
		*dst = ""
		return nil
	}
	if sub == "manager" {
		var m struct {
			ManagerID *string `json:"managerId"`
		}
		if json.Unmarshal(raw, &m) != nil {
			return format
		}
		if m.ManagerID == nil {
			return scimBad("improper_enterprise_schema_format", "manager needs managerId")
		}
		*dst = strings.TrimSpace(*m.ManagerID)
		return nil
	}
	s, ok := scimString(raw)
	if !ok {
		return format
	}
	*dst = strings.TrimSpace(s)
	return nil
}

func scimSetGuest(d *scimDraft, op, sub string, raw json.RawMessage, format *scimError) *scimError {
	expiry := func(v json.RawMessage) *scimError {
		s, ok := scimString(v)
		if !ok {
			return format
		}
		if s == "" {
			d.guestExpiry = 0
			return nil
		}
		t, ok := scimParseTime(s)
		if !ok {
			return format
		}
		d.guestExpiry = t.Unix()
		return nil
	}
	switch sub {
	case "":
		if op == "remove" {
			d.guest, d.guestExpiry = "", 0
			return nil
		}
		var g struct {
			Type       *string         `json:"type"`
			Expiration json.RawMessage `json:"expiration"`
		}
		if json.Unmarshal(raw, &g) != nil || g.Type == nil {
			return scimBad("invalid_attribute_format", "the guest extension needs a type")
		}
		d.guest, d.guestExpiry = strings.ToLower(strings.TrimSpace(*g.Type)), 0
		if g.Expiration != nil {
			return expiry(g.Expiration)
		}
	case "type":
		if op == "remove" {
			d.guest, d.guestExpiry = "", 0
			return nil
		}
		s, ok := scimString(raw)
		if !ok {
			return format
		}
		d.guest = strings.ToLower(strings.TrimSpace(s))
	case "expiration":
		if op == "remove" {
			d.guestExpiry = 0
			return nil
		}
		return expiry(raw)
	}
	return nil
}

// scimHandle makes a Slack username of what a client sent as userName.
func scimHandle(s string) (string, *scimError) {
	s = strings.TrimSpace(s)
	if at := strings.IndexByte(s, '@'); at > 0 {
		s = s[:at]
	}
	if s == "" {
		return "", scimBad("username_empty", "userName is empty")
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String(), nil
}

func scimValidEmail(e string) bool {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>,;:\"()[]\\") || strings.Count(e, "@") != 1 {
		return false
	}
	domain := e[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// handleTaken reports whether another account or a channel of the
// workspaces already uses the username. The accounts are a lookup in
// world.handles; the channels, far fewer than the people, are scanned.
func (c *scimCall) handleTaken(h string, self *user, teams []*team) bool {
	if c.w.handleUsed(h, self) {
		return true
	}
	for _, t := range teams {
		for _, ch := range t.channels {
			if (ch.Kind == kindPublic || ch.Kind == kindPrivate) && ch.Name == h {
				return true
			}
		}
	}
	return false
}

// commitUser checks the draft and writes it to u, or creates the user when u
// is nil. Nothing changes unless every check passes.
func (c *scimCall) commitUser(u *user, d *scimDraft) (*user, *scimError) {
	w, isNew, now := c.w, u == nil, c.now.Unix()
	teams := []*team{w.teams[0]}
	if !isNew {
		teams = u.Teams
	}

	handle := ""
	if !isNew {
		handle = u.Name
	}
	if isNew || d.userName != u.Name {
		h, e := scimHandle(d.userName)
		if e != nil {
			return nil, e
		}
		if isNew || h != u.Name {
			if len(h) > scimMaxHandle {
				code := "username_too_long"
				if d.fromNick {
					code = "long_nickname"
				}
				return nil, scimBad(code, "userName is over 21 characters: "+h)
			}
			if c.handleTaken(h, u, teams) {
				return nil, scimErr(http.StatusConflict, "username_taken", "the username "+h+" is taken")
			}
		}
		handle = h
	}

	email := strings.ToLower(strings.TrimSpace(d.email))
	if email == "" {
		if isNew {
			return nil, scimBad("email_empty", "a primary email is required")
		}
		return nil, scimBad("missing_primary_email", "the primary email cannot be removed, only replaced")
	}
	if !scimValidEmail(email) {
		return nil, scimBad("bad_email_address", "not an email address: "+email)
	}
	if other := w.emailIndex[email]; other != nil && other != u {
		return nil, scimErr(http.StatusConflict, "email_taken", "the email "+email+" is taken")
	}
	email2 := strings.ToLower(strings.TrimSpace(d.email2))
	if email2 == email {
		email2 = ""
	}
	if email2 != "" && !scimValidEmail(email2) {
		return nil, scimBad("bad_email_address", "not an email address: "+email2)
	}
	if utf8.RuneCountInString(d.displayName) > scimMaxDisplay {
		return nil, scimBad("invalid_name_maxlength", "displayName is over 80 characters")
	}
	if strings.HasPrefix(d.displayName, "@") {
		return nil, scimBad("invalid_starts_with_at", "displayName starts with @")
	}

	role, curGuest, reactivate := roleMember, "", false
	if !isNew {
		role, curGuest = u.Role, scimGuestType(u)
	}
	if d.guest != curGuest {
		if w.enterprise == nil {
			return nil, scimErr(http.StatusForbidden, "permission_denied", "guest provisioning over SCIM is for Enterprise Grid only")
		}
		switch d.guest {
		case "":
			role = roleMember
		case "multi":
			if !isNew && u.isAdmin() {
				return nil, scimBad("cannot_make_user_guest", "admins and owners cannot be made guests")
			}
			role = roleMultiGuest
		default:
			return nil, scimBad("invalid_attribute_format", `the only guest type SCIM sets is "multi"`)
		}
		reactivate = !isNew // Slack reactivates a deactivated account it converts
	}
	active := d.active || reactivate
	if !isNew && !active && !u.Deleted && u.Role == rolePrimaryOwner {
		return nil, scimErr(http.StatusForbidden, "cannot_disable_primary_owner", "the primary owner cannot be deactivated")
	}

	if isNew {
		prefix := "U"
		if w.enterprise != nil {
			prefix = "W"
		}
		u = &user{ID: w.newID(prefix), Teams: teams, Color: colors[len(w.users)%len(colors)], Created: now, Updated: now}
	}
	w.setHandle(u, handle)
	u.FirstName, u.LastName = strings.TrimSpace(d.given), strings.TrimSpace(d.family)
	u.RealName = strings.TrimSpace(u.FirstName + " " + u.LastName)
	u.DisplayName, u.Title, u.Phone, u.TZ, u.StartDate = d.displayName, d.title, d.phone, d.tz, d.startDate
	u.Role = role
	u.GuestExpiry = 0
	if u.isGuest() {
		u.GuestExpiry = d.guestExpiry
	}
	if u.Email != email {
		if !isNew && u.Email != "" {
			delete(w.emailIndex, strings.ToLower(u.Email))
		}
		u.Email = email
		if !isNew {
			w.emailIndex[email] = u
		}
	}
	x := scimExtra{externalID: d.externalID, email2: email2, role: d.role, ent: d.ent}
	if x == (scimExtra{}) {
		delete(c.st.users, u.ID)
	} else {
		c.st.users[u.ID] = &x
	}
	if isNew {
		w.addUser(u)
		if active {
			w.joinGeneral(u)
			c.s.emit(w, w.userEvent("team_join", u, c.now))
		} else {
			u.Deleted = true
		}
		return u, nil
	}
	u.Updated = max(now, u.Updated+1)
	w.setDeleted(u, !active, now)
	c.s.emit(w, w.userEvent("user_change", u, c.now))
	return u, nil
}
