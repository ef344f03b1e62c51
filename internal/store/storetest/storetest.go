package storetest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// Backend makes databases for the suite.
type Backend struct {
	// New returns a store on a fresh, migrated database sealed with keys, and
	// a function that opens the same database again with other keys (also
	// migrated). Both stores are closed by the test's cleanup.
	New func(t *testing.T, keys *secrets.Keyring) (s store.Store, reopen func(keys *secrets.Keyring) store.Store)
}

// rawDB is implemented by stores that can show their rows as stored.
type rawDB interface{ DB() *sql.DB }

// Keys makes a key ring of n fresh keys, oldest first.
func Keys(t testing.TB, n int) *secrets.Keyring { return ring(t, newKeys(t, n)...) }

func newKeys(t testing.TB, n int) []secrets.Key {
	t.Helper()
	var keys []secrets.Key
	for i := range n {
		k, err := secrets.GenerateKey(time.Now().Add(time.Duration(i) * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func ring(t testing.TB, keys ...secrets.Key) *secrets.Keyring {
	t.Helper()
	r, err := secrets.NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Run runs the whole suite against b.
func Run(t *testing.T, b Backend) {
	keys := Keys(t, 1)
	s, _ := b.New(t, keys)
	e := &env{s: s}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Organizations", testOrganizations},
		{"Users", testUsers},
		{"APICredentials", testAPICredentials},
		{"Apps", testApps},
		{"Instances", testInstances},
		{"InstanceList", testInstanceList},
		{"OAuthStates", testOAuthStates},
		{"Credentials", testCredentials},
		{"ServiceIdentities", testServiceIdentities},
		{"SyncRunsAndCheckpoints", testSyncRuns},
		{"Records", testRecords},
		{"RecordKeysOrderBytewise", testRecordKeyOrder},
		{"QueryRecords", testQueryRecords},
		{"SyncRunLeaseAndProgress", testSyncRunLease},
		{"OneUnfinishedSyncRunPerInstance", testOneUnfinishedRun},
		{"SyncRunsNewestFirstInPages", testSyncRunPages},
		{"SyncSchedules", testSyncSchedules},
		{"Audit", testAudit},
		{"AuditChain", testAuditChain},
		{"Pagination", testPagination},
		{"ConcurrentUpdatesAreNeverLost", testConcurrentUpdates},
		{"OptimisticVersion", testOptimisticVersion},
		{"Transactions", testTransactions},
		{"TenantScoping", testTenantScoping},
		{"SecretsAtRest", testSecretsAtRest},
		{"CiphertextSwappedBetweenRows", testSwappedCiphertext},
		{"InstallationSecret", testInstallationSecret},
		{"ExpiringInstances", testExpiringInstances},
		{"ExpiredInstalls", testExpiredInstalls},
		{"SlackEventScan", testSlackEventScan},
		{"Provisioning", testProvisioning},
		{"ConsoleSessions", testConsoleSessions},
		{"ConsoleFlash", testConsoleFlash},
		{"ConsoleSessionSweep", testConsoleSessionSweep},
		{"ConsoleSessionCascade", testConsoleSessionCascade},
		{"PacerLease", testPacerLease},
		{"PacerLostCalls", testPacerLostCalls},
		{"PacerBlock", testPacerBlock},
		{"PacerIdleLanes", testPacerIdleLanes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, e)
		})
	}
	t.Run("Keys", func(t *testing.T) { t.Parallel(); testKeys(t, b) })
	t.Run("Replicas", func(t *testing.T) { t.Parallel(); testReplicas(t, b) })
	t.Run("Migrations", func(t *testing.T) { t.Parallel(); testMigrations(t, b) })
	t.Run("MigrationEndsExtraUnfinishedRuns", func(t *testing.T) { t.Parallel(); testUnfinishedRunsMigration(t, b) })
	t.Run("PacerLeasesNeverOverspend", func(t *testing.T) { t.Parallel(); testPacerLeasesNeverOverspend(t, b) })
}

type env struct{ s store.Store }

var ctx = context.Background()

// org makes an organization of its own for one test, so tests sharing a
// database never see each other's rows.
func (e *env) org(t *testing.T) store.Organization {
	t.Helper()
	o, err := e.s.CreateOrganization(ctx, store.Organization{Name: t.Name()})
	must(t, err)
	return o
}

func (e *env) user(t *testing.T, orgID, email string) store.User {
	t.Helper()
	u, err := e.s.CreateUser(ctx, store.User{OrgID: orgID, Email: email, Name: email, Role: store.RoleAdmin})
	must(t, err)
	return u
}

func (e *env) app(t *testing.T, orgID string) store.App {
	t.Helper()
	a, err := e.s.CreateApp(ctx, store.App{OrgID: orgID, Name: "Slack app", ClientID: "123." + store.NewID("c"),
		ClientSecret: "client-secret-" + secrets.Secret(store.NewID("s")), SigningSecret: "signing-" + secrets.Secret(store.NewID("s")),
		BotScopes: []string{"users:read"}, UserScopes: []string{"admin"}, RedirectURL: "http://127.0.0.1:8080/v1/oauth/slack/callback"})
	must(t, err)
	return a
}

func (e *env) instance(t *testing.T, orgID string, change func(*store.Instance)) store.Instance {
	t.Helper()
	in := store.Instance{OrgID: orgID, Connector: "slack", Name: "Acme Slack", Status: store.StatusActive, TeamID: "T0123", TeamName: "Acme",
		BotToken: "xoxb-" + secrets.Secret(store.NewID("t")), BotRefreshToken: "xoxe-1-" + secrets.Secret(store.NewID("r")),
		InstanceTokenHash: secrets.HashToken(store.NewID("chi")), InstanceTokenHint: "chi_abcd"}
	if change != nil {
		change(&in)
	}
	in, err := e.s.CreateInstance(ctx, in)
	must(t, err)
	return in
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// sameTime compares times at the store's precision (milliseconds).
func sameTime(a, b time.Time) bool { return a.UnixMilli() == b.UnixMilli() }

func testOrganizations(t *testing.T, e *env) {
	plain := "org-secret-" + store.NewID("x")
	hash := secrets.HashToken(plain)
	o, err := e.s.CreateOrganization(ctx, store.Organization{Name: "Acme", SecretHash: hash, Secret: secrets.Secret(plain)})
	must(t, err)
	if !strings.HasPrefix(o.ID, "org_") || o.Version != 1 || o.CreatedAt.IsZero() {
		t.Fatalf("created %+v, want an org_ ID, version 1 and a creation time", o)
	}
	got, err := e.s.GetOrganization(ctx, o.ID)
	must(t, err)
	if got.Name != "Acme" || string(got.SecretHash) != string(hash) || got.Secret.Reveal() != plain || !sameTime(got.CreatedAt, o.CreatedAt) {
		t.Errorf("got %+v, want %+v", got, o)
	}
	bySecret, err := e.s.OrganizationBySecretHash(ctx, hash)
	must(t, err)
	if bySecret.ID != o.ID {
		t.Errorf("by secret hash: got %s, want %s", bySecret.ID, o.ID)
	}
	_, err = e.s.CreateOrganization(ctx, store.Organization{ID: o.ID, Name: "again"})
	wantErr(t, "same ID", err, store.ErrAlreadyExists)
	_, err = e.s.CreateOrganization(ctx, store.Organization{Name: "same secret", SecretHash: hash})
	wantErr(t, "same secret hash", err, store.ErrAlreadyExists)
	_, err = e.s.GetOrganization(ctx, "org_nope")
	wantErr(t, "unknown ID", err, store.ErrNotFound)

	up, err := e.s.UpdateOrganization(ctx, o.ID, func(o *store.Organization) error { o.Name = "Acme Corp"; o.ID = "org_hijack"; return nil })
	must(t, err)
	if up.Name != "Acme Corp" || up.ID != o.ID || up.Version != 2 {
		t.Errorf("after update: got %+v, want the new name, the same ID and version 2", up)
	}
	boom := errors.New("boom")
	_, err = e.s.UpdateOrganization(ctx, o.ID, func(o *store.Organization) error { o.Name = "lost"; return boom })
	wantErr(t, "updater error", err, boom)
	if got, _ := e.s.GetOrganization(ctx, o.ID); got.Name != "Acme Corp" {
		t.Errorf("a failed updater changed the row: name %q", got.Name)
	}
	must(t, e.s.DeleteOrganization(ctx, o.ID))
	wantErr(t, "delete twice", e.s.DeleteOrganization(ctx, o.ID), store.ErrNotFound)
	_, err = e.s.UpdateOrganization(ctx, o.ID, func(*store.Organization) error { return nil })
	wantErr(t, "update deleted", err, store.ErrNotFound)
}

func testUsers(t *testing.T, e *env) {
	o := e.org(t)
	plain := "user-secret-" + store.NewID("x")
	hash := secrets.HashToken(plain)
	u, err := e.s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "ada@example.com", Name: "Ada", Role: store.RoleAdmin, SecretHash: hash, Secret: secrets.Secret(plain)})
	must(t, err)
	got, err := e.s.GetUser(ctx, o.ID, u.ID)
	must(t, err)
	if got.Email != "ada@example.com" || got.Role != store.RoleAdmin || got.OrgID != o.ID || got.Secret.Reveal() != plain {
		t.Errorf("got %+v", got)
	}
	bySecret, err := e.s.UserBySecretHash(ctx, o.ID, hash)
	must(t, err)
	if bySecret.ID != u.ID {
		t.Errorf("by secret: got %s, want %s", bySecret.ID, u.ID)
	}
	_, err = e.s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "ada@example.com"})
	wantErr(t, "same email in one org", err, store.ErrAlreadyExists)
	other := e.org(t)
	_, err = e.s.CreateUser(ctx, store.User{OrgID: other.ID, Email: "ada@example.com"})
	must(t, err) // the same email in another organization is another user
	_, err = e.s.CreateUser(ctx, store.User{OrgID: "org_missing", Email: "x@example.com"})
	wantErr(t, "user of a missing organization", err, store.ErrNotFound)
	if u.Role = ""; true {
		m, err := e.s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "member@example.com"})
		must(t, err)
		if m.Role != store.RoleMember {
			t.Errorf("default role: got %q, want member", m.Role)
		}
	}
	up, err := e.s.UpdateUser(ctx, o.ID, u.ID, func(u *store.User) error { u.Name = "Ada L."; u.OrgID = other.ID; return nil })
	must(t, err)
	if up.Name != "Ada L." || up.OrgID != o.ID {
		t.Errorf("update: got %+v, want the new name and the same organization", up)
	}
	must(t, e.s.DeleteUser(ctx, o.ID, u.ID))
	_, err = e.s.GetUser(ctx, o.ID, u.ID)
	wantErr(t, "deleted user", err, store.ErrNotFound)
}

