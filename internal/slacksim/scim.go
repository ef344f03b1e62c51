package slacksim

import (
	"encoding/json"
	"errors"
	"iter"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SCIM v2 is Slack's provisioning API for Business+ and Enterprise Grid (FACTS
// 5). It changes the same world as the Web API: a user created or deactivated
// here shows in users.list, a group changed here in usergroups.users.list.
//
//	GET    /scim/v2/ServiceProviderConfig
//	GET    /scim/v2/ResourceTypes[/{User|Group}]
//	GET    /scim/v2/Schemas[/{Users|Groups|<schema URN>}]
//	GET    /scim/v2/Users             startIndex (1-based), count (default 10, at most 1000), filter
//	POST   /scim/v2/Users             201 and the user
//	GET    /scim/v2/Users/{id}
//	PUT    /scim/v2/Users/{id}        replace
//	PATCH  /scim/v2/Users/{id}        PatchOp: add, replace, remove, with or without path
//	DELETE /scim/v2/Users/{id}        deactivate (204); the account stays, active:false
//	GET    /scim/v2/Groups            user groups (S…), paged and filtered like users
//	POST   /scim/v2/Groups            201 and the group
//	GET|PUT|PATCH /scim/v2/Groups/{id}
//	DELETE /scim/v2/Groups/{id}       removes the group for good (204)
//
// Every answer is JSON. Errors carry Slack's body {"Errors":{"description":
// "<code>","code":<status>}} together with the RFC 7644 fields Slack's v2 also
// sends (schemas, detail, status); the description is one of the codes of
// Slack's SCIM error table, never free text, so clients can match on it.
//
// # Authorization
//
// "Authorization: Bearer <token>" only (no query or body token). No header:
// 401 missing_authentication. A token that is unknown, revoked or expired, a
// bot token, or a user token without the admin scope: 401
// invalid_authentication (Slack's table lists a missing admin scope under that
// code). Free and Pro plans: 403 plus_teams_only. On Enterprise Grid SCIM acts
// on the whole org and needs an org-wide install: a workspace token gets 403
// non_org_teams_only, as Slack documents. A token whose user is no longer an
// admin or owner: 403 permission_denied. A caller may only change accounts
// ranked at most its own (member and guests < admin < owner < primary owner):
// an admin's token gets 403 cannot_modify_owner on owners, and nobody may
// deactivate the primary owner (403 cannot_disable_primary_owner).
//
// # Rate limits
//
// Org-wide and shared by every app (FACTS 5), in their own key space of the
// limiter ("scim/<enterprise or team>/<class>"), a budget per RateWindow like
// the Web API's tiers. A call spends its endpoint's class, then its set's:
//
//	read          1000  every GET
//	write          600  every POST, PUT, PATCH, DELETE
//	users.get      300  GET /Users/{id}
//	groups.get     300  GET /Groups/{id}
//	users.write    180  POST /Users, PUT|PATCH|DELETE /Users/{id}
//	groups.write   180  POST /Groups, PUT|PATCH|DELETE /Groups/{id}
//
// Slack's bursts (20 user writes, 80 group updates) are not modelled: the
// sliding log already refuses anything over the budget in any window. A call
// refused by the set's budget has still spent its class's. A 429 carries
// Retry-After and the error too_many_requests.
//
// # Decisions where Slack's documentation is silent
//
//   - Bots and Slackbot are not SCIM users: they are not listed and their IDs
//     answer 404 no_such_user. Deactivated people are listed, active:false.
//   - POST, PUT and PATCH bodies must carry "schemas" (400
//     missing_schema_element, as Slack answers). Unknown attributes in a body
//     are ignored; an unknown PATCH path is 400 invalid_request_payload.
//   - userName is made Slack-like: the local part of an email, lower-cased,
//     characters other than letters, digits, '.', '_' and '-' turned into '_',
//     at most 21 characters (400 username_too_long). It must not be taken by
//     another account or a channel of the workspace (409 username_taken).
//     nickName is the same field. A primary email is required (400
//     email_empty) and unique (409 email_taken); a second email, externalId,
//     one role and the enterprise extension are kept beside the model.
//   - PUT replaces everything the body can carry, but keeps the primary email,
//     active, the time zone and the guest type when the body omits them:
//     omitting is not how Slack removes a primary email or converts a guest.
//   - New users join the first workspace (the org's first on Grid) and, unless
//     they are guests, its #general, as a newly joined person does; they have
//     never signed in. Reactivation rejoins #general (world.setDeleted).
//   - Guest conversions (the slack:guest extension, type "multi") are for
//     Enterprise Grid only as Slack documents; elsewhere 403 permission_denied.
//     Admins and owners cannot become guests (400 cannot_make_user_guest).
//     "single" is reported for single-channel guests but cannot be set.
//   - New groups belong to the first workspace. On Grid any person of the org
//     may be a member; elsewhere members come from the workspace. Deactivated
//     people and single-channel guests cannot be added (400
//     unable_to_add_deleted_or_guest_to_group); an unknown ID is 400
//     no_such_group_members. Group names are unique per workspace, case
//     ignored (409 name_already_exists, the Web API's code). Disabled user
//     groups are not SCIM groups (404 no_such_group).
//   - Filters support eq, ne, co, sw, ew, gt, ge, lt, le, pr, and, or, not,
//     parentheses and value paths (emails[type eq "work"]); string comparisons
//     ignore case. An empty filter is 400 no_filters, an unknown attribute or
//     operator 400 invalid_query, a bad grouping 400 invalid_filter_group, a
//     truncated one 400 incomplete_filter.
//   - Sorting, attributes/excludedAttributes, ETags, bulk, /Me and the
//     sandbox's faults are not emulated; /scim/v1/ answers 404
//     unsupported_version, an unknown endpoint 404 bad_endpoint and a wrong
//     verb 405 method_not_allowed.
//
// Stats.SCIM counts every call by route ("GET /Users/{id}", "(unknown)"),
// plus the totals "errors" and "ratelimited".

const (
	scimCoreUser      = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimCoreGroup     = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimEnterprise    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	scimGuest         = "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User"
	scimProfile       = "urn:ietf:params:scim:schemas:extension:slack:profile:2.0:User"
	scimListResponse  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimErrorSchema   = "urn:ietf:params:scim:api:messages:2.0:Error"
	scimSPConfig      = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	scimResourceType  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	scimSchemaSchema  = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	scimMaxBody       = 4 << 20 // Slack takes up to 15,000 group members in one call
	scimMaxCount      = 1000
	scimDefaultCount  = 10
	scimMaxMembers    = 15000
	scimMaxHandle     = 21
	scimMaxDisplay    = 80
	scimTimeLayout    = "2006-01-02T15:04:05-07:00"
	scimStartDateForm = "2006-01-02T15:04:05-0700"
)

// scimClass is one rate-limit budget: calls per RateWindow.
type scimClass struct {
	name   string
	budget int
}

var (
	scimReads       = scimClass{"read", 1000}
	scimWrites      = scimClass{"write", 600}
	scimUsersGet    = scimClass{"users.get", 300}
	scimGroupsGet   = scimClass{"groups.get", 300}
	scimUsersWrite  = scimClass{"users.write", 180}
	scimGroupsWrite = scimClass{"groups.write", 180}
)

// scimError is a SCIM failure: an HTTP status and one of Slack's SCIM error
// codes. detail says what went wrong; it is logged, not sent.
type scimError struct {
	status int
	code   string
	detail string
	header http.Header
}

func scimErr(status int, code, detail string) *scimError {
	return &scimError{status: status, code: code, detail: detail}
}

func scimBad(code, detail string) *scimError { return scimErr(http.StatusBadRequest, code, detail) }

func (e *scimError) body() map[string]any {
	return map[string]any{
		"schemas": []string{scimErrorSchema},
		"detail":  e.code,
		"status":  e.status,
		"Errors":  map[string]any{"description": e.code, "code": e.status},
	}
}

// scimReply is a successful SCIM answer.
type scimReply struct {
	status   int
	body     any // nil: no body (204)
	location string
}

// scimRoute is what a request asks for, found before the world is locked.
type scimRoute struct {
	key     string // the Stats.SCIM key, such as "GET /Users/{id}"
	write   bool
	body    bool
	classes []scimClass
	id      string
	fn      func(*scimCall) (*scimReply, *scimError)
}

// scimCall is one SCIM request being answered under the world lock.
type scimCall struct {
	s    *Server
	w    *world
	r    *http.Request
	p    *principal
	st   *scimState
	now  time.Time
	id   string
	body []byte
	base string // scheme, host and /scim/v2, for meta.location
}

// scimHandler serves SCIM v2 under /scim/.
func (s *Server) scimHandler() http.Handler { return http.HandlerFunc(s.serveSCIM) }

func (s *Server) serveSCIM(w http.ResponseWriter, r *http.Request) {
	rt, e := scimRouteFor(r)
	s.stats.add(func(st *Stats) { st.SCIM[rt.key]++ })
	var rep *scimReply
	if e == nil {
		rep, e = s.runSCIM(rt, r)
		if e == nil && rt.write {
			s.changed()
		}
	}
	w.Header().Set("X-Slack-Req-Id", strconv.FormatUint(s.reqSeq.Add(1), 36)+randHex(8))
	if e != nil {
		s.stats.add(func(st *Stats) {
			if e.status == http.StatusTooManyRequests {
				st.SCIM["ratelimited"]++
			} else {
				st.SCIM["errors"]++
			}
		})
		if s.cfg.LogRequests {
			s.log.Info("sandbox: scim", "route", rt.key, "status", e.status, "error", e.code, "detail", e.detail)
		}
		for k, v := range e.header {
			w.Header()[k] = v
		}
		writeSCIM(w, e.status, e.body())
		return
	}
	if s.cfg.LogRequests {
		s.log.Info("sandbox: scim", "route", rt.key, "status", rep.status)
	}
	if rep.location != "" {
		w.Header().Set("Location", rep.location)
	}
	writeSCIM(w, rep.status, rep.body)
}

func writeSCIM(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(scimErr(status, "internal_error", err.Error()).body())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// runSCIM reads the body, locks the world, authenticates, spends the rate
// budget and answers.
func (s *Server) runSCIM(rt scimRoute, r *http.Request) (*scimReply, *scimError) {
	var body []byte
	var bodyErr *scimError
	if rt.body {
		b, err := readAll(r.Body, scimMaxBody)
		if err != nil {
			bodyErr = scimBad("invalid_request_payload", "the body could not be read or is over 4 MiB")
		}
		body = b
	}
	wd := s.world.Load()
	if rt.write {
		wd.mu.Lock()
		defer wd.mu.Unlock()
	} else {
		wd.mu.RLock()
		defer wd.mu.RUnlock()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c := &scimCall{s: s, w: wd, r: r, now: s.now(), id: rt.id, body: body, base: scheme + "://" + r.Host + "/scim/v2"}
	if e := c.authenticate(); e != nil {
		return nil, e
	}
	if e := c.spend(rt.classes); e != nil {
		return nil, e
	}
	if bodyErr != nil {
		return nil, bodyErr
	}
	c.st = scimStateOf(wd)
	return rt.fn(c)
}

// scimRouteFor maps a request to its endpoint, or to 404 or 405.
func scimRouteFor(r *http.Request) (scimRoute, *scimError) {
	unknown := scimRoute{key: "(unknown)"}
	rest, ok := strings.CutPrefix(r.URL.Path, "/scim/v2/")
	if !ok {
		if r.URL.Path != "/scim/v2" {
			if strings.HasPrefix(r.URL.Path, "/scim/v1") {
				return unknown, scimErr(http.StatusNotFound, "unsupported_version", "the sandbox emulates SCIM v2 only; use /scim/v2/")
			}
			return unknown, scimErr(http.StatusNotFound, "bad_endpoint", "no SCIM endpoint at "+r.URL.Path)
		}
	}
	resource, id, _ := strings.Cut(strings.Trim(rest, "/"), "/")
	if strings.Contains(id, "/") {
		return unknown, scimErr(http.StatusNotFound, "bad_endpoint", "no SCIM endpoint at "+r.URL.Path)
	}
	type handler struct {
		fn      func(*scimCall) (*scimReply, *scimError)
		classes []scimClass
	}
	var name string
	var routes map[string]handler
	read := []scimClass{scimReads}
	switch strings.ToLower(resource) {
	case "serviceproviderconfig":
		if id != "" {
			return unknown, scimErr(http.StatusNotFound, "bad_endpoint", "no SCIM endpoint at "+r.URL.Path)
		}
		name, routes = "/ServiceProviderConfig", map[string]handler{http.MethodGet: {(*scimCall).serviceProviderConfig, read}}
	case "resourcetypes":
		name, routes = "/ResourceTypes", map[string]handler{http.MethodGet: {(*scimCall).resourceTypes, read}}
	case "schemas":
		name, routes = "/Schemas", map[string]handler{http.MethodGet: {(*scimCall).schemas, read}}
	case "users":
		uw := []scimClass{scimUsersWrite, scimWrites}
		if id == "" {
			name, routes = "/Users", map[string]handler{
				http.MethodGet:  {(*scimCall).listUsers, read},
				http.MethodPost: {(*scimCall).createUser, uw},
			}
		} else {
			name, routes = "/Users/{id}", map[string]handler{
				http.MethodGet:    {(*scimCall).getUser, []scimClass{scimUsersGet, scimReads}},
				http.MethodPut:    {(*scimCall).putUser, uw},
				http.MethodPatch:  {(*scimCall).patchUser, uw},
				http.MethodDelete: {(*scimCall).deleteUser, uw},
			}
		}
	case "groups":
		gw := []scimClass{scimGroupsWrite, scimWrites}
		if id == "" {
			name, routes = "/Groups", map[string]handler{
				http.MethodGet:  {(*scimCall).listGroups, read},
				http.MethodPost: {(*scimCall).createGroup, gw},
			}
		} else {
			name, routes = "/Groups/{id}", map[string]handler{
				http.MethodGet:    {(*scimCall).getGroup, []scimClass{scimGroupsGet, scimReads}},
				http.MethodPut:    {(*scimCall).putGroup, gw},
				http.MethodPatch:  {(*scimCall).patchGroup, gw},
				http.MethodDelete: {(*scimCall).deleteGroup, gw},
			}
		}
	default:
		return unknown, scimErr(http.StatusNotFound, "bad_endpoint", "no SCIM endpoint at "+r.URL.Path)
	}
	h, ok := routes[r.Method]
	if !ok {
		e := scimErr(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+name)
		e.header = http.Header{"Allow": {strings.Join(slices.Sorted(maps.Keys(routes)), ", ")}}
		return scimRoute{key: r.Method + " " + name}, e
	}
	write := r.Method != http.MethodGet
	return scimRoute{key: r.Method + " " + name, write: write, body: write && r.Method != http.MethodDelete,
		classes: h.classes, id: id, fn: h.fn}, nil
}

// authenticate resolves the Bearer token and checks it may use SCIM here.
func (c *scimCall) authenticate() *scimError {
	h := strings.TrimSpace(c.r.Header.Get("Authorization"))
	if h == "" {
		return scimErr(http.StatusUnauthorized, "missing_authentication", "no Authorization header")
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return scimErr(http.StatusUnauthorized, "invalid_authentication", "the Authorization header is not a Bearer token")
	}
	p, code := c.s.resolveToken(tok, c.now)
	if code != "" {
		return scimErr(http.StatusUnauthorized, "invalid_authentication", "the token is not live: "+code)
	}
	if p.kind != kindUser || !p.hasScope("admin") {
		return scimErr(http.StatusUnauthorized, "invalid_authentication", "SCIM needs a user token with the admin scope")
	}
	if !c.w.edition.businessPlus() {
		return scimErr(http.StatusForbidden, "plus_teams_only", "SCIM is for Business+ and Enterprise Grid")
	}
	if c.w.enterprise != nil && !p.org {
		return scimErr(http.StatusForbidden, "non_org_teams_only", "on Enterprise Grid SCIM needs an org-wide install")
	}
	if !p.user.isAdmin() {
		return scimErr(http.StatusForbidden, "permission_denied", "the token's user is not an admin or owner")
	}
	c.p = p
	return nil
}

// spend takes one call from each of the request's rate-limit classes.
func (c *scimCall) spend(classes []scimClass) *scimError {
	if !c.s.cfg.RateLimits {
		return nil
	}
	place := c.w.teams[0].ID
	if c.w.enterprise != nil {
		place = c.w.enterprise.ID
	}
	for _, cl := range classes {
		ok, wait := c.s.limiter.take("scim/"+place+"/"+cl.name, cl.budget, c.s.cfg.RateWindow, c.now)
		if !ok {
			e := scimErr(http.StatusTooManyRequests, "too_many_requests", "over the SCIM "+cl.name+" budget")
			e.header = http.Header{"Retry-After": {strconv.Itoa(retryAfterSeconds(wait))}}
			return e
		}
	}
	return nil
}

// scimState keeps what SCIM carries and the model does not, per world: it is
// guarded by the world's lock and dropped with the world (a reset starts clean).
type scimState struct {
	users map[string]*scimExtra
}

type scimExtra struct {
	externalID string
	email2     string // Slack keeps a primary and a secondary email
	role       string // Slack keeps one role, a free-text profile field
	ent        scimEnt
}

// scimEnt is the enterprise extension as stored; "" is unset.
type scimEnt struct {
	employeeNumber, costCenter, organization, division, department, managerID string
}

// scimStateOf is the SCIM side table of w, made with the world.
func scimStateOf(w *world) *scimState { return w.scim }

func (c *scimCall) extra(id string) scimExtra {
	if x := c.st.users[id]; x != nil {
		return *x
	}
	return scimExtra{}
}

// ---- discovery ----

func (c *scimCall) meta(resourceType, path string, created int64) map[string]any {
	m := map[string]any{"resourceType": resourceType, "location": c.base + path}
	if created != 0 {
		m["created"] = time.Unix(created, 0).UTC().Format(scimTimeLayout)
	}
	return m
}

func (c *scimCall) serviceProviderConfig() (*scimReply, *scimError) {
	return &scimReply{status: http.StatusOK, body: map[string]any{
		"schemas":          []string{scimSPConfig},
		"documentationUri": "https://api.slack.com/scim",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": scimMaxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description":      "Authentication with an OAuth user token that has the admin scope",
			"specUri":          "https://www.rfc-editor.org/info/rfc6750",
			"documentationUri": "https://api.slack.com/authentication/oauth-v2",
		}},
		"meta": c.meta("ServiceProviderConfig", "/ServiceProviderConfig", 0),
	}}, nil
}

func (c *scimCall) resourceTypeOf(name string) map[string]any {
	if name == "User" {
		return map[string]any{
			"schemas": []string{scimResourceType}, "id": "User", "name": "User", "endpoint": "/Users",
			"description": "User Account", "schema": scimCoreUser,
			"schemaExtensions": []map[string]any{
				{"schema": scimEnterprise, "required": false},
				{"schema": scimGuest, "required": false},
				{"schema": scimProfile, "required": false},
			},
			"meta": c.meta("ResourceType", "/ResourceTypes/User", 0),
		}
	}
	return map[string]any{
		"schemas": []string{scimResourceType}, "id": "Group", "name": "Group", "endpoint": "/Groups",
		"description": "Group", "schema": scimCoreGroup, "schemaExtensions": []map[string]any{},
		"meta": c.meta("ResourceType", "/ResourceTypes/Group", 0),
	}
}

func (c *scimCall) resourceTypes() (*scimReply, *scimError) {
	switch strings.ToLower(c.id) {
	case "":
		return scimListOf([]any{c.resourceTypeOf("User"), c.resourceTypeOf("Group")}), nil
	case "user":
		return &scimReply{status: http.StatusOK, body: c.resourceTypeOf("User")}, nil
	case "group":
		return &scimReply{status: http.StatusOK, body: c.resourceTypeOf("Group")}, nil
	}
	return nil, scimErr(http.StatusNotFound, "bad_endpoint", "no resource type "+c.id)
}

func (c *scimCall) schemas() (*scimReply, *scimError) {
	all := scimSchemaDefs()
	render := func(d scimSchemaDef) map[string]any {
		return map[string]any{"schemas": []string{scimSchemaSchema}, "id": d.id, "name": d.name, "description": d.desc,
			"attributes": d.attrs, "meta": c.meta("Schema", "/Schemas/"+d.id, 0)}
	}
	if c.id == "" {
		out := make([]any, len(all))
		for i, d := range all {
			out[i] = render(d)
		}
		return scimListOf(out), nil
	}
	want := c.id
	switch strings.ToLower(want) {
	case "users", "user":
		want = scimCoreUser
	case "groups", "group":
		want = scimCoreGroup
	}
	for _, d := range all {
		if strings.EqualFold(d.id, want) {
			return &scimReply{status: http.StatusOK, body: render(d)}, nil
		}
	}
	return nil, scimErr(http.StatusNotFound, "bad_endpoint", "no schema "+c.id)
}

// scimAttr is one attribute definition of a schema (RFC 7643 section 7).
type scimAttr struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	MultiValued     bool       `json:"multiValued"`
	Description     string     `json:"description"`
	Required        bool       `json:"required"`
	CaseExact       bool       `json:"caseExact"`
	Mutability      string     `json:"mutability"`
	Returned        string     `json:"returned"`
	Uniqueness      string     `json:"uniqueness"`
	CanonicalValues []string   `json:"canonicalValues,omitempty"`
	SubAttributes   []scimAttr `json:"subAttributes,omitempty"`
}

