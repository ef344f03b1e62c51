package authz

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Kind is what sort of principal is asking.
type Kind string

const (
	// Admin is a person with the admin role in the organization.
	Admin Kind = "admin"
	// Member is a person with the member role.
	Member Kind = "member"
	// Instance acts for one instance only: an instance token, the Open
	// Connectors header with an Element, or a named credential's service
	// identity.
	Instance Kind = "instance"
	// System is connhub acting by itself (a schedule starting a sync),
	// never a caller: no credential authenticates as it.
	System Kind = "system"
)

// Action is something a principal may ask to do.
type Action string

// The actions. Their names are stable: the audit log, docs/SECURITY.md and
// the authorization matrix test name them.
const (
	ReadAccount Action = "account.read" // who am I, the connector catalog, the streams

	ListInstances        Action = "instances.list"
	ReadInstance         Action = "instances.read"
	CreateInstance       Action = "instances.create"
	UpdateInstance       Action = "instances.update"
	ReauthInstance       Action = "instances.reauthenticate"
	DeleteInstance       Action = "instances.delete"
	PingInstance         Action = "instances.ping"
	RevealInstanceToken  Action = "instances.token.reveal"
	RotateInstanceToken  Action = "instances.token.rotate"
	RevealIntegrationKey Action = "instances.credentials.reveal" // the ready Bearer header of an instance

	Proxy          Action = "proxy"            // call Slack through connhub with the instance's bot token
	ProxyUserToken Action = "proxy.user_token" // …with the installing user's token, where the instance allows it

	// SCIM through connhub, with the instance's admin user token: an
	// identity provider's instance token, or an organization admin.
	ReadSCIM  Action = "scim.read"  // list and get users and groups, and SCIM's schemas
	WriteSCIM Action = "scim.write" // create, replace, patch, deactivate

	// Provisioning from a directory file: plans read Slack's people with the
	// admin token; applying one changes them.
	ReadProvisioning  Action = "provisioning.read"  // plans, runs and their outcomes
	PlanProvisioning  Action = "provisioning.plan"  // plan a file against Slack's people
	ApplyProvisioning Action = "provisioning.apply" // apply a plan, start a stopped run again

	ReadApps  Action = "apps.read"
	WriteApps Action = "apps.write" // register, change, rotate secrets, delete

	ReadCredentials   Action = "credentials.read" // names and hints
	RevealCredential  Action = "credentials.reveal"
	WriteCredentials  Action = "credentials.write" // create, rotate, delete
	ReadSyncs         Action = "syncs.read"
	RunSyncs          Action = "syncs.run" // start, cancel, resume
	ScheduleSyncs     Action = "syncs.schedule"
	ReadRecords       Action = "records.read"
	ExportRecords     Action = "records.export"
	ReadAudit         Action = "audit.read"
	ReadWebhooks      Action = "webhooks.read"  // subscriptions and their deliveries
	WriteWebhooks     Action = "webhooks.write" // subscribe, change, pause, delete, retry, replay
	ReadUsers         Action = "users.read"
	WriteUsers        Action = "users.write"
	ManageOwnTokens   Action = "tokens.own"  // make, list and revoke one's own API tokens
	ManageOrgTokens   Action = "tokens.org"  // list and revoke anyone's in the organization
	ManageOrgs        Action = "orgs.manage" // hub operators only
	ReadOrganizations Action = "orgs.read"

	// ReadUnroutedEvents: the Slack events routed to no instance (unrouted,
	// or failed before they were routed). An event routed to instances is
	// seen by who may read their records (ReadRecords).
	ReadUnroutedEvents Action = "events.unrouted"
)

// Scopes a scoped API token can be given. A token with scopes may do an
// action only if one of them covers it, and its user's role allows it.
const (
	ScopeInstancesRead  = "instances:read"
	ScopeInstancesWrite = "instances:write"
	ScopeProxy          = "proxy"
	ScopeRecordsRead    = "records:read"
	ScopeSyncsWrite     = "syncs:write"
	ScopeSecretsReveal  = "secrets:reveal"
	ScopeAppsWrite      = "apps:write"
	ScopeUsersWrite     = "users:write"
	ScopeAuditRead      = "audit:read"
	ScopeWebhooksWrite  = "webhooks:write"
	ScopeSCIM           = "scim"
)