func testAPICredentials(t *testing.T, e *env) {
	o := e.org(t)
	u := e.user(t, o.ID, "ops@example.com")
	token := "chub_" + store.NewID("tok")
	c, err := e.s.CreateAPICredential(ctx, store.APICredential{OrgID: o.ID, UserID: u.ID, Name: "ci", TokenHash: secrets.HashToken(token), Hint: token[:9]})
	must(t, err)
	got, err := e.s.APICredentialByTokenHash(ctx, secrets.HashToken(token))
	must(t, err)
	if got.ID != c.ID || got.UserID != u.ID || got.OrgID != o.ID || !got.RevokedAt.IsZero() {
		t.Errorf("by token hash: got %+v", got)
	}
	_, err = e.s.APICredentialByTokenHash(ctx, secrets.HashToken(token+"x"))
	wantErr(t, "other token", err, store.ErrNotFound)
	_, err = e.s.CreateAPICredential(ctx, store.APICredential{OrgID: o.ID, UserID: u.ID, Name: "dup", TokenHash: secrets.HashToken(token)})
	wantErr(t, "same token", err, store.ErrAlreadyExists)
	revoked := time.Now().UTC()
	up, err := e.s.UpdateAPICredential(ctx, o.ID, c.ID, func(c *store.APICredential) error {
		c.RevokedAt, c.LastUsedAt, c.TokenHash = revoked, revoked, []byte("changed")
		return nil
	})
	must(t, err)
	if !sameTime(up.RevokedAt, revoked) || string(up.TokenHash) != string(secrets.HashToken(token)) {
		t.Errorf("update: got revoked %v and hash changed %v; want revoked and the hash kept", up.RevokedAt, string(up.TokenHash) != string(secrets.HashToken(token)))
	}
	list, _, err := e.s.ListAPICredentials(ctx, o.ID, store.Page{})
	must(t, err)
	if len(list) != 1 || !sameTime(list[0].RevokedAt, revoked) {
		t.Errorf("list: got %+v", list)
	}
	// A user's credentials go with the user.
	must(t, e.s.DeleteUser(ctx, o.ID, u.ID))
	_, err = e.s.GetAPICredential(ctx, o.ID, c.ID)
	wantErr(t, "credential of a deleted user", err, store.ErrNotFound)
	_, err = e.s.CreateAPICredential(ctx, store.APICredential{OrgID: o.ID, UserID: "usr_missing", Name: "x", TokenHash: []byte("h")})
	wantErr(t, "credential of a missing user", err, store.ErrNotFound)
}

func testApps(t *testing.T, e *env) {
	o := e.org(t)
	a := e.app(t, o.ID)
	got, err := e.s.GetApp(ctx, o.ID, a.ID)
	must(t, err)
	if got.ClientSecret != a.ClientSecret || got.SigningSecret != a.SigningSecret || !slices.Equal(got.BotScopes, a.BotScopes) ||
		!slices.Equal(got.UserScopes, a.UserScopes) || got.RedirectURL != a.RedirectURL {
		t.Errorf("round trip: got %+v, want %+v", got, a)
	}
	byClient, err := e.s.AppByClientID(ctx, o.ID, a.ClientID)
	must(t, err)
	if byClient.ID != a.ID {
		t.Errorf("by client ID: got %s, want %s", byClient.ID, a.ID)
	}
	_, err = e.s.CreateApp(ctx, store.App{OrgID: o.ID, ClientID: a.ClientID})
	wantErr(t, "same client ID in one org", err, store.ErrAlreadyExists)
	up, err := e.s.UpdateApp(ctx, o.ID, a.ID, func(a *store.App) error { a.ClientSecret = "rotated"; a.BotScopes = nil; return nil })
	must(t, err)
	again, err := e.s.GetApp(ctx, o.ID, a.ID)
	must(t, err)
	if again.ClientSecret != "rotated" || len(again.BotScopes) != 0 || again.Version != up.Version {
		t.Errorf("after update: got %+v", again)
	}
	// An app with instances cannot be deleted out from under them.
	in := e.instance(t, o.ID, func(in *store.Instance) { in.AppID = a.ID })
	if err := e.s.DeleteApp(ctx, o.ID, a.ID); err == nil {
		t.Error("deleted an app that an instance uses")
	}
	must(t, e.s.DeleteInstance(ctx, o.ID, in.ID))
	must(t, e.s.DeleteApp(ctx, o.ID, a.ID))
}

func testInstances(t *testing.T, e *env) {
	o := e.org(t)
	a := e.app(t, o.ID)
	expires := time.Now().Add(12 * time.Hour).UTC().Truncate(time.Millisecond)
	tokenHash := secrets.HashToken("chi_" + store.NewID("x"))
	want := store.Instance{
		OrgID: o.ID, Connector: "slack", AppID: a.ID, Name: "Acme", Tags: []string{"prod", "eu"}, Status: store.StatusActive,
		StatusReason: "", Edition: "enterprise_grid", TeamID: "", TeamName: "", EnterpriseID: "E0123", OrgWide: true,
		BotUserID: "W0BOT", AuthedUserID: "W0ADMIN", BotScopes: []string{"users:read", "team:read"}, UserScopes: []string{"admin"},
		BotToken: "xoxe.xoxb-1-bot", BotRefreshToken: "xoxe-1-botrefresh", BotTokenExpiresAt: expires,
		UserToken: "xoxe.xoxp-1-user", UserRefreshToken: "xoxe-1-userrefresh", UserTokenExpiresAt: expires.Add(time.Hour),
		InstanceTokenHash: tokenHash, InstanceToken: "chi_viewable", InstanceTokenHint: "chi_ab", LastPingAt: expires.Add(-time.Hour), LastPingOK: true,
		AuthMethod: store.AuthRefreshToken, Settings: map[string]any{"page_size": float64(200), "streams": []any{"users"}}, Teams: []string{"T1", "T2"},
		RefreshLeaseOwner: "replica-a", RefreshLeaseUntil: expires.Add(-11 * time.Hour), LastAuthError: "access_denied: consent was refused",
	}
	in, err := e.s.CreateInstance(ctx, want)
	must(t, err)
	got, err := e.s.GetInstance(ctx, o.ID, in.ID)
	must(t, err)
	want.ID, want.CreatedAt, want.UpdatedAt, want.Version = in.ID, in.CreatedAt, in.UpdatedAt, 1
	if diff := diffInstance(got, want); diff != "" {
		t.Errorf("round trip differs: %s", diff)
	}
	byToken, err := e.s.InstanceByTokenHash(ctx, tokenHash)
	must(t, err)
	if byToken.ID != in.ID {
		t.Errorf("by instance token: got %s, want %s", byToken.ID, in.ID)
	}

	// TokenVersion moves with the tokens, and only with them.
	up, err := e.s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error { in.Name = "Renamed"; in.TokenVersion = 99; return nil })
	must(t, err)
	if up.TokenVersion != got.TokenVersion || up.Version != 2 {
		t.Errorf("rename: got token version %d and version %d, want %d and 2", up.TokenVersion, up.Version, got.TokenVersion)
	}
	up, err = e.s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error {
		in.BotToken, in.BotRefreshToken = "xoxe.xoxb-1-next", "xoxe-1-next"
		return nil
	})
	must(t, err)
	if up.TokenVersion != got.TokenVersion+1 {
		t.Errorf("refresh: got token version %d, want %d", up.TokenVersion, got.TokenVersion+1)
	}
	got, err = e.s.GetInstance(ctx, o.ID, in.ID)
	must(t, err)
	if got.BotToken != "xoxe.xoxb-1-next" || got.BotRefreshToken != "xoxe-1-next" || got.UserToken != want.UserToken {
		t.Errorf("after refresh: bot %q refresh %q user %q", got.BotToken.Reveal(), got.BotRefreshToken.Reveal(), got.UserToken.Reveal())
	}
	// Clearing a secret stores nothing.
	got, err = e.s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error { in.UserToken, in.UserRefreshToken = "", ""; return nil })
	must(t, err)
	if got, _ := e.s.GetInstance(ctx, o.ID, in.ID); !got.UserToken.IsZero() || !got.UserRefreshToken.IsZero() {
		t.Errorf("cleared user token came back: %q", got.UserToken.Reveal())
	}

	// Deleting an instance deletes everything that hangs off it.
	run, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual"})
	must(t, err)
	_, err = e.s.PutCheckpoint(ctx, store.Checkpoint{OrgID: o.ID, InstanceID: in.ID, Stream: "users", RunID: run.ID, Cursor: json.RawMessage(`{"next":"x"}`)})
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, o.ID, in.ID, "users", run.ID, []store.Record{{Key: "U1", Data: json.RawMessage(`{"id":"U1"}`)}})
	must(t, err)
	_, err = e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, InstanceID: in.ID, ExpiresAt: time.Now().Add(time.Minute)})
	must(t, err)
	cred, err := e.s.CreateCredential(ctx, store.Credential{OrgID: o.ID, Name: "header", Kind: "open_connectors", InstanceID: in.ID, Value: "User x, Organization y, Element z"})
	must(t, err)
	must(t, e.s.DeleteInstance(ctx, o.ID, in.ID))
	_, err = e.s.GetSyncRun(ctx, o.ID, run.ID)
	wantErr(t, "run of a deleted instance", err, store.ErrNotFound)
	_, err = e.s.GetCheckpoint(ctx, o.ID, in.ID, "users")
	wantErr(t, "checkpoint of a deleted instance", err, store.ErrNotFound)
	_, err = e.s.GetRecord(ctx, o.ID, in.ID, "users", "U1")
	wantErr(t, "record of a deleted instance", err, store.ErrNotFound)
	_, err = e.s.GetCredential(ctx, o.ID, cred.ID)
	wantErr(t, "credential of a deleted instance", err, store.ErrNotFound)
	_, err = e.s.InstanceByTokenHash(ctx, tokenHash)
	wantErr(t, "token of a deleted instance", err, store.ErrNotFound)

	// An instance cannot use another organization's app.
	other := e.org(t)
	_, err = e.s.CreateInstance(ctx, store.Instance{OrgID: other.ID, Connector: "slack", AppID: a.ID, Name: "stolen app"})
	wantErr(t, "instance with another organization's app", err, store.ErrNotFound)
}

func diffInstance(got, want store.Instance) string {
	g, _ := json.Marshal(revealInstance(got))
	w, _ := json.Marshal(revealInstance(want))
	if string(g) == string(w) {
		return ""
	}
	return fmt.Sprintf("\n got %s\nwant %s", g, w)
}