func scimAttrOf(name, typ, desc string) scimAttr {
	return scimAttr{Name: name, Type: typ, Description: desc, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func (a scimAttr) multi() scimAttr     { a.MultiValued = true; return a }
func (a scimAttr) required() scimAttr  { a.Required = true; return a }
func (a scimAttr) readOnly() scimAttr  { a.Mutability = "readOnly"; return a }
func (a scimAttr) immutable() scimAttr { a.Mutability = "immutable"; return a }
func (a scimAttr) unique() scimAttr    { a.Uniqueness = "server"; return a }
func (a scimAttr) writeOnly() scimAttr { a.Mutability, a.Returned = "writeOnly", "never"; return a }
func (a scimAttr) canonical(v ...string) scimAttr {
	a.CanonicalValues = v
	return a
}
func (a scimAttr) sub(s ...scimAttr) scimAttr { a.SubAttributes = s; return a }

type scimSchemaDef struct {
	id, name, desc string
	attrs          []scimAttr
}

var scimSchemaDefs = sync.OnceValue(func() []scimSchemaDef {
	str := func(n, d string) scimAttr { return scimAttrOf(n, "string", d) }
	return []scimSchemaDef{
		{scimCoreUser, "User", "User Account", []scimAttr{
			str("userName", "The Slack username: at most 21 lower-case letters, digits, periods, underscores and hyphens").required().unique(),
			scimAttrOf("name", "complex", "The person's name").sub(
				str("givenName", "Given name"), str("familyName", "Family name"), str("honorificPrefix", "Honorific prefix")),
			str("displayName", "The Slack display name, at most 80 characters"),
			str("nickName", "The Slack username; the same field as userName"),
			scimAttrOf("profileUrl", "reference", "The Slack profile URL").readOnly(),
			str("title", "Title"),
			str("timezone", "An IANA time zone such as America/Chicago"),
			scimAttrOf("active", "boolean", "false for a deactivated account"),
			str("password", "An initial password when the team uses no identity provider").writeOnly(),
			scimAttrOf("emails", "complex", "The primary email and at most one more").multi().required().sub(
				str("value", "Email address"), str("type", "Kind of email").canonical("work", "home", "other"),
				scimAttrOf("primary", "boolean", "The primary email")),
			scimAttrOf("phoneNumbers", "complex", "Phone number").multi().sub(
				str("value", "Phone number"), str("type", "Kind of phone number").canonical("work", "mobile", "other"),
				scimAttrOf("primary", "boolean", "The primary phone number")),
			scimAttrOf("photos", "complex", "Profile photo").multi().sub(
				scimAttrOf("value", "reference", "Photo URL"), str("type", "Kind of photo").canonical("photo")),
			scimAttrOf("roles", "complex", "One free-text role").multi().sub(
				str("value", "Role"), scimAttrOf("primary", "boolean", "The primary role")),
			scimAttrOf("groups", "complex", "The user groups the user belongs to").multi().readOnly().sub(
				str("value", "Group ID").readOnly(), str("display", "Group name").readOnly()),
		}},
		{scimCoreGroup, "Group", "Group", []scimAttr{
			str("displayName", "The user group's name").required(),
			scimAttrOf("members", "complex", "The group's members").multi().sub(
				str("value", "User ID").immutable(), str("display", "The member's name").readOnly()),
		}},
		{scimEnterprise, "EnterpriseUser", "Enterprise User", []scimAttr{
			str("employeeNumber", "Employee number"), str("costCenter", "Cost center"), str("organization", "Organization"),
			str("division", "Division"), str("department", "Department"),
			scimAttrOf("manager", "complex", "The user's manager").sub(str("managerId", "The manager's Slack ID, email or userName")),
		}},
		{scimGuest, "SlackGuestUser", "Slack guest account", []scimAttr{
			str("type", "Guest type: multi (multi-channel) or single (single-channel, read only)").required().canonical("multi", "single"),
			scimAttrOf("expiration", "dateTime", "When the guest account is deactivated"),
		}},
		{scimProfile, "SlackProfileUser", "Slack profile fields", []scimAttr{
			scimAttrOf("startDate", "dateTime", "The person's start date"),
		}},
	}
})

// ---- lists ----

type scimList struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	ItemsPerPage int      `json:"itemsPerPage"`
	StartIndex   int      `json:"startIndex"`
	Resources    []any    `json:"Resources"`
}

func scimListOf(items []any) *scimReply {
	return &scimReply{status: http.StatusOK, body: scimList{Schemas: []string{scimListResponse}, TotalResults: len(items),
		ItemsPerPage: len(items), StartIndex: 1, Resources: items}}
}

// paging reads startIndex and count as RFC 7644 says: startIndex below 1 is 1,
// a negative count is 0; count defaults to 10 and Slack caps it at 1000.
// Values that are not integers take the defaults.
func (c *scimCall) paging() (start, count int) {
	q := c.r.URL.Query()
	start, count = 1, scimDefaultCount
	if v, err := strconv.Atoi(strings.TrimSpace(q.Get("startIndex"))); err == nil {
		start = max(v, 1)
	}
	if v, err := strconv.Atoi(strings.TrimSpace(q.Get("count"))); err == nil {
		count = min(max(v, 0), scimMaxCount)
	}
	return start, count
}

// filter parses the filter parameter, or returns nil when there is none.
func (c *scimCall) filter(allowed map[string]bool) (scimFilter, *scimError) {
	q := c.r.URL.Query()
	if !q.Has("filter") {
		return nil, nil
	}
	return parseSCIMFilter(q.Get("filter"), func(a string) bool { return allowed[a] })
}

// page runs the filter over every resource and keeps the requested page.
func scimPage[T any](c *scimCall, all iter.Seq[T], f scimFilter, rec func(T) scimRecord, render func(T) any) *scimReply {
	start, count := c.paging()
	out := scimList{Schemas: []string{scimListResponse}, StartIndex: start, Resources: []any{}}
	for x := range all {
		if f != nil && !f.match(rec(x)) {
			continue
		}
		out.TotalResults++
		if out.TotalResults >= start && len(out.Resources) < count {
			out.Resources = append(out.Resources, render(x))
		}
	}
	out.ItemsPerPage = len(out.Resources)
	return &scimReply{status: http.StatusOK, body: out}
}

// ---- users ----

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

func (c *scimCall) groupsOf(u *user) []*usergroup {
	var out []*usergroup
	for _, g := range c.groups() {
		if slices.Contains(g.users, u) {
			out = append(out, g)
		}
	}
	return out
}

type scimName struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
}