// Scopes lists every scope, for validation and docs.
var Scopes = []string{ScopeInstancesRead, ScopeInstancesWrite, ScopeProxy, ScopeRecordsRead, ScopeSyncsWrite, ScopeSecretsReveal,
	ScopeAppsWrite, ScopeUsersWrite, ScopeAuditRead, ScopeWebhooksWrite, ScopeSCIM}

// Rule is who may do an action.
type Rule struct {
	Admin, Member bool
	// Instance: an instance principal may, on its own instance only.
	Instance bool
	// Operator: only a hub operator may (Admin and Member are then moot).
	Operator bool
	// Scope covers the action for a scoped token; "" means every token
	// (the action needs no more than being signed in).
	Scope string
}

// Policy is the one table of who may do what. docs/SECURITY.md shows it;
// a test holds the two together.
var Policy = map[Action]Rule{
	ReadAccount: {Admin: true, Member: true, Instance: true},

	ListInstances:        {Admin: true, Member: true, Scope: ScopeInstancesRead},
	ReadInstance:         {Admin: true, Member: true, Instance: true, Scope: ScopeInstancesRead},
	CreateInstance:       {Admin: true, Scope: ScopeInstancesWrite},
	UpdateInstance:       {Admin: true, Scope: ScopeInstancesWrite},
	ReauthInstance:       {Admin: true, Scope: ScopeInstancesWrite},
	DeleteInstance:       {Admin: true, Scope: ScopeInstancesWrite},
	PingInstance:         {Admin: true, Member: true, Instance: true, Scope: ScopeInstancesRead},
	RevealInstanceToken:  {Admin: true, Scope: ScopeSecretsReveal},
	RotateInstanceToken:  {Admin: true, Scope: ScopeInstancesWrite},
	RevealIntegrationKey: {Admin: true, Scope: ScopeSecretsReveal},

	Proxy:          {Admin: true, Member: true, Instance: true, Scope: ScopeProxy},
	ProxyUserToken: {Admin: true, Member: true, Instance: true, Scope: ScopeProxy},

	// SCIM reads and changes the workspace's people with an admin's token:
	// not for members, whatever they may read of synced records.
	ReadSCIM:  {Admin: true, Instance: true, Scope: ScopeSCIM},
	WriteSCIM: {Admin: true, Instance: true, Scope: ScopeSCIM},

	ReadProvisioning:  {Admin: true, Instance: true, Scope: ScopeSCIM},
	PlanProvisioning:  {Admin: true, Instance: true, Scope: ScopeSCIM},
	ApplyProvisioning: {Admin: true, Instance: true, Scope: ScopeSCIM},

	ReadApps:  {Admin: true, Member: true, Scope: ScopeInstancesRead},
	WriteApps: {Admin: true, Scope: ScopeAppsWrite},

	ReadCredentials:  {Admin: true, Member: true, Scope: ScopeInstancesRead},
	RevealCredential: {Admin: true, Scope: ScopeSecretsReveal},
	WriteCredentials: {Admin: true, Scope: ScopeInstancesWrite},

	ReadSyncs:     {Admin: true, Member: true, Instance: true, Scope: ScopeRecordsRead},
	RunSyncs:      {Admin: true, Member: true, Instance: true, Scope: ScopeSyncsWrite},
	ScheduleSyncs: {Admin: true, Member: true, Scope: ScopeSyncsWrite},
	ReadRecords:   {Admin: true, Member: true, Instance: true, Scope: ScopeRecordsRead},
	ExportRecords: {Admin: true, Member: true, Instance: true, Scope: ScopeRecordsRead},

	ReadAudit: {Admin: true, Scope: ScopeAuditRead},

	// Webhooks carry every event of an instance (messages, people): an
	// admin's, or an instance's own.
	ReadWebhooks:    {Admin: true, Instance: true, Scope: ScopeInstancesRead},
	WriteWebhooks:   {Admin: true, Instance: true, Scope: ScopeWebhooksWrite},
	ReadUsers:       {Admin: true, Member: true},
	WriteUsers:      {Admin: true, Scope: ScopeUsersWrite},
	ManageOwnTokens: {Admin: true, Member: true},
	ManageOrgTokens: {Admin: true, Scope: ScopeUsersWrite},

	ManageOrgs:        {Operator: true, Scope: ScopeUsersWrite},
	ReadOrganizations: {Operator: true, Scope: ScopeUsersWrite},

	// An event that reached no instance is the organization's at large:
	// no instance's readers are its readers, so its admins are.
	ReadUnroutedEvents: {Admin: true, Scope: ScopeRecordsRead},
}