// revealInstance is an instance with its secrets shown and its times at the
// store's precision, for comparison.
func revealInstance(in store.Instance) map[string]any {
	t := func(x time.Time) int64 {
		if x.IsZero() {
			return 0
		}
		return x.UnixMilli()
	}
	return map[string]any{
		"id": in.ID, "org": in.OrgID, "connector": in.Connector, "app": in.AppID, "name": in.Name, "tags": in.Tags, "status": in.Status,
		"reason": in.StatusReason, "edition": in.Edition, "team": in.TeamID, "team_name": in.TeamName, "ent": in.EnterpriseID, "org_wide": in.OrgWide,
		"bot_user": in.BotUserID, "authed": in.AuthedUserID, "bot_scopes": in.BotScopes, "user_scopes": in.UserScopes,
		"bot": in.BotToken.Reveal(), "bot_refresh": in.BotRefreshToken.Reveal(), "bot_exp": t(in.BotTokenExpiresAt),
		"user": in.UserToken.Reveal(), "user_refresh": in.UserRefreshToken.Reveal(), "user_exp": t(in.UserTokenExpiresAt),
		"token_version": in.TokenVersion, "hash": in.InstanceTokenHash, "instance_token": in.InstanceToken.Reveal(), "hint": in.InstanceTokenHint,
		"auth": in.AuthMethod, "settings": in.Settings, "teams": in.Teams, "lease": in.RefreshLeaseOwner, "lease_until": t(in.RefreshLeaseUntil),
		"ping": t(in.LastPingAt), "ping_ok": in.LastPingOK, "last_auth_error": in.LastAuthError,
		"created": t(in.CreatedAt), "updated": t(in.UpdatedAt), "version": in.Version,
	}
}

func testInstanceList(t *testing.T, e *env) {
	o := e.org(t)
	var made []string
	for i := range 7 {
		in := e.instance(t, o.ID, func(in *store.Instance) {
			in.Name = fmt.Sprintf("n%d", i)
			in.Tags = []string{fmt.Sprintf("t%d", i%2), `we"ird%_tag`}
			if i%3 == 0 {
				in.Status = store.StatusFailed
			}
		})
		made = append(made, in.ID)
	}
	var all []string
	after := ""
	for {
		page, next, err := e.s.ListInstances(ctx, o.ID, store.InstanceFilter{}, store.Page{After: after, Limit: 3})
		must(t, err)
		for _, in := range page {
			all = append(all, in.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	// Lists page by ID: by creation millisecond, and in no particular order
	// within one (IDs are random past their time prefix).
	slices.Sort(made)
	if !slices.Equal(all, made) {
		t.Errorf("paged list: got %v, want %v in ID order", all, made)
	}
	for _, tc := range []struct {
		f    store.InstanceFilter
		want int
	}{
		{store.InstanceFilter{Status: store.StatusFailed}, 3},
		{store.InstanceFilter{Tag: "t1"}, 3},
		{store.InstanceFilter{Tag: "t"}, 0},
		{store.InstanceFilter{Tag: `we"ird%_tag`}, 7},
		{store.InstanceFilter{Tag: `%`}, 0},
		{store.InstanceFilter{Connector: "slack", Status: store.StatusActive, Tag: "t0"}, 2},
		{store.InstanceFilter{Connector: "github"}, 0},
	} {
		got, _, err := e.s.ListInstances(ctx, o.ID, tc.f, store.Page{})
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("filter %+v: got %d instances, want %d", tc.f, len(got), tc.want)
		}
	}
}

func testOAuthStates(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	s, err := e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, InstanceID: in.ID, CodeVerifier: "pkce-verifier-abc",
		RedirectURL: "http://127.0.0.1/cb", ExpiresAt: time.Now().Add(10 * time.Minute)})
	must(t, err)
	// A state's ID is a bearer secret: 256 random bits, nothing of the time
	// or of the instance's ID in it.
	if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s.ID, "st_")); err != nil || len(raw) != 32 || strings.Contains(s.ID, in.ID[4:12]) {
		t.Errorf("state ID %q (instance %s): want st_ and 256 random bits (%v)", s.ID, in.ID, err)
	}
	got, err := e.s.ConsumeOAuthState(ctx, s.ID, time.Now())
	must(t, err)
	if got.OrgID != o.ID || got.InstanceID != in.ID || got.CodeVerifier != "pkce-verifier-abc" || got.UsedAt.IsZero() {
		t.Errorf("consumed %+v", got)
	}
	_, err = e.s.ConsumeOAuthState(ctx, s.ID, time.Now())
	wantErr(t, "replay", err, store.ErrConflict)
	_, err = e.s.ConsumeOAuthState(ctx, "st_unknown", time.Now())
	wantErr(t, "unknown state", err, store.ErrNotFound)

	// Exactly one of many concurrent consumers wins.
	s, err = e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, ExpiresAt: time.Now().Add(time.Minute)})
	must(t, err)
	var wins, conflicts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := e.s.ConsumeOAuthState(ctx, s.ID, time.Now())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("concurrent consume: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Errorf("concurrent consume: %d wins and %d conflicts, want 1 and 7", wins, conflicts)
	}

	old, err := e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, ExpiresAt: time.Now().Add(-time.Hour)})
	must(t, err)
	n, err := e.s.DeleteExpiredOAuthStates(ctx, time.Now())
	must(t, err)
	if n < 1 {
		t.Errorf("deleted %d expired states, want at least 1", n)
	}
	_, err = e.s.ConsumeOAuthState(ctx, old.ID, time.Now())
	wantErr(t, "expired state after cleanup", err, store.ErrNotFound)
}

func testCredentials(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	c, err := e.s.CreateCredential(ctx, store.Credential{OrgID: o.ID, Name: "cpi-slack", Kind: "open_connectors", InstanceID: in.ID,
		Description: "for SAP Cloud Integration", Value: "User abc, Organization def, Element ghi"})
	must(t, err)
	got, err := e.s.GetCredential(ctx, o.ID, c.ID)
	must(t, err)
	if got.Value != c.Value || got.InstanceID != in.ID || got.Description != c.Description {
		t.Errorf("round trip: got %+v", got)
	}
	_, err = e.s.CreateCredential(ctx, store.Credential{OrgID: o.ID, Name: "cpi-slack", Kind: "bearer"})
	wantErr(t, "same name", err, store.ErrAlreadyExists)
	_, err = e.s.UpdateCredential(ctx, o.ID, c.ID, func(c *store.Credential) error { c.Value = "rotated"; return nil })
	must(t, err)
	if got, _ := e.s.GetCredential(ctx, o.ID, c.ID); got.Value != "rotated" {
		t.Errorf("after update: value %q", got.Value.Reveal())
	}
	list, _, err := e.s.ListCredentials(ctx, o.ID, store.Page{})
	must(t, err)
	if len(list) != 1 {
		t.Errorf("list: got %d, want 1", len(list))
	}
	must(t, e.s.DeleteCredential(ctx, o.ID, c.ID))
	wantErr(t, "delete twice", e.s.DeleteCredential(ctx, o.ID, c.ID), store.ErrNotFound)
}

