package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// TestSettingsAndAudit: an admin makes a token (shown once), adds a person
// (their first token shown once), and revokes the token; a member sees
// their own tokens only and no audit log; the audit log shows it all and
// its chain holds.
func TestSettingsAndAudit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	csrf := b.signin(e.token)
	wantIn(t, b.get("/settings"), `id="create-token"`, `id="create-user"`, `id="nav-audit"`)

	made := b.post("/settings/tokens", url.Values{"csrf": {csrf}, "name": {"nightly"}, "scopes": {"records:read"}, "expires_in": {"24h"}})
	wantStatus(t, made, http.StatusOK)
	value := regexp.MustCompile(`id="new-secret" value="(chub_[^"]+)"`).FindStringSubmatch(made.body)
	if value == nil {
		t.Fatalf("the new token is not shown: %.800s", made.body)
	}
	if _, err := (&tenant.Authenticator{Store: e.hub.Store}).Authenticate(ctx, "Bearer "+value[1]); err != nil {
		t.Errorf("the token the console showed does not authenticate: %v", err)
	}
	settings := b.get("/settings")
	wantIn(t, settings, "nightly", "records:read")
	wantNotIn(t, settings, value[1]) // shown once
	id := regexp.MustCompile(`id="revoke-token-(key_[^"]+)"`).FindAllStringSubmatch(settings.body, -1)
	var nightly string
	for _, m := range id {
		if c, _ := e.hub.Store.GetAPICredential(ctx, e.hub.Admin.Org.ID, m[1]); c.Name == "nightly" {
			nightly = m[1]
		}
	}
	got := b.post("/settings/tokens/"+nightly+"/revoke", url.Values{"csrf": {csrf}})
	wantStatus(t, got, http.StatusSeeOther)
	wantIn(t, b.get(got.location), "revoked")
	if _, err := (&tenant.Authenticator{Store: e.hub.Store}).Authenticate(ctx, "Bearer "+value[1]); err == nil {
		t.Error("the revoked token still authenticates")
	}

	added := b.post("/settings/users", url.Values{"csrf": {csrf}, "email": {"ada@acme.example"}, "name": {"Ada"}, "role": {"member"}})
	wantStatus(t, added, http.StatusOK)
	first := regexp.MustCompile(`id="new-secret" value="(chub_[^"]+)"`).FindStringSubmatch(added.body)
	if first == nil {
		t.Fatalf("the new person's token is not shown: %.800s", added.body)
	}
	wantIn(t, added, "ada@acme.example", `id="new-user-secret"`)

	// The member: their own tokens, no people, no audit log.
	mb := e.browser(t)
	mb.signin(first[1])
	mine := mb.get("/settings")
	wantNotIn(t, mine, `id="create-user"`, "nightly</th>", `id="nav-audit"`)
	wantStatus(t, mb.get("/audit"), http.StatusForbidden)

	log := b.get("/audit?action=token.")
	wantIn(t, log, "token.create", "token.revoke")
	verified := b.post("/audit/verify", url.Values{"csrf": {csrf}})
	wantStatus(t, verified, http.StatusOK)
	wantIn(t, verified, `id="audit-verified"`, "The log holds")
	events, _, _ := e.hub.Store.ListAudit(ctx, e.hub.Admin.Org.ID, store.AuditFilter{Action: "session.signin"}, store.Page{})
	if len(events) != 2 || !strings.HasPrefix(events[0].SourceIP, "127.") {
		t.Errorf("sign-in events: %+v; want two, from loopback", events)
	}
}

// TestDeleteConfirmationNamesSharers: the confirmation lists the instances
// that hold the same Slack tokens, and deleting leaves those tokens valid.
func TestDeleteConfirmationNamesSharers(t *testing.T) {
	t.Parallel()
	e := setupWith(t, hubtest.Options{}, false)
	other := e.hub.Install(t, instance.CreateInput{Name: "Second"})
	b := e.browser(t)
	csrf := b.signin(e.token)
	confirm := b.get("/instances/" + other.ID + "/delete")
	wantIn(t, confirm, `id="delete-shared"`, e.hub.Instance.ID, `id="delete-revoke-shared"`)
	got := b.post("/instances/"+other.ID+"/delete", url.Values{"csrf": {csrf}})
	wantStatus(t, got, http.StatusSeeOther)
	wantIn(t, b.get(got.location), "stays valid at Slack", e.hub.Instance.ID)
	if _, err := e.svc.Ping(ctx, e.hub.Admin, e.hub.Instance.ID); err != nil {
		t.Errorf("the instance that shared the tokens: %v; want it working", err)
	}
}
