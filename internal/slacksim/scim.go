package slacksim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// SCIM v2 is Slack's provisioning API for Business+ and Enterprise Grid (FACTS
// 5). It changes the same world as the Web API: a user created or deactivated
// here shows in users.list, a group changed here in usergroups.users.list.
//
//	GET    /scim/v2/ServiceProviderConfig  (also ServiceProviderConfigs, v1's name, which Slack's Java SDK asks v2 for)
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
// "<code>","code":<status>}} (the SDKs' models) together with the RFC 7644
// fields of Slack's v2 example error ({"schemas":[…Error],"detail":
// "missing_schema_element","status":400}: detail is the code, status a
// number, where RFC 7644 has a string); the code is one of Slack's SCIM error
// table, never free text, so clients can match on it.
//
// What Slack's SCIM reference (docs.slack.dev/reference/scim-api) says is
// followed; where it is silent, the choice is listed under Decisions below.
//
// The files: scim.go routes, authenticates and writes answers and errors;
// scim_limits.go spends the rate limits; scim_schema.go answers discovery
// (ServiceProviderConfig, ResourceTypes, Schemas); scim_list.go pages and
// filters lists; scim_body.go reads bodies, PatchOps and PATCH paths;
// scim_users.go and scim_groups.go are the two resources. The filter language
// is its own package, scimfilter.
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
// Slack's SCIM limits come from slackspec (SCIMLimits), as Slack's "SCIM API
// rate limits" page lists them: org-wide, shared by every app and token of the
// org (the enterprise on Grid, else the workspace). A call spends its
// endpoint's limit, if it has one, and its set's:
//
//	                       per minute  burst
//	scim.read                    1000   1000  every GET
//	scim.write                    600    180  every POST, PUT, PATCH, DELETE
//	scim.users.get                300    300  GET /Users/{id}
//	scim.users.create             180     20  POST /Users
//	scim.users.update             180     20  PUT|PATCH /Users/{id}
//	scim.users.delete             180     20  DELETE /Users/{id}
//	scim.groups.get               300    300  GET /Groups/{id}
//	scim.groups.create            180     20  POST /Groups
//	scim.groups.update            180     80  PUT|PATCH /Groups/{id}
//	scim.groups.delete            180     20  DELETE /Groups/{id}
//
// Each limit is a token bucket (ratelimit.go): it holds burst calls and gains
// one every RateWindow/perMinute, so a minute is the sandbox's --rate-window
// as for the Web API's tiers. A call passes when every one of its buckets
// holds a call, and then takes one from each; a call one bucket refuses takes
// from none (Slack's page does not say; refusing without charging is what a
// client pacing by both limits expects, and it matches the Web API's "refused
// calls do not count"). A refused call is 429 too_many_requests with
// Retry-After: the whole seconds (rounded up, at least 1) until every bucket
// of the call holds one call again. Calls that do not reach an endpoint (404
// bad_endpoint, 405) and calls that fail authentication spend nothing; every
// other call spends, whatever it answers. Stats.SCIM counts refused calls
// under "ratelimited".
//
// # Following Slack's reference
//
//   - DELETE /Users/{id} deactivates (204; the account stays, active:false,
//     out of its channels and user groups); again is 204. DELETE of a bot or
//     Slackbot is 403 cannot_disable_bot_user_with_scim (the status is the
//     sandbox's choice); any other call on one is 404 no_such_user (below).
//   - Multi-channel guests are the slack:guest extension {type, expiration}:
//     type "multi" is the only one that can be set, expiration is ISO 8601
//     and answered as RFC 3339 in UTC ("2020-11-30T23:59:59Z"). Converting a
//     deactivated account reactivates it; admins and owners cannot become
//     guests (400 cannot_make_user_guest); only Enterprise Grid provisions
//     guests (elsewhere 403 permission_denied). Single-channel guests are
//     shown as type "single". FACTS 5 lists a v1 channels[] too; neither
//     Slack's v2 reference nor the SDKs' models (Java's SlackGuest, the
//     types generated from Slack's answers) have it, so it is neither
//     answered nor read.
//   - Emails are answered as Slack's v2 examples draw them: value and primary,
//     no type. Slack keeps two, the primary and a secondary; a path or filter
//     may still name a type: the primary's is work, the secondary's home.
//   - Updates to externalId are not supported (Slack's reference, for PATCH
//     and PUT): it is kept from the create, and a PATCH or PUT of it is
//     ignored, not refused (the reference names no error). password is 400
//     password_change_not_allowed after the create.
//   - userName and nickName are one field; longer than 21 characters is 400
//     username_too_long, or long_nickname when it came as nickName.
//   - Filters take the operators Slack lists as valid: eq, co, sw, pr, gt,
//     ge, lt, le, with and, or and parentheses, attribute names and
//     operators in any case, strings in double or single quotes (Slack's own
//     examples use both, and bare IDs in members[value eq U123ABC456]). ne,
//     ew and not are RFC 7644's but not Slack's: 400 invalid_query, so a
//     filter that works here works at Slack. An empty filter is 400
//     no_filters, an unknown attribute or operator 400 invalid_query, a bad
//     grouping 400 invalid_filter_group, a truncated one 400
//     incomplete_filter. The language is package scimfilter.
//   - Lists: startIndex is 1-based (below 1 reads as 1), count defaults to 10
//     and is capped at 1000 (larger reads as 1000, as Slack has done since
//     2019), a negative count reads as 0; values that are not integers take
//     the defaults. The body is {schemas, totalResults, itemsPerPage,
//     startIndex, Resources}.
//   - An admin's token acts on admins, members and guests, never on owners
//     (403 cannot_modify_owner); reading them is allowed. Nobody deactivates
//     the primary owner (403 cannot_disable_primary_owner).
//   - PATCH paths Slack's examples use are accepted, "address" (remove)
//     among them, though the sandbox keeps no address.
//
// # Decisions where Slack's documentation is silent
//
//   - Bots and Slackbot are not SCIM users: they are not listed and their IDs
//     answer 404 no_such_user (DELETE aside, above). Deactivated people are
//     listed, active:false.
//   - POST, PUT and PATCH bodies must carry "schemas" (400
//     missing_schema_element, as Slack answers). Unknown attributes in a body
//     are ignored; an unknown PATCH path is 400 invalid_request_payload.
//   - userName is made Slack-like: the local part of an email, lower-cased,
//     characters other than letters, digits, '.', '_' and '-' turned into '_'.
//     It must not be taken by another account or a channel of the workspace
//     (409 username_taken). A primary email is required (400 email_empty) and
//     unique (409 email_taken); a second email, externalId, one role and the
//     enterprise extension are kept beside the model. Both uniqueness checks
//     are map lookups (world.handles, world.emailIndex), not scans of the
//     people; the workspace's channels, far fewer, are scanned.
//   - PUT replaces everything the body can carry, but keeps the primary email,
//     active, the time zone and the guest type when the body omits them:
//     omitting is not how Slack removes a primary email or converts a guest.
//     (Slack's PUT example answers active:false for a body without active,
//     but also keeps the name the body omits; the example is not taken as a
//     rule.)
//   - New users join the first workspace (the org's first on Grid) and, unless
//     they are guests, its #general, as a newly joined person does; they have
//     never signed in. Reactivation rejoins #general (world.setDeleted).
//   - New groups belong to the first workspace. On Grid any person of the org
//     may be a member; elsewhere members come from the workspace. Deactivated
//     people and single-channel guests cannot be added (400
//     unable_to_add_deleted_or_guest_to_group); an unknown ID is 400
//     no_such_group_members. Group names are unique per workspace, case
//     ignored (409 name_already_exists, the Web API's code). Disabled user
//     groups are not SCIM groups (404 no_such_group).
//   - Sorting, attributes/excludedAttributes, ETags, bulk and /Me are not
//     emulated, nor Slack's 429 for a write to a user or group another write
//     is still changing (the sandbox's writes take the world lock in turn);
//     /scim/v1/ answers 404 unsupported_version, an unknown endpoint 404
//     bad_endpoint and a wrong verb 405 method_not_allowed.
//
// # Scale
//
// BenchmarkSCIMListPages and BenchmarkSCIMCreate (bench_test.go) measure a
// 10,000-person sandbox over HTTP, on a shared two-core machine: pages of
// GET /Users?count=1000 at about 90 a second (11 ms for 1.1 MiB of JSON, most
// of it encoding; the whole list in ten pages in about 0.1 s), a fifth of the
// rate of serving the same bytes from memory; POST /Users at 4,000 to 7,000 a
// second (2,000 creates in under half a second), 0.9 of the rate into a
// 1,000-person sandbox. Before the username check became a lookup a create
// scanned every account: 950 a second, 0.35 of the small sandbox's rate.
//
// # Faults
//
// POST /_sandbox/faults with "scim" (a limit's name such as
// "scim.users.create", or "*") makes SCIM calls fail before they are
// authenticated or limited: a status with a SCIM error body (429 with
// Retry-After), a delay, a truncated body; see Fault.
//
// Stats.SCIM counts every call by route ("GET /Users/{id}", "(unknown)"),
// plus the totals "errors", "ratelimited" and "faults" (calls a fault
// answered, counted in neither of the others).

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
	key    string // the Stats.SCIM key, such as "GET /Users/{id}"
	write  bool
	body   bool
	limits []slackspec.SCIMLimit // its endpoint's, then its set's
	id     string
	fn     func(*scimCall) (*scimReply, *scimError)
}