// testServiceIdentities: a credential's service identity is bound to its
// instance and goes with it, taking its API tokens and the credential.
func testServiceIdentities(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, func(in *store.Instance) { in.AllowUserToken = true })
	if got, _ := e.s.GetInstance(ctx, o.ID, in.ID); !got.AllowUserToken {
		t.Errorf("AllowUserToken was not kept")
	}
	svc, err := e.s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "svc@connhub.invalid", Name: "svc", Role: store.RoleService, InstanceID: in.ID,
		SecretHash: []byte("svc-hash"), Secret: "chus_svc"})
	must(t, err)
	admin, err := e.s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "op@example.com", Role: store.RoleAdmin, Operator: true})
	must(t, err)
	if got, _ := e.s.GetUser(ctx, o.ID, admin.ID); !got.Operator || got.InstanceID != "" {
		t.Errorf("operator: got %+v", got)
	}
	if _, err := e.s.UpdateUser(ctx, o.ID, svc.ID, func(u *store.User) error { u.InstanceID = ""; u.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.GetUser(ctx, o.ID, svc.ID); got.InstanceID != in.ID || got.Name != "renamed" {
		t.Errorf("a service identity must stay bound to its instance: got %+v", got)
	}
	key, err := e.s.CreateAPICredential(ctx, store.APICredential{OrgID: o.ID, UserID: svc.ID, Name: "svc token", TokenHash: []byte("svc-token-hash"),
		Hint: "chub_abcd…", Scopes: []string{"proxy", "records:read"}})
	must(t, err)
	if _, err := e.s.UpdateAPICredential(ctx, o.ID, key.ID, func(c *store.APICredential) error { c.Scopes = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.GetAPICredential(ctx, o.ID, key.ID); !slices.Equal(got.Scopes, []string{"proxy", "records:read"}) {
		t.Errorf("scopes: got %v; a token's scopes are fixed when it is made", got.Scopes)
	}
	c, err := e.s.CreateCredential(ctx, store.Credential{OrgID: o.ID, Name: "flow", Kind: "bearer", InstanceID: in.ID, UserID: svc.ID,
		Value: "Bearer chub_x", Hint: "Bearer chub_x…"})
	must(t, err)
	if got, _ := e.s.GetCredential(ctx, o.ID, c.ID); got.UserID != svc.ID || got.Hint != "Bearer chub_x…" {
		t.Errorf("credential: got %+v", got)
	}
	must(t, e.s.DeleteInstance(ctx, o.ID, in.ID))
	_, err = e.s.GetUser(ctx, o.ID, svc.ID)
	wantErr(t, "the service identity after its instance was deleted", err, store.ErrNotFound)
	_, err = e.s.GetAPICredential(ctx, o.ID, key.ID)
	wantErr(t, "the service identity's token after its instance was deleted", err, store.ErrNotFound)
	_, err = e.s.GetCredential(ctx, o.ID, c.ID)
	wantErr(t, "the credential after its instance was deleted", err, store.ErrNotFound)
}

func testSyncRuns(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	run, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Streams: []string{"users", "channels"}})
	must(t, err)
	if run.Status != store.RunQueued {
		t.Errorf("new run status %q, want queued", run.Status)
	}
	start := time.Now()
	run, err = e.s.UpdateSyncRun(ctx, o.ID, run.ID, func(r *store.SyncRun) error {
		r.Status, r.StartedAt, r.Stats = store.RunRunning, start, map[string]int64{"users.records": 42}
		return nil
	})
	must(t, err)
	got, err := e.s.GetSyncRun(ctx, o.ID, run.ID)
	must(t, err)
	if got.Status != store.RunRunning || got.Stats["users.records"] != 42 || !sameTime(got.StartedAt, start) || !slices.Equal(got.Streams, []string{"users", "channels"}) {
		t.Errorf("got %+v", got)
	}
	runs, _, err := e.s.ListSyncRuns(ctx, o.ID, in.ID, store.Page{})
	must(t, err)
	if len(runs) != 1 || runs[0].ID != run.ID {
		t.Errorf("list runs: got %v", runs)
	}

	_, err = e.s.GetCheckpoint(ctx, o.ID, in.ID, "users")
	wantErr(t, "checkpoint before the first", err, store.ErrNotFound)
	cp, err := e.s.PutCheckpoint(ctx, store.Checkpoint{OrgID: o.ID, InstanceID: in.ID, Stream: "users", RunID: run.ID, Cursor: json.RawMessage(`{"next_cursor":"dXNlcjpVMDE="}`)})
	must(t, err)
	if cp.Version != 1 {
		t.Errorf("first checkpoint version %d, want 1", cp.Version)
	}
	_, err = e.s.PutCheckpoint(ctx, store.Checkpoint{OrgID: o.ID, InstanceID: in.ID, Stream: "users", RunID: run.ID, Cursor: json.RawMessage(`{}`)})
	wantErr(t, "a second first checkpoint", err, store.ErrConflict)
	cp.Cursor = json.RawMessage(`{"next_cursor":"dXNlcjpVMDI="}`)
	next, err := e.s.PutCheckpoint(ctx, cp)
	must(t, err)
	_, err = e.s.PutCheckpoint(ctx, cp) // stale version
	wantErr(t, "stale checkpoint", err, store.ErrConflict)
	got2, err := e.s.GetCheckpoint(ctx, o.ID, in.ID, "users")
	must(t, err)
	if got2.Version != next.Version || string(got2.Cursor) != `{"next_cursor":"dXNlcjpVMDI="}` && !jsonEqual(got2.Cursor, cp.Cursor) {
		t.Errorf("checkpoint: got %s v%d, want %s v%d", got2.Cursor, got2.Version, cp.Cursor, next.Version)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func testRecords(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	rec := func(key, team, name string) store.Record {
		return store.Record{Key: key, TeamID: team, Data: json.RawMessage(fmt.Sprintf(`{"id":%q,"name":%q}`, key, name)), SourceUpdatedAt: time.Unix(1700000000, 0)}
	}
	n, err := e.s.UpsertRecords(ctx, o.ID, in.ID, "users", "run1", []store.Record{rec("U1", "T1", "ada"), rec("U2", "T1", "bob"), rec("U3", "T2", "cy")})
	must(t, err)
	if n != 3 {
		t.Errorf("first page: %d inserted, want 3", n)
	}
	n, err = e.s.UpsertRecords(ctx, o.ID, in.ID, "users", "run2", []store.Record{rec("U1", "T1", "ada lovelace"), rec("U4", "T2", "dee")})
	must(t, err)
	if n != 1 {
		t.Errorf("second page: %d inserted, want 1 (U1 is an update)", n)
	}
	got, err := e.s.GetRecord(ctx, o.ID, in.ID, "users", "U1")
	must(t, err)
	if !jsonEqual(got.Data, json.RawMessage(`{"id":"U1","name":"ada lovelace"}`)) || got.SeenRunID != "run2" || got.FirstSeenAt.After(got.LastSeenAt) {
		t.Errorf("updated record: %+v (%s)", got, got.Data)
	}
	marked, err := e.s.MarkUnseen(ctx, o.ID, in.ID, "users", "run2", time.Now())
	must(t, err)
	if marked != 2 {
		t.Errorf("marked %d unseen, want 2 (U2, U3)", marked)
	}
	live, _, err := e.s.ListRecords(ctx, o.ID, in.ID, "users", store.RecordFilter{}, store.Page{})
	must(t, err)
	if keys := recordKeys(live); !slices.Equal(keys, []string{"U1", "U4"}) {
		t.Errorf("live records: got %v, want [U1 U4]", keys)
	}
	all, _, err := e.s.ListRecords(ctx, o.ID, in.ID, "users", store.RecordFilter{IncludeDeleted: true}, store.Page{})
	must(t, err)
	if len(all) != 4 {
		t.Errorf("with deleted: got %d, want 4 (vanished records are marked, not dropped)", len(all))
	}
	bare, _, err := e.s.ListRecords(ctx, o.ID, in.ID, "users", store.RecordFilter{WithoutData: true}, store.Page{})
	must(t, err)
	if keys := recordKeys(bare); !slices.Equal(keys, []string{"U1", "U4"}) || string(bare[0].Data) != "null" || bare[0].TeamID != live[0].TeamID {
		t.Errorf("without data: got %v, %s", keys, bare[0].Data)
	}
	// Seen again, a record comes back to life.
	_, err = e.s.UpsertRecords(ctx, o.ID, in.ID, "users", "run3", []store.Record{rec("U2", "T1", "bob")})
	must(t, err)
	if got, _ := e.s.GetRecord(ctx, o.ID, in.ID, "users", "U2"); !got.DeletedAt.IsZero() {
		t.Error("a record seen again stays deleted")
	}
	team, _, err := e.s.ListRecords(ctx, o.ID, in.ID, "users", store.RecordFilter{TeamID: "T2", IncludeDeleted: true}, store.Page{})
	must(t, err)
	if keys := recordKeys(team); !slices.Equal(keys, []string{"U3", "U4"}) {
		t.Errorf("team T2: got %v, want [U3 U4]", keys)
	}
	var paged []string
	after := ""
	for {
		page, next, err := e.s.ListRecords(ctx, o.ID, in.ID, "users", store.RecordFilter{IncludeDeleted: true}, store.Page{After: after, Limit: 3})
		must(t, err)
		paged = append(paged, recordKeys(page)...)
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(paged, []string{"U1", "U2", "U3", "U4"}) {
		t.Errorf("paged records: got %v", paged)
	}
	// A workspace the org install no longer reaches: its records of every
	// stream are marked, the others' left alone.
	grid := e.instance(t, o.ID, nil)
	_, err = e.s.UpsertRecords(ctx, o.ID, grid.ID, "users", "g1", []store.Record{rec("U1", "T1", "ada"), rec("U2", "T2", "bob"), rec("U3", "T2", "cy")})
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, o.ID, grid.ID, "channels", "g1", []store.Record{rec("C1", "T2", "general"), rec("C2", "T1", "random")})
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, o.ID, in.ID, "users", "x", []store.Record{rec("U8", "T2", "another instance's")})
	must(t, err)
	_, err = e.s.MarkUnseen(ctx, o.ID, grid.ID, "users", "g2", time.Now()) // U1, U2, U3 marked
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, o.ID, grid.ID, "users", "g2", []store.Record{rec("U1", "T1", "ada"), rec("U2", "T2", "bob")})
	must(t, err)
	marked, err = e.s.MarkTeamDeleted(ctx, o.ID, grid.ID, "T2", time.Now())
	must(t, err)
	if marked != 2 {
		t.Errorf("marked %d records of workspace T2, want 2 (U2, C1; U3 was marked already)", marked)
	}
	for stream, want := range map[string][]string{"users": {"U1"}, "channels": {"C2"}} {
		live, _, err := e.s.ListRecords(ctx, o.ID, grid.ID, stream, store.RecordFilter{}, store.Page{})
		must(t, err)
		if keys := recordKeys(live); !slices.Equal(keys, want) {
			t.Errorf("%s after workspace T2 was marked: live %v, want %v", stream, keys, want)
		}
	}
	if got, _ := e.s.GetRecord(ctx, o.ID, in.ID, "users", "U8"); !got.DeletedAt.IsZero() {
		t.Error("marking one instance's workspace marked another instance's record of it")
	}
	if _, err := e.s.MarkTeamDeleted(ctx, o.ID, grid.ID, "", time.Now()); err == nil {
		t.Error("marking the records of no workspace: no error")
	}
	// Another stream of the same instance is another set.
	other, _, err := e.s.ListRecords(ctx, o.ID, in.ID, "channels", store.RecordFilter{IncludeDeleted: true}, store.Page{})
	must(t, err)
	if len(other) != 0 {
		t.Errorf("channels stream: got %d records, want 0", len(other))
	}

	// What a Slack event writes: seen by the event; one record marked gone;
	// and found again by the event and by key prefix.
	evt := store.SlackEventIDPrefix + "1"
	asOf := time.UnixMilli(1700000123456)
	pages := []store.Record{rec("C1/0000", "T1", "a"), rec("C1/0001", "T1", "b"), rec("C10/0000", "T1", "c"), rec("C2/0000", "T1", "d")}
	_, err = e.s.UpsertRecords(ctx, o.ID, in.ID, "channel_members", "run1", pages)
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, o.ID, in.ID, "channel_members", evt, []store.Record{rec("C1/0001", "T1", "b2")})
	must(t, err)
	if got, _ := e.s.GetRecord(ctx, o.ID, in.ID, "channel_members", "C1/0001"); !got.WrittenByEvent() {
		t.Errorf("a record an event wrote: seen by %q, want %s", got.SeenRunID, evt)
	}
	gone, err := e.s.MarkRecordDeleted(ctx, o.ID, in.ID, "channel_members", "C2/0000", evt, asOf)
	must(t, err)
	again, err := e.s.MarkRecordDeleted(ctx, o.ID, in.ID, "channel_members", "C2/0000", evt, asOf)
	must(t, err)
	if !gone || again {
		t.Errorf("marking a record deleted: %v, then again %v; want true, false", gone, again)
	}
	if got, _ := e.s.GetRecord(ctx, o.ID, in.ID, "channel_members", "C2/0000"); !got.DeletedAt.Equal(asOf) || got.SeenRunID != evt {
		t.Errorf("a record an event marked deleted: %+v", got)
	}
	for _, c := range []struct {
		f    store.RecordFilter
		want []string
	}{
		{store.RecordFilter{KeyPrefix: "C1/"}, []string{"C1/0000", "C1/0001"}},
		{store.RecordFilter{KeyPrefix: "C10/"}, []string{"C10/0000"}},
		{store.RecordFilter{WrittenByEvents: true}, []string{"C1/0001"}},
		{store.RecordFilter{WrittenByEvents: true, IncludeDeleted: true}, []string{"C1/0001", "C2/0000"}},
	} {
		got, _, err := e.s.ListRecords(ctx, o.ID, in.ID, "channel_members", c.f, store.Page{})
		must(t, err)
		if keys := recordKeys(got); !slices.Equal(keys, c.want) {
			t.Errorf("records with %+v: %v, want %v", c.f, keys, c.want)
		}
	}

	// A page of records and its checkpoint commit together or not at all.
	boom := errors.New("crash before commit")
	err = e.s.InTx(ctx, func(q store.Queries) error {
		if _, err := q.UpsertRecords(ctx, o.ID, in.ID, "users", "run4", []store.Record{rec("U9", "T1", "zed")}); err != nil {
			return err
		}
		if _, err := q.PutCheckpoint(ctx, store.Checkpoint{OrgID: o.ID, InstanceID: in.ID, Stream: "users", RunID: "run4", Cursor: json.RawMessage(`{"page":9}`)}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "transaction", err, boom)
	_, err = e.s.GetRecord(ctx, o.ID, in.ID, "users", "U9")
	wantErr(t, "record of a rolled-back page", err, store.ErrNotFound)
	_, err = e.s.GetCheckpoint(ctx, o.ID, in.ID, "users")
	wantErr(t, "checkpoint of a rolled-back page", err, store.ErrNotFound)
}

// testRecordKeyOrder: records list in the bytewise order of their keys on
// both backends, whatever PostgreSQL's locale, so that a user's entries keyed
// "U1/…" sort between U1 and U10, and pages agree with the sync's merges.
func testRecordKeyOrder(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	keys := []string{"a", "U10", "U1/x", "B", "U1", "U1/10.0.0.1", "_z", "u2"}
	var recs []store.Record
	for _, k := range keys {
		recs = append(recs, store.Record{Key: k, Data: json.RawMessage(`{}`)})
	}
	_, err := e.s.UpsertRecords(ctx, o.ID, in.ID, "access_logs", "run1", recs)
	must(t, err)
	var got []string
	after := ""
	for {
		page, next, err := e.s.ListRecords(ctx, o.ID, in.ID, "access_logs", store.RecordFilter{}, store.Page{After: after, Limit: 3})
		must(t, err)
		got = append(got, recordKeys(page)...)
		if next == "" {
			break
		}
		after = next
	}
	want := slices.Clone(keys)
	slices.Sort(want) // Go compares strings bytewise
	if !slices.Equal(got, want) {
		t.Errorf("record keys in order %v, want bytewise %v", got, want)
	}
}

func testSyncRunLease(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	run, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Options: json.RawMessage(`{"full":true}`)})
	must(t, err)
	if !jsonEqual(run.Progress, json.RawMessage(`{}`)) || !jsonEqual(run.Options, json.RawMessage(`{"full":true}`)) {
		t.Errorf("new run: options %s, progress %s", run.Options, run.Progress)
	}
	until := time.Now().Add(time.Minute)
	_, err = e.s.UpdateSyncRun(ctx, o.ID, run.ID, func(r *store.SyncRun) error {
		r.Status, r.LeaseOwner, r.LeaseUntil = store.RunRunning, "replica-1", until
		r.Progress = json.RawMessage(`{"users":{"state":"running","records":1000}}`)
		return nil
	})
	must(t, err)
	got, err := e.s.GetSyncRun(ctx, o.ID, run.ID)
	must(t, err)
	if got.LeaseOwner != "replica-1" || !sameTime(got.LeaseUntil, until) || !jsonEqual(got.Progress, json.RawMessage(`{"users":{"state":"running","records":1000}}`)) ||
		!jsonEqual(got.Options, json.RawMessage(`{"full":true}`)) {
		t.Errorf("got %+v", got)
	}

	// Unfinished runs of every organization are listed, finished ones not.
	o2 := e.org(t)
	in2 := e.instance(t, o2.ID, nil)
	queued, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o2.ID, InstanceID: in2.ID, Trigger: "schedule"})
	must(t, err)
	done, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o2.ID, InstanceID: in2.ID, Trigger: "manual", Status: store.RunSucceeded})
	must(t, err)
	// A run its replica's shutdown interrupted is unfinished: it resumes.
	in3 := e.instance(t, o2.ID, nil)
	interrupted, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o2.ID, InstanceID: in3.ID, Trigger: "manual", Status: store.RunInterrupted})
	must(t, err)
	var ids []string
	after := ""
	for {
		page, err := e.s.ListUnfinishedSyncRuns(ctx, after, 2)
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			ids = append(ids, r.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Contains(ids, run.ID) || !slices.Contains(ids, queued.ID) || !slices.Contains(ids, interrupted.ID) || slices.Contains(ids, done.ID) {
		t.Errorf("unfinished runs %v: want %s, %s and %s, not %s", ids, run.ID, queued.ID, interrupted.ID, done.ID)
	}
}

// testOneUnfinishedRun: an instance has at most one run queued, running or
// interrupted, and the database holds to it against concurrent creates.
func testOneUnfinishedRun(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	_, err := e.s.UnfinishedSyncRun(ctx, o.ID, in.ID)
	wantErr(t, "the unfinished run of an instance without runs", err, store.ErrNotFound)

	// Replicas asked at the same moment: exactly one create wins.
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []store.SyncRun
	var lost []error
	start := make(chan struct{})
	for range racers {
		wg.Go(func() {
			<-start
			r, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lost = append(lost, err)
			} else {
				won = append(won, r)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent creates of an unfinished run succeeded, want 1 (errors: %v)", len(won), racers, lost)
	}
	for _, err := range lost {
		wantErr(t, "a second unfinished run", err, store.ErrAlreadyExists)
	}
	got, err := e.s.UnfinishedSyncRun(ctx, o.ID, in.ID)
	if err != nil || got.ID != won[0].ID {
		t.Errorf("the unfinished run: %s %v, want %s", got.ID, err, won[0].ID)
	}
	// The same inside a transaction, and the transaction's other writes go
	// with it.
	err = e.s.InTx(ctx, func(q store.Queries) error {
		if _, err := q.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Status: store.RunInterrupted}); err != nil {
			return err
		}
		return errors.New("unreachable")
	})
	wantErr(t, "an interrupted run beside a queued one, in a transaction", err, store.ErrAlreadyExists)

	// Finished runs do not count; another instance is another matter.
	for _, status := range []string{store.RunSucceeded, store.RunFailed, store.RunCanceled} {
		_, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Status: status})
		must(t, err)
	}
	other := e.instance(t, o.ID, nil)
	_, err = e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: other.ID, Trigger: "manual"})
	must(t, err)

	// Once the run has finished, a new one may start.
	failed, err := e.s.UpdateSyncRun(ctx, o.ID, won[0].ID, func(r *store.SyncRun) error {
		r.Status, r.Error = store.RunFailed, "boom"
		return nil
	})
	must(t, err)
	next, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "schedule"})
	must(t, err)
	// And the failed one cannot be resumed while the new one is unfinished.
	_, err = e.s.UpdateSyncRun(ctx, o.ID, failed.ID, func(r *store.SyncRun) error {
		r.Status, r.Error = store.RunQueued, ""
		return nil
	})
	wantErr(t, "resuming a run while another is unfinished", err, store.ErrAlreadyExists)
	if got, _ := e.s.GetSyncRun(ctx, o.ID, failed.ID); got.Status != store.RunFailed {
		t.Errorf("the run whose resume was refused is %s, want still failed", got.Status)
	}
	// A running run's own updates (its progress, its lease) are no second run.
	_, err = e.s.UpdateSyncRun(ctx, o.ID, next.ID, func(r *store.SyncRun) error {
		r.Status, r.LeaseOwner, r.LeaseUntil = store.RunRunning, "replica-1", time.Now().Add(time.Minute)
		return nil
	})
	must(t, err)
	_, err = e.s.UpdateSyncRun(ctx, o.ID, next.ID, func(r *store.SyncRun) error {
		r.Status, r.Error = store.RunInterrupted, "stopping"
		return nil
	})
	must(t, err)
}