// KindOf is what sort of principal p is. A person who names an instance
// (the Open Connectors Element) acts as that instance: for that request
// they can do what its token can, no more.
func KindOf(p tenant.Principal) Kind {
	switch {
	case p.Via == SystemVia && p.Credential == nil && p.Instance == nil:
		return System
	case p.User.ID == "" || p.User.Role == store.RoleService || p.Instance != nil:
		return Instance
	case p.User.Role == store.RoleAdmin:
		return Admin
	}
	return Member
}

// SystemVia marks the principal of what connhub does by itself
// (audit.System makes it); tenant's authentication never sets it.
const SystemVia = "system"

// BoundInstance is the instance an Instance principal acts for: "" for the
// other kinds.
func BoundInstance(p tenant.Principal) string {
	switch {
	case p.Instance != nil:
		return p.Instance.ID
	case p.User.Role == store.RoleService:
		return p.User.InstanceID
	}
	return ""
}

// Problems the policy answers with. A principal bound to an instance is
// told another instance does not exist, as another organization's would be.
var (
	errNotFound = apierror.New(http.StatusNotFound, "not_found", "no such instance in your organization")
)

func forbidden(msg string) error { return apierror.New(http.StatusForbidden, "forbidden", msg) }

// Allow decides whether p may do a to the instance named instanceID ("" for
// an action on no instance, or on every instance: a list). It returns nil,
// or a Problem to answer with: 403 forbidden saying what is missing, or for
// an instance principal and another instance, 404 as if it did not exist.
func Allow(p tenant.Principal, a Action, instanceID string) error {
	rule, ok := Policy[a]
	if !ok {
		// Fail closed: an action nobody wrote a rule for is nobody's.
		return forbidden(fmt.Sprintf("the action %s has no policy", a))
	}
	if p.Org.ID == "" {
		return apierror.New(http.StatusUnauthorized, "missing_credentials", "sign in first")
	}
	kind := KindOf(p)
	switch {
	case kind == System:
		return nil
	case rule.Operator:
		if !p.User.Operator || kind == Instance {
			return forbidden("only the hub's operators may do this")
		}
	case kind == Instance:
		if !rule.Instance {
			return forbidden("an instance's credentials act on their own instance only: they cannot do " + string(a))
		}
		if instanceID != "" && instanceID != BoundInstance(p) {
			return errNotFound
		}
	case kind == Admin && !rule.Admin, kind == Member && !rule.Member:
		if rule.Admin {
			return forbidden("only organization admins may do this")
		}
		return forbidden("you may not do " + string(a))
	}
	if p.Credential != nil && len(p.Credential.Scopes) > 0 && rule.Scope != "" && !slices.Contains(p.Credential.Scopes, rule.Scope) {
		return forbidden(fmt.Sprintf("the API token's scopes (%s) do not include %s", strings.Join(p.Credential.Scopes, ", "), rule.Scope))
	}
	return nil
}

// AllowUserToken decides whether p may call Slack with in's user token:
// the proxy action, and the instance's own consent to it.
func AllowUserToken(p tenant.Principal, in store.Instance) error {
	if err := Allow(p, ProxyUserToken, in.ID); err != nil {
		return err
	}
	if !in.AllowUserToken {
		return apierror.New(http.StatusForbidden, "user_token_not_allowed",
			"the instance does not let proxied calls use the installing user's token; an admin can allow it (PATCH /v1/instances/{id} with allow_user_token true)")
	}
	return nil
}

// ValidScopes checks a list of scopes, for a token being made.
func ValidScopes(scopes []string) error {
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return apierror.New(http.StatusBadRequest, "invalid_scope", fmt.Sprintf("%q is not a scope; the scopes are %s", s, strings.Join(Scopes, ", ")))
		}
	}
	return nil
}

// Table renders Policy as the Markdown table docs/SECURITY.md shows (a test
// holds the two together): an action a row, in name order.
func Table() string {
	actions := make([]string, 0, len(Policy))
	for a := range Policy {
		actions = append(actions, string(a))
	}
	slices.Sort(actions)
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	b.WriteString("| action | admin | member | instance (its own only) | scope of a scoped token |\n|---|---|---|---|---|\n")
	for _, name := range actions {
		r := Policy[Action(name)]
		admin, member := yes(r.Admin), yes(r.Member)
		if r.Operator {
			admin, member = "hub operators only", "no"
		}
		scope := r.Scope
		if scope == "" {
			scope = "any"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", name, admin, member, yes(r.Instance), scope)
	}
	return b.String()
}