// limitNames names the limits the route spends, for faults.
func (rt scimRoute) limitNames() []string {
	names := make([]string, len(rt.limits))
	for i, l := range rt.limits {
		names[i] = l.Name
	}
	return names
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
	w.Header().Set("X-Slack-Req-Id", strconv.FormatUint(s.reqSeq.Add(1), 36)+randHex(8))
	if f, ok := s.faults.pickSCIM(rt.limitNames()); ok && f.applySCIM(w, r) {
		s.stats.add(func(st *Stats) { st.SCIM["faults"]++ })
		return
	}
	var rep *scimReply
	if e == nil {
		rep, e = s.runSCIM(rt, r)
		if e == nil && rt.write {
			s.changed()
		}
	}
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
	if e := c.spend(rt.limits); e != nil {
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
	noEndpoint := scimErr(http.StatusNotFound, "bad_endpoint", "no SCIM endpoint at "+r.URL.Path)
	rest, ok := strings.CutPrefix(r.URL.Path, "/scim/v2/")
	if !ok && r.URL.Path != "/scim/v2" {
		if strings.HasPrefix(r.URL.Path, "/scim/v1") {
			return unknown, scimErr(http.StatusNotFound, "unsupported_version", "the sandbox emulates SCIM v2 only; use /scim/v2/")
		}
		return unknown, noEndpoint
	}
	resource, id, _ := strings.Cut(strings.Trim(rest, "/"), "/")
	if strings.Contains(id, "/") {
		return unknown, noEndpoint
	}
	type handler = func(*scimCall) (*scimReply, *scimError)
	var name string
	var routes map[string]handler
	switch strings.ToLower(resource) {
	case "serviceproviderconfig", "serviceproviderconfigs":
		// v2's name has no s; Slack's Java SDK asks v2 for v1's, so both answer.
		if id != "" {
			return unknown, noEndpoint
		}
		name = "ServiceProviderConfig"
		if strings.HasSuffix(strings.ToLower(resource), "s") {
			name += "s"
		}
		routes = map[string]handler{http.MethodGet: (*scimCall).serviceProviderConfig}
	case "resourcetypes":
		name, routes = "ResourceTypes", map[string]handler{http.MethodGet: (*scimCall).resourceTypes}
	case "schemas":
		name, routes = "Schemas", map[string]handler{http.MethodGet: (*scimCall).schemas}
	case "users":
		name = "Users"
		if id == "" {
			routes = map[string]handler{http.MethodGet: (*scimCall).listUsers, http.MethodPost: (*scimCall).createUser}
		} else {
			routes = map[string]handler{http.MethodGet: (*scimCall).getUser, http.MethodPut: (*scimCall).putUser,
				http.MethodPatch: (*scimCall).patchUser, http.MethodDelete: (*scimCall).deleteUser}
		}
	case "groups":
		name = "Groups"
		if id == "" {
			routes = map[string]handler{http.MethodGet: (*scimCall).listGroups, http.MethodPost: (*scimCall).createGroup}
		} else {
			routes = map[string]handler{http.MethodGet: (*scimCall).getGroup, http.MethodPut: (*scimCall).putGroup,
				http.MethodPatch: (*scimCall).patchGroup, http.MethodDelete: (*scimCall).deleteGroup}
		}
	default:
		return unknown, noEndpoint
	}
	path := "/" + name
	if id != "" && (name == "Users" || name == "Groups") {
		path += "/{id}"
	}
	fn, ok := routes[r.Method]
	if !ok {
		e := scimErr(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+path)
		e.header = http.Header{"Allow": {strings.Join(slices.Sorted(maps.Keys(routes)), ", ")}}
		return scimRoute{key: r.Method + " " + path}, e
	}
	write := r.Method != http.MethodGet
	return scimRoute{key: r.Method + " " + path, write: write, body: write && r.Method != http.MethodDelete,
		limits: slackspec.SCIMLimits(r.Method, name, id != ""), id: id, fn: fn}, nil
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