// testSyncRunPages: an instance's runs, newest first, a page at a time.
func testSyncRunPages(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	var want []string
	for range 7 {
		r, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Status: store.RunSucceeded})
		must(t, err)
		want = append(want, r.ID)
	}
	other := e.instance(t, o.ID, nil)
	_, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: other.ID, Trigger: "manual"})
	must(t, err)
	slices.Sort(want)
	slices.Reverse(want)
	var got []string
	after, pages := "", 0
	for {
		page, next, err := e.s.ListSyncRuns(ctx, o.ID, in.ID, store.Page{After: after, Limit: 3})
		must(t, err)
		pages++
		for _, r := range page {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		after = next
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("runs in %d pages of 3: %v, want %v (newest first) in 3", pages, got, want)
	}
}

func testSyncSchedules(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	_, err := e.s.GetSyncSchedule(ctx, o.ID, in.ID)
	wantErr(t, "schedule before the first", err, store.ErrNotFound)
	next := time.Now().Add(-time.Minute)
	s, err := e.s.PutSyncSchedule(ctx, store.SyncSchedule{OrgID: o.ID, InstanceID: in.ID, Interval: 24 * time.Hour, Streams: []string{"users"}, Enabled: true, NextRunAt: next})
	must(t, err)
	if s.Version != 1 {
		t.Errorf("new schedule version %d", s.Version)
	}
	s, err = e.s.PutSyncSchedule(ctx, store.SyncSchedule{OrgID: o.ID, InstanceID: in.ID, Interval: 12 * time.Hour, Enabled: true, NextRunAt: next})
	must(t, err)
	got, err := e.s.GetSyncSchedule(ctx, o.ID, in.ID)
	must(t, err)
	if got.Interval != 12*time.Hour || len(got.Streams) != 0 || !got.Enabled || !sameTime(got.NextRunAt, next) || got.Version != 2 {
		t.Errorf("replaced schedule: got %+v", got)
	}
	due, err := e.s.ListDueSyncSchedules(ctx, time.Now(), 100)
	must(t, err)
	if !slices.ContainsFunc(due, func(d store.SyncSchedule) bool { return d.InstanceID == in.ID }) {
		t.Errorf("due schedules %v: want %s", due, in.ID)
	}
	_, err = e.s.UpdateSyncSchedule(ctx, o.ID, in.ID, func(s *store.SyncSchedule) error {
		s.NextRunAt, s.LastRunID = time.Now().Add(12*time.Hour), "run_x"
		return nil
	})
	must(t, err)
	due, err = e.s.ListDueSyncSchedules(ctx, time.Now(), 100)
	must(t, err)
	if slices.ContainsFunc(due, func(d store.SyncSchedule) bool { return d.InstanceID == in.ID }) {
		t.Error("a schedule moved to the future is still due")
	}
	_, err = e.s.PutSyncSchedule(ctx, store.SyncSchedule{OrgID: o.ID, InstanceID: in.ID, Interval: time.Millisecond})
	if err == nil {
		t.Error("an interval under a second was accepted")
	}
	other := e.org(t)
	_, err = e.s.GetSyncSchedule(ctx, other.ID, in.ID)
	wantErr(t, "another organization's schedule", err, store.ErrNotFound)
	_, err = e.s.PutSyncSchedule(ctx, store.SyncSchedule{OrgID: other.ID, InstanceID: in.ID, Interval: time.Hour})
	wantErr(t, "a schedule for another organization's instance", err, store.ErrNotFound)
	must(t, e.s.DeleteSyncSchedule(ctx, o.ID, in.ID))
	wantErr(t, "deleting twice", e.s.DeleteSyncSchedule(ctx, o.ID, in.ID), store.ErrNotFound)
}

func recordKeys(rs []store.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	return out
}