type scimEmailJSON struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
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
		j.Emails = append(j.Emails, scimEmailJSON{Value: u.Email, Type: "work", Primary: true})
	}
	if x.email2 != "" {
		j.Emails = append(j.Emails, scimEmailJSON{Value: x.email2, Type: "home"})
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

func (r scimUserRecord) values(attr string) []any {
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
	for _, e := range r.elems("emails") {
		sub := strings.TrimPrefix(strings.TrimPrefix(attr, "emails"), ".")
		if attr == "email" || sub == "" {
			sub = "value"
		}
		out = append(out, e.values(sub)...)
	}
	return out
}

func (r scimUserRecord) elems(attr string) []scimRecord {
	switch attr {
	case "emails", "email":
		var out []scimRecord
		if r.u.Email != "" {
			out = append(out, scimElem{"value": r.u.Email, "type": "work", "primary": true})
		}
		if e2 := r.c.extra(r.u.ID).email2; e2 != "" {
			out = append(out, scimElem{"value": e2, "type": "home", "primary": false})
		}
		return out
	case "groups":
		var out []scimRecord
		for _, g := range r.idx[r.u] {
			out = append(out, scimElem{"value": g.ID, "display": g.Name})
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
		func(u *user) scimRecord { return scimUserRecord{c: c, u: u, idx: idx} },
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
	rep := &scimReply{status: status, body: c.renderUser(u, c.groupsOf(u))}
	if status == http.StatusCreated {
		rep.location = c.base + "/Users/" + u.ID
	}
	return rep
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

// decodeObject reads a POST or PUT body: a JSON object with schemas.
func (c *scimCall) decodeObject() (map[string]json.RawMessage, *scimError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &obj); err != nil || obj == nil {
		return nil, scimBad("invalid_request_payload", "the body is not a JSON object")
	}
	if raw, ok := scimLookup(obj, "schemas"); !ok || !scimNonEmptyArray(raw) {
		return nil, scimBad("missing_schema_element", "the body has no schemas")
	}
	return obj, nil
}

func scimNonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(raw, &a) == nil && len(a) > 0
}

func scimLookup(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

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
	d.externalID, d.role, d.email2, d.startDate, d.ent = "", "", "", "", scimEnt{}
	if e := c.applyUserObject(d, "replace", obj, scimReplace); e != nil {
		return nil, e
	}
	if _, e := c.commitUser(u, d); e != nil {
		return nil, e
	}
	return c.userReply(http.StatusOK, u), nil
}

// scimPatchOp is one operation of a PatchOp body.
type scimPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// decodePatch reads a PatchOp body; ops are lower-cased and checked.
func (c *scimCall) decodePatch() ([]scimPatchOp, *scimError) {
	var body struct {
		Schemas    json.RawMessage `json:"schemas"`
		Operations []scimPatchOp   `json:"Operations"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || len(c.body) == 0 || strings.TrimSpace(string(c.body)) == "null" {
		return nil, scimBad("invalid_request_payload", "the body is not a PatchOp JSON object")
	}
	if !scimNonEmptyArray(body.Schemas) {
		return nil, scimBad("missing_schema_element", "the body has no schemas")
	}
	if len(body.Operations) == 0 {
		return nil, scimBad("invalid_request_payload", "a PatchOp needs Operations")
	}
	for i := range body.Operations {
		op := &body.Operations[i]
		op.Op = strings.ToLower(strings.TrimSpace(op.Op))
		switch op.Op {
		case "add", "replace", "remove":
		default:
			return nil, scimBad("invalid_request_payload", "unknown PATCH op "+strconv.Quote(op.Op))
		}
		op.Path = strings.TrimSpace(op.Path)
		if op.Path == "" && op.Op == "remove" {
			return nil, scimBad("invalid_request_payload", "remove needs a path")
		}
		if op.Op != "remove" && (len(op.Value) == 0 || (op.Path == "" && string(op.Value) == "null")) {
			return nil, scimBad("invalid_request_payload", op.Op+" needs a value")
		}
	}
	return body.Operations, nil
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

// scimLower lower-cases ASCII letters only, keeping every byte where it was.
func scimLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// scimPath is a PATCH path: attr[filter].sub, or a schema URN and a
// sub-attribute. attr and sub are lower-cased.
type scimPath struct {
	attr   string
	filter scimFilter
	sub    string
}

var scimUserURNs = []string{strings.ToLower(scimCoreUser), strings.ToLower(scimEnterprise), strings.ToLower(scimGuest), strings.ToLower(scimProfile)}

// scimElemAttrs are the sub-attributes a value filter in a path may name.
var scimElemAttrs = map[string]map[string]bool{
	"emails":       {"value": true, "type": true, "primary": true, "display": true},
	"phonenumbers": {"value": true, "type": true, "primary": true, "display": true},
	"roles":        {"value": true, "type": true, "primary": true, "display": true},
	"members":      {"value": true, "display": true, "type": true, "$ref": true},
}

func parseSCIMPath(path string, urns []string) (scimPath, *scimError) {
	low := scimLower(path) // byte for byte, so indexes into low fit path
	for _, urn := range urns {
		if low == urn {
			return scimPath{attr: urn}, nil
		}
		if strings.HasPrefix(low, urn) && (low[len(urn)] == ':' || low[len(urn)] == '.') {
			if urn == strings.ToLower(scimCoreUser) || urn == strings.ToLower(scimCoreGroup) {
				path, low = path[len(urn)+1:], low[len(urn)+1:]
				break
			}
			return scimPath{attr: urn, sub: low[len(urn)+1:]}, nil
		}
	}
	bad := scimBad("invalid_request_payload", "cannot read the path "+strconv.Quote(path))
	i := strings.IndexByte(path, '[')
	if i < 0 {
		attr, sub, _ := strings.Cut(low, ".")
		if attr == "" {
			return scimPath{}, bad
		}
		return scimPath{attr: attr, sub: sub}, nil
	}
	j := strings.LastIndexByte(path, ']')
	if j < i || i == 0 {
		return scimPath{}, bad
	}
	p := scimPath{attr: low[:i]}
	inner := scimElemAttrs[p.attr]
	if inner == nil {
		return scimPath{}, bad
	}
	f, e := parseSCIMFilter(path[i+1:j], func(a string) bool { return inner[a] })
	if e != nil {
		return scimPath{}, e
	}
	p.filter = f
	if rest := low[j+1:]; rest != "" {
		if rest[0] != '.' || len(rest) == 1 {
			return scimPath{}, bad
		}
		p.sub = rest[1:]
	}
	return p, nil
}

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
	case "schemas", "id", "meta", "groups", "photos", "addresses", "usertype", "locale", "preferredlanguage",
		"profileurl", "entitlements", "ims", "x509certificates":
		// Accepted and not modelled (groups and profileUrl are read-only).
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
		rec     scimElem
		primary bool
	}{
		{scimElem{"value": d.email, "type": "work", "primary": true}, true},
		{scimElem{"value": d.email2, "type": "home", "primary": false}, false},
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
		if s.rec["value"] == "" || !p.filter.match(s.rec) {
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
		set(d.email == "" || p.filter.match(scimElem{"value": "", "type": "work", "primary": true}), v)
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

// scimParseTime reads the ISO 8601 forms SCIM clients send.
func scimParseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, scimStartDateForm, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// scimString reads a JSON string; null reads as "".
func scimString(raw json.RawMessage) (string, bool) {
	if strings.TrimSpace(string(raw)) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// scimBool reads true and false as JSON booleans or as strings ("True", as
// Azure AD sends them).
type scimBool bool

func (b *scimBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*b = false
	case bool:
		*b = scimBool(x)
	case string:
		parsed, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return err
		}
		*b = scimBool(parsed)
	default:
		return errors.New("not a boolean")
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
// workspaces already uses the username.
func (c *scimCall) handleTaken(h string, self *user, teams []*team) bool {
	for _, o := range c.w.users {
		if o != self && strings.EqualFold(o.Name, h) {
			return true
		}
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
				return nil, scimBad("username_too_long", "userName is over 21 characters: "+h)
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
	u.Name = handle
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

// ---- groups ----

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

func (r scimGroupRecord) values(attr string) []any {
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
		for _, e := range r.elems("members") {
			out = append(out, e.values(sub)...)
		}
		return out
	}
	return nil
}

func (r scimGroupRecord) elems(attr string) []scimRecord {
	if attr != "members" {
		return nil
	}
	out := make([]scimRecord, len(r.g.users))
	for i, u := range r.g.users {
		out[i] = scimMemberRecord(u)
	}
	return out
}

func scimMemberRecord(u *user) scimElem {
	return scimElem{"value": u.ID, "display": scimMemberDisplay(u), "type": "User"}
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
		func(g *usergroup) scimRecord { return scimGroupRecord{g} },
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
				if p.filter.match(scimMemberRecord(u)) {
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

// ---- filters ----

// scimRecord is what a filter reads: a resource or one value of a
// multi-valued attribute. Attribute names are lower-cased paths.
type scimRecord interface {
	values(attr string) []any
	elems(attr string) []scimRecord
}

// scimElem is one value of a multi-valued attribute, such as an email.
type scimElem map[string]any

func (e scimElem) values(attr string) []any {
	if v, ok := e[attr]; ok {
		return []any{v}
	}
	return nil
}

func (e scimElem) elems(string) []scimRecord { return nil }

type scimFilter interface{ match(scimRecord) bool }

type (
	scimAnd struct{ a, b scimFilter }
	scimOr  struct{ a, b scimFilter }
	scimNot struct{ f scimFilter }
	scimCmp struct {
		attr, op string
		val      any
	}
	scimValuePath struct {
		attr  string
		inner scimFilter
	}
)

func (f scimAnd) match(r scimRecord) bool { return f.a.match(r) && f.b.match(r) }
func (f scimOr) match(r scimRecord) bool  { return f.a.match(r) || f.b.match(r) }
func (f scimNot) match(r scimRecord) bool { return !f.f.match(r) }

func (f scimValuePath) match(r scimRecord) bool {
	return slices.ContainsFunc(r.elems(f.attr), f.inner.match)
}

func (f scimCmp) match(r scimRecord) bool {
	vals := r.values(f.attr)
	switch f.op {
	case "pr":
		return slices.ContainsFunc(vals, func(v any) bool { return v != nil && v != "" })
	case "ne":
		return !slices.ContainsFunc(vals, func(v any) bool { return scimCompare(v, "eq", f.val) })
	}
	if f.val == nil && f.op == "eq" && len(vals) == 0 {
		return true
	}
	return slices.ContainsFunc(vals, func(v any) bool { return scimCompare(v, f.op, f.val) })
}

// scimCompare applies a comparison operator; strings compare without case.
func scimCompare(have any, op string, want any) bool {
	if want == nil {
		return op == "eq" && (have == nil || have == "")
	}
	switch h := have.(type) {
	case bool:
		switch w := want.(type) {
		case bool:
			return op == "eq" && h == w
		case string:
			return op == "eq" && strings.EqualFold(w, strconv.FormatBool(h))
		}
		return false
	case string:
		w, ok := want.(string)
		if !ok {
			if n, isNum := want.(float64); isNum {
				w = strconv.FormatFloat(n, 'f', -1, 64)
			} else {
				return false
			}
		}
		a, b := strings.ToLower(h), strings.ToLower(w)
		switch op {
		case "eq":
			return a == b
		case "co":
			return strings.Contains(a, b)
		case "sw":
			return strings.HasPrefix(a, b)
		case "ew":
			return strings.HasSuffix(a, b)
		case "gt":
			return a > b
		case "ge":
			return a >= b
		case "lt":
			return a < b
		case "le":
			return a <= b
		}
	}
	return false
}

var scimOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true, "pr": true}

type scimToken struct {
	kind byte // 'w' word, 's' string, or one of ( ) [ ]
	text string
}

func scimLex(s string) ([]scimToken, *scimError) {
	var out []scimToken
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case strings.IndexByte("()[]", ch) >= 0:
			out = append(out, scimToken{kind: ch})
			i++
		case ch == '"' || ch == '\'':
			j := i + 1
			for j < len(s) && s[j] != ch {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, scimBad("incomplete_filter", "a string in the filter is not closed")
			}
			lit := s[i : j+1]
			var str string
			if ch == '\'' {
				lit = `"` + strings.ReplaceAll(s[i+1:j], `"`, `\"`) + `"`
			}
			if json.Unmarshal([]byte(lit), &str) != nil {
				return nil, scimBad("invalid_query", "a string in the filter is not a valid JSON string")
			}
			out = append(out, scimToken{kind: 's', text: str})
			i = j + 1
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()[]\"'", s[j]) < 0 {
				j++
			}
			out = append(out, scimToken{kind: 'w', text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type scimParser struct {
	toks    []scimToken
	i       int
	allowed func(string) bool
}

// parseSCIMFilter parses an RFC 7644 filter. allowed says which lower-cased
// attribute paths exist.
func parseSCIMFilter(s string, allowed func(string) bool) (scimFilter, *scimError) {
	if strings.TrimSpace(s) == "" {
		return nil, scimBad("no_filters", "the filter is empty")
	}
	toks, e := scimLex(s)
	if e != nil {
		return nil, e
	}
	p := &scimParser{toks: toks, allowed: allowed}
	f, e := p.expr()
	if e != nil {
		return nil, e
	}
	if p.i < len(p.toks) {
		if k := p.toks[p.i].kind; k == ')' || k == ']' {
			return nil, scimBad("invalid_filter_group", "a closing bracket in the filter has no opening one")
		}
		return nil, scimBad("invalid_query", "the filter goes on after a complete expression: "+p.toks[p.i].text)
	}
	return f, nil
}

func (p *scimParser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == 'w' && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *scimParser) expr() (scimFilter, *scimError) {
	l, e := p.term()
	for e == nil && p.peekWord("or") {
		p.i++
		var r scimFilter
		if r, e = p.term(); e == nil {
			l = scimOr{l, r}
		}
	}
	return l, e
}

func (p *scimParser) term() (scimFilter, *scimError) {
	l, e := p.factor()
	for e == nil && p.peekWord("and") {
		p.i++
		var r scimFilter
		if r, e = p.factor(); e == nil {
			l = scimAnd{l, r}
		}
	}
	return l, e
}

func (p *scimParser) group(close byte) (scimFilter, *scimError) {
	f, e := p.expr()
	if e != nil {
		return nil, e
	}
	if p.i >= len(p.toks) || p.toks[p.i].kind != close {
		return nil, scimBad("invalid_filter_group", "a bracket in the filter is not closed")
	}
	p.i++
	return f, nil
}

func (p *scimParser) factor() (scimFilter, *scimError) {
	if p.i >= len(p.toks) {
		return nil, scimBad("incomplete_filter", "the filter ends where an expression should be")
	}
	t := p.toks[p.i]
	p.i++
	switch {
	case t.kind == '(':
		return p.group(')')
	case t.kind == 'w' && strings.EqualFold(t.text, "not") && p.i < len(p.toks) && p.toks[p.i].kind == '(':
		p.i++
		f, e := p.group(')')
		if e != nil {
			return nil, e
		}
		return scimNot{f}, nil
	case t.kind != 'w':
		if t.kind == ')' || t.kind == ']' {
			return nil, scimBad("invalid_filter_group", "a closing bracket where an expression should be")
		}
		return nil, scimBad("invalid_query", "an expression must start with an attribute")
	}
	attr := strings.ToLower(t.text)
	for _, urn := range []string{strings.ToLower(scimCoreUser) + ":", strings.ToLower(scimCoreGroup) + ":"} {
		attr = strings.TrimPrefix(attr, urn)
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == '[' {
		p.i++
		outer := p.allowed
		if !outer(attr) {
			return nil, scimBad("invalid_query", "the filter names an unknown attribute: "+t.text)
		}
		p.allowed = func(a string) bool { return outer(attr + "." + a) }
		inner, e := p.group(']')
		p.allowed = outer
		if e != nil {
			return nil, e
		}
		return scimValuePath{attr: attr, inner: inner}, nil
	}
	if !p.allowed(attr) {
		return nil, scimBad("invalid_query", "the filter names an unknown attribute: "+t.text)
	}
	if p.i >= len(p.toks) {
		return nil, scimBad("incomplete_filter", "the filter ends after "+t.text)
	}
	o := p.toks[p.i]
	op := strings.ToLower(o.text)
	if o.kind != 'w' || !scimOps[op] {
		return nil, scimBad("invalid_query", "not a filter operator: "+o.text)
	}
	p.i++
	if op == "pr" {
		return scimCmp{attr: attr, op: op}, nil
	}
	if p.i >= len(p.toks) {
		return nil, scimBad("incomplete_filter", "the filter ends after "+o.text)
	}
	v := p.toks[p.i]
	p.i++
	switch v.kind {
	case 's':
		return scimCmp{attr: attr, op: op, val: v.text}, nil
	case 'w':
		switch strings.ToLower(v.text) {
		case "true":
			return scimCmp{attr: attr, op: op, val: true}, nil
		case "false":
			return scimCmp{attr: attr, op: op, val: false}, nil
		case "null":
			return scimCmp{attr: attr, op: op}, nil
		case "and", "or":
			return nil, scimBad("incomplete_filter", "a comparison has no value")
		}
		if n, err := strconv.ParseFloat(v.text, 64); err == nil {
			return scimCmp{attr: attr, op: op, val: n}, nil
		}
		// Slack's own examples leave IDs unquoted: members[value eq U123ABC456].
		return scimCmp{attr: attr, op: op, val: v.text}, nil
	}
	return nil, scimBad("incomplete_filter", "a comparison has no value")
}
