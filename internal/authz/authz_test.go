package authz_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

var (
	org      = store.Organization{ID: "org_a"}
	admin    = tenant.Principal{Org: org, User: store.User{ID: "usr_admin", Role: store.RoleAdmin}}
	member   = tenant.Principal{Org: org, User: store.User{ID: "usr_member", Role: store.RoleMember}}
	instance = tenant.Principal{Org: org, Instance: &store.Instance{ID: "ins_1"}, Via: "instance_token"}
	service  = tenant.Principal{Org: org, User: store.User{ID: "usr_svc", Role: store.RoleService, InstanceID: "ins_1"}, Instance: &store.Instance{ID: "ins_1"}}
	// A person who names an instance (the Open Connectors Element) acts as it.
	element = tenant.Principal{Org: org, User: store.User{ID: "usr_admin", Role: store.RoleAdmin}, Instance: &store.Instance{ID: "ins_1"}}
)

func status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if p, ok := err.(*apierror.Problem); ok {
		return p.Status
	}
	return -1
}

// An instance's credentials act on their own instance, never on the rest:
// these hold whatever the table says (the review's findings).
func TestInstancePrincipalsReachNothingElse(t *testing.T) {
	never := []authz.Action{authz.ListInstances, authz.CreateInstance, authz.UpdateInstance, authz.ReauthInstance, authz.DeleteInstance,
		authz.RevealInstanceToken, authz.RotateInstanceToken, authz.RevealIntegrationKey, authz.ReadApps, authz.WriteApps,
		authz.ReadCredentials, authz.RevealCredential, authz.WriteCredentials, authz.ReadUsers, authz.WriteUsers, authz.ManageOwnTokens,
		authz.ManageOrgTokens, authz.ManageOrgs, authz.ReadOrganizations, authz.ReadAudit, authz.ScheduleSyncs, authz.ReadUnroutedEvents}
	for _, p := range []tenant.Principal{instance, service, element} {
		for _, a := range never {
			if got := status(authz.Allow(p, a, "ins_1")); got != http.StatusForbidden {
				t.Errorf("%s as an instance principal (%s): %d; want 403", a, p.Via+p.User.Role, got)
			}
		}
		for _, a := range []authz.Action{authz.ReadInstance, authz.PingInstance, authz.Proxy, authz.ReadSyncs, authz.RunSyncs, authz.ReadRecords, authz.ExportRecords} {
			if got := status(authz.Allow(p, a, "ins_1")); got != http.StatusOK {
				t.Errorf("%s on its own instance: %d; want allowed", a, got)
			}
			if got := status(authz.Allow(p, a, "ins_2")); got != http.StatusNotFound {
				t.Errorf("%s on another instance: %d; want 404, as if it did not exist", a, got)
			}
		}
	}
}

// Members use instances but never reveal secrets nor change apps, credentials or people.
func TestMembersRevealNothing(t *testing.T) {
	for _, a := range []authz.Action{authz.RevealInstanceToken, authz.RevealIntegrationKey, authz.RevealCredential, authz.WriteApps,
		authz.WriteCredentials, authz.WriteUsers, authz.ReadAudit, authz.CreateInstance, authz.DeleteInstance, authz.ManageOrgs, authz.ReadUnroutedEvents} {
		if got := status(authz.Allow(member, a, "ins_1")); got != http.StatusForbidden {
			t.Errorf("%s as a member: %d; want 403", a, got)
		}
	}
	for _, a := range []authz.Action{authz.ListInstances, authz.PingInstance, authz.Proxy, authz.RunSyncs, authz.ReadRecords, authz.ExportRecords} {
		if err := authz.Allow(member, a, "ins_1"); err != nil {
			t.Errorf("%s as a member: %v; want allowed", a, err)
		}
	}
}

func TestScopedTokens(t *testing.T) {
	scoped := admin
	scoped.Credential = &store.APICredential{ID: "key_1", Scopes: []string{authz.ScopeProxy}}
	if err := authz.Allow(scoped, authz.Proxy, "ins_1"); err != nil {
		t.Errorf("proxy with the proxy scope: %v", err)
	}
	if got := status(authz.Allow(scoped, authz.RevealInstanceToken, "ins_1")); got != http.StatusForbidden {
		t.Errorf("a token scoped to proxy reveals instance tokens: %d", got)
	}
	// A scope never lifts a role's limit.
	m := member
	m.Credential = &store.APICredential{ID: "key_2", Scopes: []string{authz.ScopeSecretsReveal}}
	if got := status(authz.Allow(m, authz.RevealInstanceToken, "ins_1")); got != http.StatusForbidden {
		t.Errorf("a member's token with secrets:reveal reveals instance tokens: %d", got)
	}
}

func TestOperatorsOnly(t *testing.T) {
	if got := status(authz.Allow(admin, authz.ManageOrgs, "")); got != http.StatusForbidden {
		t.Errorf("an admin who is no operator makes organizations: %d", got)
	}
	op := admin
	op.User.Operator = true
	if err := authz.Allow(op, authz.ManageOrgs, ""); err != nil {
		t.Errorf("an operator: %v", err)
	}
	op.Instance = &store.Instance{ID: "ins_1"} // acting as an instance: no
	if got := status(authz.Allow(op, authz.ManageOrgs, "")); got != http.StatusForbidden {
		t.Errorf("an operator acting as an instance makes organizations: %d", got)
	}
}

func TestAnActionWithoutARuleIsNobodys(t *testing.T) {
	if got := status(authz.Allow(admin, authz.Action("instances.frobnicate"), "")); got != http.StatusForbidden {
		t.Errorf("an action without a rule: %d; want 403", got)
	}
	if got := status(authz.Allow(tenant.Principal{}, authz.ReadAccount, "")); got != http.StatusUnauthorized {
		t.Errorf("no principal: %d; want 401", got)
	}
}

// docs/SECURITY.md shows the table the code decides by.
func TestTheDocsShowThePolicy(t *testing.T) {
	doc, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), authz.Table()) {
		t.Errorf("docs/SECURITY.md does not hold the policy table as the code has it; put this there:\n%s", authz.Table())
	}
}