func testAudit(t *testing.T, e *env) {
	o := e.org(t)
	var ids []string
	for i := range 5 {
		ev, err := e.s.AppendAudit(ctx, store.AuditEvent{OrgID: o.ID, ActorKind: "user", ActorID: fmt.Sprintf("usr_%d", i%2), CredentialID: "key_1",
			SourceIP: "127.0.0.1", Action: "instance.create", TargetType: "instance", TargetID: fmt.Sprintf("ins_%d", i), RequestID: "req",
			Details: map[string]any{"name": fmt.Sprintf("n%d", i)}})
		must(t, err)
		if ev.Seq != int64(i+1) || len(ev.Hash) != 32 || ev.Outcome != "success" {
			t.Errorf("event %d: seq %d, hash %x, outcome %q; want seq %d, a SHA-256, success", i, ev.Seq, ev.Hash, ev.Outcome, i+1)
		}
		ids = append(ids, ev.ID)
	}
	_, err := e.s.AppendAudit(ctx, store.AuditEvent{OrgID: o.ID, ActorKind: "user", ActorID: "usr_0", Action: "credential.reveal", TargetID: "crd_1", Outcome: "denied"})
	must(t, err)
	var got []string
	after := ""
	for {
		page, next, err := e.s.ListAudit(ctx, o.ID, store.AuditFilter{Action: "instance.create"}, store.Page{After: after, Limit: 2})
		must(t, err)
		for _, ev := range page {
			got = append(got, ev.ID)
			if ev.Details["name"] == nil || ev.Action != "instance.create" || ev.SourceIP != "127.0.0.1" || ev.CredentialID != "key_1" || ev.ActorKind != "user" {
				t.Errorf("event %+v lost its fields", ev)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	slices.Reverse(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("audit log: got %v, want newest first %v", got, ids)
	}
	for _, tc := range []struct {
		f    store.AuditFilter
		want int
	}{
		{store.AuditFilter{}, 6},
		{store.AuditFilter{ActorID: "usr_1"}, 2},
		{store.AuditFilter{Action: "credential."}, 1},
		{store.AuditFilter{Action: "credential"}, 0},
		{store.AuditFilter{TargetID: "ins_3"}, 1},
		{store.AuditFilter{Since: time.Now().Add(time.Hour)}, 0},
		{store.AuditFilter{Until: time.Now().Add(time.Hour)}, 6},
	} {
		page, _, err := e.s.ListAudit(ctx, o.ID, tc.f, store.Page{})
		must(t, err)
		if len(page) != tc.want {
			t.Errorf("ListAudit(%+v): got %d events, want %d", tc.f, len(page), tc.want)
		}
	}
	v, err := e.s.VerifyAudit(ctx, o.ID)
	must(t, err)
	if v.BrokenAt != 0 || v.Events != 6 || len(v.Head) != 32 {
		t.Errorf("VerifyAudit of an untouched log: %+v; want 6 events, unbroken", v)
	}
}

// testAuditChain appends from many goroutines at once, then changes,
// removes and cuts rows as someone with the database's password might:
// VerifyAudit finds each.
func testAuditChain(t *testing.T, e *env) {
	o := e.org(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				if _, err := e.s.AppendAudit(ctx, store.AuditEvent{OrgID: o.ID, ActorKind: "user", ActorID: "usr_1", Action: "x.y", TargetID: fmt.Sprintf("t%d.%d", w, i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	v, err := e.s.VerifyAudit(ctx, o.ID)
	must(t, err)
	if v.BrokenAt != 0 || v.Events != 40 {
		t.Fatalf("VerifyAudit after 40 concurrent appends: %+v; want 40 events, unbroken", v)
	}
	raw, ok := e.s.(rawDB)
	if !ok {
		t.Skip("the store shows no raw rows")
	}
	page, _, err := e.s.ListAudit(ctx, o.ID, store.AuditFilter{}, store.Page{Limit: 40})
	must(t, err)
	bySeq := map[int64]store.AuditEvent{}
	for _, ev := range page {
		bySeq[ev.Seq] = ev
	}
	exec := func(q string) {
		t.Helper()
		if _, err := raw.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	expectBroken := func(what string, at int64) {
		t.Helper()
		v, err := e.s.VerifyAudit(ctx, o.ID)
		must(t, err)
		if v.BrokenAt != at || v.Reason == "" {
			t.Errorf("after %s: VerifyAudit says %+v; want broken at %d with a reason", what, v, at)
		}
	}
	// A changed field.
	exec(`UPDATE audit_log SET target_id = 'forged' WHERE id = '` + bySeq[7].ID + `'`)
	expectBroken("changing event 7", 7)
	exec(`UPDATE audit_log SET target_id = '` + bySeq[7].TargetID + `' WHERE id = '` + bySeq[7].ID + `'`)
	// A row removed from the middle.
	exec(`DELETE FROM audit_log WHERE id = '` + bySeq[20].ID + `'`)
	expectBroken("deleting event 20", 20)
	// The tail cut (the rows after 19 gone too): the head still names 40.
	exec(`DELETE FROM audit_log WHERE org_id = '` + o.ID + `' AND seq > 19`)
	expectBroken("cutting the tail", 20)
}

func testPagination(t *testing.T, e *env) {
	o := e.org(t)
	for i := range 25 {
		e.user(t, o.ID, fmt.Sprintf("u%02d@example.com", i))
	}
	sizes := []int{}
	after := ""
	for {
		page, next, err := e.s.ListUsers(ctx, o.ID, store.Page{After: after, Limit: 10})
		must(t, err)
		sizes = append(sizes, len(page))
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Errorf("pages of 10 over 25 users: got sizes %v", sizes)
	}
	page, next, err := e.s.ListUsers(ctx, o.ID, store.Page{Limit: 25})
	must(t, err)
	if len(page) != 25 || next != "" {
		t.Errorf("one exact page: got %d and next %q, want 25 and no next page", len(page), next)
	}
	if (store.Page{}).Size() != 100 || (store.Page{Limit: 5000}).Size() != store.MaxPage {
		t.Error("page defaults: want 100 by default and MaxPage at most")
	}
}

// testConcurrentUpdates races updaters on one row: every change lands.
func testConcurrentUpdates(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	const workers, each = 8, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := e.s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error {
					in.Tags = append(in.Tags, fmt.Sprintf("w%d-%d", w, i))
					return nil
				})
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := e.s.GetInstance(ctx, o.ID, in.ID)
	must(t, err)
	if len(got.Tags) != workers*each || got.Version != 1+workers*each {
		t.Errorf("after %d concurrent updates: %d tags and version %d, want %d and %d", workers*each, len(got.Tags), got.Version, workers*each, 1+workers*each)
	}
}

// testOptimisticVersion: a caller that read a row earlier detects that it
// changed since, through the Version its updater sees.
func testOptimisticVersion(t *testing.T, e *env) {
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	seen := in.Version
	_, err := e.s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error { in.Name = "first"; return nil })
	must(t, err)
	_, err = e.s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error {
		if in.Version != seen {
			return store.ErrConflict
		}
		in.Name = "second"
		return nil
	})
	wantErr(t, "update with a stale version", err, store.ErrConflict)
	if got, _ := e.s.GetInstance(ctx, o.ID, in.ID); got.Name != "first" {
		t.Errorf("the stale update landed: name %q", got.Name)
	}
}

func testTransactions(t *testing.T, e *env) {
	boom := errors.New("boom")
	var orgID string
	err := e.s.InTx(ctx, func(q store.Queries) error {
		o, err := q.CreateOrganization(ctx, store.Organization{Name: "tx"})
		if err != nil {
			return err
		}
		orgID = o.ID
		if _, err := q.CreateUser(ctx, store.User{OrgID: o.ID, Email: "tx@example.com"}); err != nil {
			return err
		}
		// An updater inside a transaction joins it.
		if _, err := q.UpdateOrganization(ctx, o.ID, func(o *store.Organization) error { o.Name = "tx2"; return nil }); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "InTx", err, boom)
	_, err = e.s.GetOrganization(ctx, orgID)
	wantErr(t, "organization of a rolled-back transaction", err, store.ErrNotFound)

	func() {
		defer func() {
			if recover() == nil {
				t.Error("a panic inside InTx was swallowed")
			}
		}()
		e.s.InTx(ctx, func(q store.Queries) error {
			o, _ := q.CreateOrganization(ctx, store.Organization{Name: "panics"})
			orgID = o.ID
			panic("boom")
		})
	}()
	_, err = e.s.GetOrganization(ctx, orgID)
	wantErr(t, "organization of a panicked transaction", err, store.ErrNotFound)

	o, err := func() (o store.Organization, err error) {
		err = e.s.InTx(ctx, func(q store.Queries) error {
			o, err = q.CreateOrganization(ctx, store.Organization{Name: "committed"})
			return err
		})
		return o, err
	}()
	must(t, err)
	if _, err := e.s.GetOrganization(ctx, o.ID); err != nil {
		t.Errorf("committed transaction: %v", err)
	}
}

// testTenantScoping: organization B can neither read nor change nor learn of
// organization A's rows; every attempt looks like a row that does not exist.
func testTenantScoping(t *testing.T, e *env) {
	a, b := e.org(t), e.org(t)
	u := e.user(t, a.ID, "a@example.com")
	cred, err := e.s.CreateAPICredential(ctx, store.APICredential{OrgID: a.ID, UserID: u.ID, Name: "k", TokenHash: secrets.HashToken(store.NewID("t"))})
	must(t, err)
	app := e.app(t, a.ID)
	in := e.instance(t, a.ID, func(in *store.Instance) { in.AppID = app.ID })
	c, err := e.s.CreateCredential(ctx, store.Credential{OrgID: a.ID, Name: "c", Kind: "bearer", InstanceID: in.ID, Value: "v"})
	must(t, err)
	run, err := e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: a.ID, InstanceID: in.ID})
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, a.ID, in.ID, "users", run.ID, []store.Record{{Key: "U1", Data: json.RawMessage(`{}`)}})
	must(t, err)
	cp, err := e.s.PutCheckpoint(ctx, store.Checkpoint{OrgID: a.ID, InstanceID: in.ID, Stream: "users", RunID: run.ID, Cursor: json.RawMessage(`{}`)})
	must(t, err)
	_, err = e.s.AppendAudit(ctx, store.AuditEvent{OrgID: a.ID, ActorID: u.ID, Action: "x"})
	must(t, err)

	noop := func() error { return nil }
	for _, tc := range []struct {
		what string
		err  error
	}{
		{"get user", second(e.s.GetUser(ctx, b.ID, u.ID))},
		{"update user", second(e.s.UpdateUser(ctx, b.ID, u.ID, func(*store.User) error { return noop() }))},
		{"delete user", e.s.DeleteUser(ctx, b.ID, u.ID)},
		{"user by secret of another org", second(e.s.UserBySecretHash(ctx, b.ID, u.SecretHash))},
		{"get API credential", second(e.s.GetAPICredential(ctx, b.ID, cred.ID))},
		{"update API credential", second(e.s.UpdateAPICredential(ctx, b.ID, cred.ID, func(*store.APICredential) error { return noop() }))},
		{"delete API credential", e.s.DeleteAPICredential(ctx, b.ID, cred.ID)},
		{"get app", second(e.s.GetApp(ctx, b.ID, app.ID))},
		{"app by client ID", second(e.s.AppByClientID(ctx, b.ID, app.ClientID))},
		{"update app", second(e.s.UpdateApp(ctx, b.ID, app.ID, func(*store.App) error { return noop() }))},
		{"delete app", e.s.DeleteApp(ctx, b.ID, app.ID)},
		{"get instance", second(e.s.GetInstance(ctx, b.ID, in.ID))},
		{"update instance", second(e.s.UpdateInstance(ctx, b.ID, in.ID, func(*store.Instance) error { return noop() }))},
		{"delete instance", e.s.DeleteInstance(ctx, b.ID, in.ID)},
		{"get credential", second(e.s.GetCredential(ctx, b.ID, c.ID))},
		{"update credential", second(e.s.UpdateCredential(ctx, b.ID, c.ID, func(*store.Credential) error { return noop() }))},
		{"delete credential", e.s.DeleteCredential(ctx, b.ID, c.ID)},
		{"get sync run", second(e.s.GetSyncRun(ctx, b.ID, run.ID))},
		{"update sync run", second(e.s.UpdateSyncRun(ctx, b.ID, run.ID, func(*store.SyncRun) error { return noop() }))},
		{"get checkpoint", second(e.s.GetCheckpoint(ctx, b.ID, in.ID, "users"))},
		{"get record", second(e.s.GetRecord(ctx, b.ID, in.ID, "users", "U1"))},
		{"write records into another org's instance", second(e.s.UpsertRecords(ctx, b.ID, in.ID, "users", "r", []store.Record{{Key: "U1", Data: json.RawMessage(`{"stolen":true}`)}}))},
		{"write a first checkpoint into another org's instance", second(e.s.PutCheckpoint(ctx, store.Checkpoint{OrgID: b.ID, InstanceID: in.ID, Stream: "channels", Cursor: json.RawMessage(`{}`)}))},
		{"create a run on another org's instance", second(e.s.CreateSyncRun(ctx, store.SyncRun{OrgID: b.ID, InstanceID: in.ID}))},
		{"create a state for another org's instance", second(e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: b.ID, InstanceID: in.ID, ExpiresAt: time.Now()}))},
		{"create a credential for another org's instance", second(e.s.CreateCredential(ctx, store.Credential{OrgID: b.ID, Name: "x", InstanceID: in.ID}))},
		{"create an API credential for another org's user", second(e.s.CreateAPICredential(ctx, store.APICredential{OrgID: b.ID, UserID: u.ID, Name: "x", TokenHash: []byte("h2")}))},
	} {
		if !errors.Is(tc.err, store.ErrNotFound) {
			t.Errorf("org B: %s: got %v, want ErrNotFound", tc.what, tc.err)
		}
	}
	_, err = e.s.PutCheckpoint(ctx, store.Checkpoint{OrgID: b.ID, InstanceID: in.ID, Stream: "users", Version: cp.Version, Cursor: json.RawMessage(`{}`)})
	if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("org B: overwrite a checkpoint: got %v, want it refused", err)
	}
	if n, err := e.s.MarkUnseen(ctx, b.ID, in.ID, "users", "r", time.Now()); err != nil || n != 0 {
		t.Errorf("org B: mark A's records unseen: marked %d (%v), want 0", n, err)
	}
	if n, err := e.s.MarkTeamDeleted(ctx, b.ID, in.ID, "T1", time.Now()); err != nil || n != 0 {
		t.Errorf("org B: mark A's records of a workspace: marked %d (%v), want 0", n, err)
	}
	for what, n := range map[string]int{
		"users":           lenOf(e.s.ListUsers(ctx, b.ID, store.Page{})),
		"API credentials": lenOf(e.s.ListAPICredentials(ctx, b.ID, store.Page{})),
		"apps":            lenOf(e.s.ListApps(ctx, b.ID, store.Page{})),
		"instances":       lenOf(e.s.ListInstances(ctx, b.ID, store.InstanceFilter{}, store.Page{})),
		"credentials":     lenOf(e.s.ListCredentials(ctx, b.ID, store.Page{})),
		"sync runs":       lenOf(e.s.ListSyncRuns(ctx, b.ID, in.ID, store.Page{})),
		"records":         lenOf(e.s.ListRecords(ctx, b.ID, in.ID, "users", store.RecordFilter{IncludeDeleted: true}, store.Page{})),
		"audit events":    lenOf(e.s.ListAudit(ctx, b.ID, store.AuditFilter{}, store.Page{})),
	} {
		if n != 0 {
			t.Errorf("org B lists %d of org A's %s", n, what)
		}
	}
	// And A's rows are untouched.
	if got, err := e.s.GetRecord(ctx, a.ID, in.ID, "users", "U1"); err != nil || string(got.Data) == `{"stolen":true}` || got.SeenRunID != run.ID {
		t.Errorf("org A's record after org B's attempts: %+v %v", got, err)
	}
	if _, err := e.s.GetInstance(ctx, a.ID, in.ID); err != nil {
		t.Errorf("org A's instance after org B's attempts: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func lenOf[T any](xs []T, _ string, err error) int {
	if err != nil {
		return -1
	}
	return len(xs)
}

// testSecretsAtRest reads the rows as stored: no secret is there in plain text.
func testSecretsAtRest(t *testing.T, e *env) {
	raw, ok := e.s.(rawDB)
	if !ok {
		t.Skip("the store does not show its raw rows")
	}
	o := e.org(t)
	a := e.app(t, o.ID)
	in := e.instance(t, o.ID, func(in *store.Instance) { in.UserToken = "xoxp-user-secret-" + secrets.Secret(store.NewID("u")) })
	plain := map[string]string{
		"apps.client_secret": a.ClientSecret.Reveal(), "apps.signing_secret": a.SigningSecret.Reveal(),
		"instances.bot_token": in.BotToken.Reveal(), "instances.bot_refresh_token": in.BotRefreshToken.Reveal(), "instances.user_token": in.UserToken.Reveal(),
	}
	for col, secret := range plain {
		table, column, _ := strings.Cut(col, ".")
		var stored []byte
		query := "SELECT " + column + " FROM " + table + " WHERE id = '" + map[string]string{"apps": a.ID, "instances": in.ID}[table] + "'"
		if err := raw.DB().QueryRowContext(ctx, query).Scan(&stored); err != nil {
			t.Fatalf("%s: %v", col, err)
		}
		if len(stored) == 0 || strings.Contains(string(stored), secret) {
			t.Errorf("%s is stored in plain text (or not at all): %q", col, stored)
		}
	}
}

// testSwappedCiphertext copies one row's sealed token into another row: it
// must not open there.
func testSwappedCiphertext(t *testing.T, e *env) {
	raw, ok := e.s.(rawDB)
	if !ok {
		t.Skip("the store does not show its raw rows")
	}
	o := e.org(t)
	victim, thief := e.instance(t, o.ID, nil), e.instance(t, o.ID, nil)
	var sealed []byte
	must(t, raw.DB().QueryRowContext(ctx, "SELECT bot_token FROM instances WHERE id = '"+victim.ID+"'").Scan(&sealed))
	update := "UPDATE instances SET bot_token = $1 WHERE id = $2"
	if e.s.Backend() == "sqlite" {
		update = "UPDATE instances SET bot_token = ? WHERE id = ?"
	}
	_, err := raw.DB().ExecContext(ctx, update, sealed, thief.ID)
	must(t, err)
	_, err = e.s.GetInstance(ctx, o.ID, thief.ID)
	wantErr(t, "a token moved to another row", err, secrets.ErrDecrypt)
	// Another column of the same row refuses it too.
	_, err = raw.DB().ExecContext(ctx, strings.Replace(update, "bot_token", "user_token", 1), sealed, victim.ID)
	must(t, err)
	_, err = e.s.GetInstance(ctx, o.ID, victim.ID)
	wantErr(t, "a token moved to another column", err, secrets.ErrDecrypt)
}

func testKeys(t *testing.T, b Backend) {
	old := newKeys(t, 1)
	k1 := ring(t, old...)
	s, reopen := b.New(t, k1)
	must(t, s.CheckKeys(ctx))
	must(t, s.CheckKeys(ctx)) // the canary opens on a later start
	o, err := s.CreateOrganization(ctx, store.Organization{Name: "keys"})
	must(t, err)
	a, err := s.CreateApp(ctx, store.App{OrgID: o.ID, Name: "app", ClientID: "1.2", ClientSecret: "secret-one", SigningSecret: "sign-one"})
	must(t, err)
	in, err := s.CreateInstance(ctx, store.Instance{OrgID: o.ID, Connector: "slack", AppID: a.ID, Name: "i", BotToken: "xoxb-one", BotRefreshToken: "xoxe-1-one"})
	must(t, err)

	counts, err := s.SealedKeyCounts(ctx)
	must(t, err)
	if len(counts) != 1 || counts[old[0].ID] < 5 { // key check, client secret, signing secret, bot token, bot refresh token
		t.Errorf("SealedKeyCounts before rotation: %v, want at least 5 secrets, all of key %s", counts, old[0].ID)
	}
	before := counts[old[0].ID]

	// Wrong keys stop at the check, before anything is read.
	wrong := reopen(Keys(t, 1))
	if err := wrong.CheckKeys(ctx); err == nil {
		t.Fatal("CheckKeys passed with a key the database was not written with")
	}
	if _, err := wrong.GetApp(ctx, o.ID, a.ID); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("reading with the wrong keys: got %v, want ErrUnknownKey (never garbage)", err)
	}

	// Rotation: a new key is added as the newest; Reseal moves every secret to it.
	newer, err := secrets.GenerateKey(time.Now().Add(time.Hour))
	must(t, err)
	rotated := reopen(ring(t, old[0], newer))
	must(t, rotated.CheckKeys(ctx))
	n, err := rotated.Reseal(ctx)
	must(t, err)
	if n < 5 { // key check, client secret, signing secret, bot token, bot refresh token
		t.Errorf("Reseal resealed %d secrets, want at least 5", n)
	}
	if n, err := rotated.Reseal(ctx); err != nil || n != 0 {
		t.Errorf("a second Reseal resealed %d (%v), want 0", n, err)
	}
	if counts, err := rotated.SealedKeyCounts(ctx); err != nil || len(counts) != 1 || counts[newer.ID] != before {
		t.Errorf("SealedKeyCounts after Reseal: %v (%v), want %d secrets, all of key %s", counts, err, before, newer.ID)
	}
	fresh := reopen(ring(t, newer))
	must(t, fresh.CheckKeys(ctx))
	got, err := fresh.GetInstance(ctx, o.ID, in.ID)
	must(t, err)
	gotApp, err := fresh.GetApp(ctx, o.ID, a.ID)
	must(t, err)
	if got.BotToken != "xoxb-one" || got.BotRefreshToken != "xoxe-1-one" || gotApp.ClientSecret != "secret-one" {
		t.Errorf("after rotation with the old key gone: bot %q app secret %q", got.BotToken.Reveal(), gotApp.ClientSecret.Reveal())
	}
	if err := reopen(k1).CheckKeys(ctx); err == nil {
		t.Error("after rotation the old key alone still opens the database")
	}
}

// testReplicas: heartbeats are upserted, listed by how recent they are, and
// pruned.
func testReplicas(t *testing.T, b Backend) {
	s, _ := b.New(t, Keys(t, 1))
	t0 := time.UnixMilli(time.Now().UnixMilli()).UTC()
	r1 := store.Replica{ID: "r1", KeyIDs: []string{"k1", "k2"}, PrimaryKey: "k1", SeenAt: t0}
	r2 := store.Replica{ID: "r2", KeyIDs: []string{"k1"}, PrimaryKey: "k1", SeenAt: t0.Add(-time.Minute)}
	must(t, s.PutReplica(ctx, r1))
	must(t, s.PutReplica(ctx, r2))
	got, err := s.ListReplicas(ctx, t0.Add(-30*time.Second))
	must(t, err)
	if len(got) != 1 || got[0].ID != "r1" || !slices.Equal(got[0].KeyIDs, r1.KeyIDs) || got[0].PrimaryKey != "k1" || !got[0].SeenAt.Equal(t0) {
		t.Errorf("replicas seen in the last 30s: got %+v, want only %+v", got, r1)
	}
	// A later heartbeat replaces the row.
	r1.KeyIDs, r1.PrimaryKey, r1.SeenAt = []string{"k1", "k2", "k3"}, "k2", t0.Add(5*time.Second)
	must(t, s.PutReplica(ctx, r1))
	got, err = s.ListReplicas(ctx, time.Time{})
	must(t, err)
	if len(got) != 2 || got[0].ID != "r1" || got[1].ID != "r2" || !slices.Equal(got[0].KeyIDs, r1.KeyIDs) || got[0].PrimaryKey != "k2" || !got[0].SeenAt.Equal(r1.SeenAt) {
		t.Errorf("all replicas after a second heartbeat of r1: got %+v", got)
	}
	if n, err := s.DeleteReplicas(ctx, "", t0.Add(-30*time.Second)); err != nil || n != 1 {
		t.Errorf("pruning replicas older than 30s: removed %d (%v), want 1", n, err)
	}
	if n, err := s.DeleteReplicas(ctx, "r1", time.Time{}); err != nil || n != 1 {
		t.Errorf("removing r1: removed %d (%v), want 1", n, err)
	}
	if n, err := s.DeleteReplicas(ctx, "r1", time.Time{}); err != nil || n != 0 {
		t.Errorf("removing r1 again: removed %d (%v), want 0 and no error", n, err)
	}
	if got, err := s.ListReplicas(ctx, time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("after removing both: %+v, %v", got, err)
	}
}

func testMigrations(t *testing.T, b Backend) {
	s, reopen := b.New(t, Keys(t, 1))
	applied, latest, err := s.MigrationVersion(ctx)
	must(t, err)
	if applied != latest || latest < 1 {
		t.Errorf("after migrating: applied %d, latest %d", applied, latest)
	}
	must(t, s.Migrate(ctx)) // again: nothing to do
	// Replicas that start together migrate once, without error.
	var wg sync.WaitGroup
	for range 3 {
		r := reopen(Keys(t, 1))
		wg.Go(func() {
			if err := r.Migrate(ctx); err != nil {
				t.Errorf("concurrent migrate: %v", err)
			}
		})
	}
	wg.Wait()
}

// testUnfinishedRunsMigration: a database where an instance has several
// unfinished runs (made before the rule) migrates: the newest stays, the
// others are marked failed saying why, and the rule holds from then on.
func testUnfinishedRunsMigration(t *testing.T, b Backend) {
	s, _ := b.New(t, Keys(t, 1))
	raw, ok := s.(rawDB)
	if !ok {
		t.Skip("the backend has no SQL database to set up")
	}
	// The database as it was before migration 9 (and the ones after it).
	for _, q := range []string{`CREATE INDEX IF NOT EXISTS records_seen ON records (instance_id, stream, seen_run_id)`, `DROP TABLE provisioning_outcomes`, `DROP TABLE provisioning_runs`, `DROP TABLE provisioning_plans`,
		`DROP TABLE webhook_deliveries`, `DROP TABLE webhooks`, `DROP TABLE slack_event_instances`, `DROP TABLE slack_events`,
		`DROP INDEX apps_slack_app_id`, `ALTER TABLE apps DROP COLUMN slack_app_id`,
		`DROP INDEX sync_runs_unfinished`, `DROP TABLE pacer_lanes`, `DELETE FROM goose_db_version WHERE version_id >= 9`} {
		if _, err := raw.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{s: s}
	o := e.org(t)
	in := e.instance(t, o.ID, nil)
	var runs []store.SyncRun
	for _, status := range []string{store.RunRunning, store.RunInterrupted, store.RunQueued} {
		r, err := s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Status: status, LeaseOwner: "replica-1"})
		must(t, err)
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b store.SyncRun) int { return strings.Compare(a.ID, b.ID) })
	done, err := s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual", Status: store.RunSucceeded})
	must(t, err)
	other := e.instance(t, o.ID, nil)
	alone, err := s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: other.ID, Trigger: "manual", Status: store.RunRunning})
	must(t, err)

	must(t, s.Migrate(ctx))
	newest := runs[len(runs)-1]
	for _, r := range append(runs, done, alone) {
		got, err := s.GetSyncRun(ctx, o.ID, r.ID)
		must(t, err)
		switch r.ID {
		case newest.ID, done.ID, alone.ID:
			if got.Status != r.Status || got.Version != r.Version {
				t.Errorf("run %s (%s) became %s v%d; want it left alone", r.ID, r.Status, got.Status, got.Version)
			}
		default:
			if got.Status != store.RunFailed || !strings.Contains(got.Error, "another run of the instance") || got.LeaseOwner != "" ||
				got.FinishedAt.IsZero() || got.Version != r.Version+1 {
				t.Errorf("an older unfinished run after the migration: %s %q, owner %q, finished %s, v%d; want failed saying why, no owner",
					got.Status, got.Error, got.LeaseOwner, got.FinishedAt, got.Version)
			}
		}
	}
	_, err = s.CreateSyncRun(ctx, store.SyncRun{OrgID: o.ID, InstanceID: in.ID, Trigger: "manual"})
	wantErr(t, "a second unfinished run after the migration", err, store.ErrAlreadyExists)
}

func testInstallationSecret(t *testing.T, e *env) {
	name := "state-key-" + store.NewID("x")
	calls := 0
	gen := func() (secrets.Secret, error) {
		calls++
		return secrets.Secret(store.NewID("v")), nil
	}
	first, err := e.s.InstallationSecret(ctx, name, gen)
	must(t, err)
	again, err := e.s.InstallationSecret(ctx, name, gen)
	must(t, err)
	if first.IsZero() || again != first || calls != 1 {
		t.Errorf("got %q then %q with %d generations; want one value, generated once", first.Reveal(), again.Reveal(), calls)
	}
	other, err := e.s.InstallationSecret(ctx, name+"-other", gen)
	must(t, err)
	if other == first {
		t.Error("two names share a secret")
	}
	// Replicas racing on the first use all end with the same value.
	race := "race-" + store.NewID("x")
	var mu sync.Mutex
	seen := map[secrets.Secret]bool{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			v, err := e.s.InstallationSecret(ctx, race, func() (secrets.Secret, error) { return secrets.Secret(store.NewID("r")), nil })
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[v] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Errorf("racing first uses saw %d values, want 1", len(seen))
	}
}

func testExpiringInstances(t *testing.T, e *env) {
	o := e.org(t)
	now := time.Now()
	soon := e.instance(t, o.ID, func(in *store.Instance) { in.BotTokenExpiresAt = now.Add(time.Minute) })
	sooner := e.instance(t, o.ID, func(in *store.Instance) {
		in.BotToken, in.BotRefreshToken = "", ""
		in.UserToken, in.UserRefreshToken, in.UserTokenExpiresAt = "xoxp-u", "xoxe-1-u", now.Add(30*time.Second)
	})
	e.instance(t, o.ID, func(in *store.Instance) { in.BotTokenExpiresAt = now.Add(time.Hour) })                           // later
	e.instance(t, o.ID, func(in *store.Instance) { in.BotTokenExpiresAt, in.BotRefreshToken = now.Add(time.Minute), "" }) // cannot refresh
	e.instance(t, o.ID, func(in *store.Instance) {
		in.BotTokenExpiresAt, in.Status = now.Add(time.Minute), store.StatusNeedsReauth
	}) // not active
	refs, err := e.s.ExpiringInstances(ctx, now.Add(5*time.Minute), 1000)
	must(t, err)
	var mine []string
	for _, r := range refs {
		if r.OrgID == o.ID {
			mine = append(mine, r.ID)
		}
	}
	if !slices.Equal(mine, []string{sooner.ID, soon.ID}) {
		t.Errorf("expiring instances: got %v, want [%s %s] (soonest first)", mine, sooner.ID, soon.ID)
	}
}

// testExpiredInstalls: pending instances that no state can complete any more
// are listed once every state of theirs has expired, and only then.
func testExpiredInstalls(t *testing.T, e *env) {
	o := e.org(t)
	now := time.Now()
	pending := func(expiries ...time.Duration) store.Instance {
		in := e.instance(t, o.ID, func(in *store.Instance) {
			in.Status, in.BotToken, in.BotRefreshToken = store.StatusPending, "", ""
		})
		for _, d := range expiries {
			_, err := e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, InstanceID: in.ID, ExpiresAt: now.Add(d)})
			must(t, err)
		}
		return in
	}
	one := pending(10 * time.Minute)
	two := pending(5*time.Minute, 20*time.Minute) // re-authenticated: a second link
	none := pending()                             // its link was never stored
	used := pending()
	st, err := e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, InstanceID: used.ID, ExpiresAt: now.Add(10 * time.Minute)})
	must(t, err)
	_, err = e.s.ConsumeOAuthState(ctx, st.ID, now) // a callback in flight
	must(t, err)
	active := e.instance(t, o.ID, nil)
	_, err = e.s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, InstanceID: active.ID, ExpiresAt: now.Add(-time.Hour)})
	must(t, err)

	expired := func(at time.Time) []string {
		refs, err := e.s.ExpiredInstalls(ctx, at, 1000)
		must(t, err)
		var mine []string
		for _, r := range refs {
			if r.OrgID == o.ID {
				mine = append(mine, r.ID)
			}
		}
		slices.Sort(mine)
		return mine
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tc := range []struct {
		at   time.Duration
		want []string
	}{
		{time.Minute, []string{none.ID}},
		{10 * time.Minute, []string{one.ID, none.ID, used.ID}}, // a state expiring at t is expired at t
		{15 * time.Minute, []string{one.ID, none.ID, used.ID}},
		{21 * time.Minute, []string{one.ID, two.ID, none.ID, used.ID}},
	} {
		if got, want := expired(now.Add(tc.at)), sorted(tc.want...); !slices.Equal(got, want) {
			t.Errorf("expired installs at now+%s: got %v, want %v", tc.at, got, want)
		}
	}
	if got := expired(now.Add(-time.Hour)); len(got) != 0 {
		t.Errorf("expired installs before any was created: got %v", got)
	}
	refs, err := e.s.ExpiredInstalls(ctx, now.Add(21*time.Minute), 1)
	must(t, err)
	if len(refs) != 1 {
		t.Errorf("limit 1: got %d", len(refs))
	}
}
