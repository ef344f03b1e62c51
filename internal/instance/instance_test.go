package instance_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
	"github.com/connhub/connhub/internal/tenant"
)

var ctx = context.Background()

const callback = "http://127.0.0.1:9/v1/oauth/slack/callback"

// env is one hub (or several replicas of one) in front of one sandbox.
type env struct {
	sandbox *slacksim.Server
	slack   string
	info    slacksim.Info
	store   store.Store
	svc     *instance.Service
	admin   tenant.Principal
	offset  atomic.Int64 // the hub's clock runs ahead of the real one by this
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

// advance moves both clocks: the sandbox's (tokens expire there) and the hub's.
func (e *env) advance(d time.Duration) {
	e.sandbox.AdvanceClock(d)
	e.offset.Add(int64(d))
}

func setup(t *testing.T, cfg slacksim.Config) *env {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connhub.db"), storetest.Keys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	return setupOn(t, cfg, s)
}

// setupOn is setup on a store of the caller's choosing, which it migrates
// and closes at the end of the test.
func setupOn(t *testing.T, cfg slacksim.Config, s store.Store) *env {
	t.Helper()
	t.Cleanup(func() { s.Close() })
	if cfg.Users == 0 {
		cfg.Users = 60
	}
	e := &env{}
	e.sandbox, e.slack = sandboxtest.Start(t, cfg)
	e.info = e.sandbox.Info(e.slack)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e.store = s
	e.svc = e.service(t, s)
	e.admin = e.principal(t, store.RoleAdmin)
	if _, err := e.svc.EnsureApp(ctx, e.admin.Org.ID, instance.AppInput{Name: "sandbox app", ClientID: e.info.ClientID,
		ClientSecret: secrets.Secret(e.info.ClientSecret), SigningSecret: secrets.Secret(e.info.SigningSecret)}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) service(t *testing.T, s store.Store) *instance.Service {
	t.Helper()
	svc, err := instance.New(ctx, instance.Options{Store: s, Slack: slack.New(e.slack, &http.Client{Timeout: 10 * time.Second}), CallbackURL: callback, Now: e.now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// principal makes an organization with one user of the role, as the
// middleware would hand them over.
func (e *env) principal(t *testing.T, role string) tenant.Principal {
	t.Helper()
	userSecret, orgSecret := "chus_"+store.NewID("u"), "chos_"+store.NewID("o")
	o, err := e.store.CreateOrganization(ctx, store.Organization{Name: t.Name(), SecretHash: secrets.HashToken(orgSecret), Secret: secrets.Secret(orgSecret)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.store.CreateUser(ctx, store.User{OrgID: o.ID, Email: role + "@example.com", Role: role, SecretHash: secrets.HashToken(userSecret), Secret: secrets.Secret(userSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return tenant.Principal{Org: o, User: u, Via: "api_token"}
}

// install creates an instance and consents to it at the sandbox.
func (e *env) install(t *testing.T, in instance.CreateInput, extra url.Values) store.Instance {
	t.Helper()
	if in.Name == "" {
		in.Name = "Acme"
	}
	c, err := e.svc.Create(ctx, e.admin, in)
	if err != nil {
		t.Fatal(err)
	}
	loc := sandboxtest.Consent(t, c.AuthorizeURL, "allow", extra)
	res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
	if err != nil || !res.OK {
		t.Fatalf("callback: %+v %v", res, err)
	}
	return res.Instance
}

func wantProblem(t *testing.T, err error, status int, code string) {
	t.Helper()
	var p *apierror.Problem
	if !errors.As(err, &p) || p.Status != status || p.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
}

func TestInstallActivatesTheInstance(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	c, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "Acme Slack", Tags: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance.Status != store.StatusPending || !strings.HasPrefix(c.InstanceToken.Reveal(), "chi_") || c.ExpiresAt.Sub(time.Now()) > instance.StateTTL+time.Second {
		t.Fatalf("created %+v", c)
	}
	u, _ := url.Parse(c.AuthorizeURL)
	q := u.Query()
	if q.Get("client_id") != e.info.ClientID || q.Get("redirect_uri") != callback || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "users:read") {
		t.Errorf("authorize URL %s lacks the app, redirect, PKCE or scopes", c.AuthorizeURL)
	}
	loc := sandboxtest.Consent(t, c.AuthorizeURL, "allow", nil)
	res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
	if err != nil || !res.OK {
		t.Fatalf("callback: %+v %v", res, err)
	}
	in := res.Instance
	if in.Status != store.StatusActive || in.TeamID != e.info.TeamID || in.BotToken.IsZero() || in.BotRefreshToken.IsZero() || in.UserToken.IsZero() || in.BotTokenExpiresAt.IsZero() {
		t.Errorf("after the callback: %+v", in)
	}
	ping, err := e.svc.Ping(ctx, e.admin, in.ID)
	if err != nil || !ping.OK || ping.TeamID != e.info.TeamID || ping.TokenKind != "bot" || len(ping.Scopes) == 0 || len(ping.MissingBotScopes) != 0 {
		t.Errorf("ping: %+v %v", ping, err)
	}
	// The instance token authenticates for the instance.
	p, err := (&tenant.Authenticator{Store: e.store}).Authenticate(ctx, "Bearer "+c.InstanceToken.Reveal())
	if err != nil || p.Instance == nil || p.Instance.ID != in.ID {
		t.Errorf("the instance token: %+v %v", p, err)
	}
	events, _, _ := e.store.ListAudit(ctx, e.admin.Org.ID, store.AuditFilter{}, store.Page{})
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, ","); !strings.Contains(got, "instance.create") || !strings.Contains(got, "instance.activate") {
		t.Errorf("audit log: %s", got)
	}
}

func TestInstallFailures(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	start := func() (instance.Created, *url.URL) {
		c, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return c, sandboxtest.Consent(t, c.AuthorizeURL, "allow", nil)
	}
	status := func(id string) store.Instance {
		in, err := e.store.GetInstance(ctx, e.admin.Org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}

	t.Run("denied", func(t *testing.T) {
		c, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		loc := sandboxtest.Consent(t, c.AuthorizeURL, "cancel", nil)
		res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Error: loc.Query().Get("error")})
		if err != nil || res.OK || res.Code != "access_denied" || status(c.Instance.ID).Status != store.StatusFailed {
			t.Errorf("got %+v %v; want access_denied and a failed instance", res, err)
		}
	})
	t.Run("tampered state", func(t *testing.T) {
		c, loc := start()
		state := loc.Query().Get("state")
		res, err := e.svc.Callback(ctx, instance.CallbackInput{State: state[:len(state)-2] + "xx", Code: loc.Query().Get("code")})
		if err != nil || res.OK || res.Code != "invalid_state" || status(c.Instance.ID).Status != store.StatusPending {
			t.Errorf("got %+v %v; want invalid_state and the instance untouched", res, err)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		for _, st := range []string{"", "nonsense", "st_nope.AAAA"} {
			res, err := e.svc.Callback(ctx, instance.CallbackInput{State: st, Code: "x"})
			if err != nil || res.OK || res.Code != "invalid_state" {
				t.Errorf("state %q: got %+v %v", st, res, err)
			}
		}
	})
	t.Run("replayed state", func(t *testing.T) {
		c, loc := start()
		in := instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")}
		if res, err := e.svc.Callback(ctx, in); err != nil || !res.OK {
			t.Fatalf("first callback: %+v %v", res, err)
		}
		res, err := e.svc.Callback(ctx, in)
		if err != nil || res.OK || res.Code != "state_expired" || status(c.Instance.ID).Status != store.StatusActive {
			t.Errorf("replay: got %+v %v; want state_expired (used or expired) and the instance still active", res, err)
		}
	})
	t.Run("bad code", func(t *testing.T) {
		c, loc := start()
		res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: "123.456.nope"})
		if in := status(c.Instance.ID); err != nil || res.OK || res.Code != "invalid_code" || in.Status != store.StatusFailed || !strings.Contains(in.StatusReason, "invalid_code") {
			t.Errorf("got %+v %v; want invalid_code and a failed instance with the reason", res, err)
		}
	})
	t.Run("expired state", func(t *testing.T) {
		e := setup(t, slacksim.Config{})
		c, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		loc := sandboxtest.Consent(t, c.AuthorizeURL, "allow", nil)
		e.offset.Add(int64(instance.StateTTL + time.Second))
		res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
		if err != nil || res.OK || res.Code != "state_expired" {
			t.Errorf("got %+v %v; want state_expired", res, err)
		}
	})
}

func TestOtherWaysIn(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	noRotation := false
	pasted, err := e.sandbox.IssueToken(slacksim.TokenRequest{Scopes: []string{"users:read", "team:read"}, Rotation: &noRotation})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.CreateFromToken(ctx, e.admin, instance.TokenInput{Name: "pasted", Token: secrets.Secret(pasted.AccessToken)})
	if err != nil || c.Instance.Status != store.StatusActive || c.Instance.AuthMethod != store.AuthToken || c.Instance.TeamID != e.info.TeamID {
		t.Fatalf("pasted token: %+v %v", c.Instance, err)
	}
	if _, err := e.svc.Ping(ctx, e.admin, c.Instance.ID); err != nil {
		t.Errorf("ping a pasted token: %v", err)
	}
	_, err = e.svc.CreateFromToken(ctx, e.admin, instance.TokenInput{Name: "garbage", Token: "xoxb-not-a-token"})
	wantProblem(t, err, http.StatusBadRequest, "slack_invalid_auth")

	rotating, err := e.sandbox.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := e.svc.ImportRefreshToken(ctx, e.admin, instance.ImportInput{Name: "imported", ClientID: e.info.ClientID,
		ClientSecret: secrets.Secret(e.info.ClientSecret), RefreshToken: secrets.Secret(rotating.RefreshToken)})
	if err != nil || imp.Instance.Status != store.StatusActive || imp.Instance.UserToken.IsZero() || imp.Instance.UserRefreshToken.Reveal() == rotating.RefreshToken {
		t.Fatalf("imported refresh token: %+v %v", imp.Instance, err)
	}
	// The refresh token was spent by the import: a second import fails.
	_, err = e.svc.ImportRefreshToken(ctx, e.admin, instance.ImportInput{Name: "again", ClientID: e.info.ClientID,
		ClientSecret: secrets.Secret(e.info.ClientSecret), RefreshToken: secrets.Secret(rotating.RefreshToken)})
	wantProblem(t, err, http.StatusBadRequest, "slack_invalid_refresh_token")
}

func TestEnterpriseGridOrgWideInstall(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Workspaces: 3, TokenRotation: true})
	teams := e.sandbox.Summary().Teams
	in := e.install(t, instance.CreateInput{Edition: "enterprise_grid", Team: e.info.EnterpriseID},
		url.Values{"install_into": {e.info.EnterpriseID}, "org_team": {teams[0].ID, teams[1].ID}})
	if !in.OrgWide || in.EnterpriseID != e.info.EnterpriseID || in.TeamID != "" || len(in.Teams) != 2 {
		t.Errorf("org-wide install: org_wide %v enterprise %s team %q teams %v", in.OrgWide, in.EnterpriseID, in.TeamID, in.Teams)
	}
	if ping, err := e.svc.Ping(ctx, e.admin, in.ID); err != nil || ping.EnterpriseID != e.info.EnterpriseID {
		t.Errorf("ping an org-wide install: %+v %v", ping, err)
	}
}

func TestTokensAreRefreshedBeforeTheyExpire(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true, TokenTTL: time.Hour})
	in := e.install(t, instance.CreateInput{}, nil)
	e.advance(56 * time.Minute) // inside the five-minute margin
	if _, err := e.svc.Ping(ctx, e.admin, in.ID); err != nil {
		t.Fatal(err)
	}
	after, _ := e.store.GetInstance(ctx, e.admin.Org.ID, in.ID)
	if st := e.sandbox.Stats(); st.Refreshes != 1 || after.TokenVersion != in.TokenVersion+1 || after.BotToken == in.BotToken || after.BotRefreshToken == in.BotRefreshToken {
		t.Errorf("got %d refreshes and token version %d (was %d); want one refresh with new tokens", st.Refreshes, after.TokenVersion, in.TokenVersion)
	}
	if _, err := e.svc.Ping(ctx, e.admin, in.ID); err != nil || e.sandbox.Stats().Refreshes != 1 {
		t.Errorf("a second ping refreshed again (%d refreshes, %v)", e.sandbox.Stats().Refreshes, err)
	}
	// The background refresher renews idle instances the same way: the bot
	// token and the user token are both due by now, each refreshed once.
	e.advance(58 * time.Minute)
	n, err := e.svc.RefreshDue(ctx)
	if err != nil || n != 2 || e.sandbox.Stats().Refreshes != 3 {
		t.Errorf("RefreshDue renewed %d (%v), sandbox saw %d refreshes; want 2 and 3", n, err, e.sandbox.Stats().Refreshes)
	}
	if n, _ := e.svc.RefreshDue(ctx); n != 0 {
		t.Errorf("a second RefreshDue renewed %d, want 0", n)
	}
}

func TestTokenExpiredAtSlackIsRefreshedOnceAndRetried(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true, TokenTTL: time.Hour})
	in := e.install(t, instance.CreateInput{}, nil)
	e.sandbox.AdvanceClock(2 * time.Hour) // Slack's clock only: connhub thinks the token is fresh
	ping, err := e.svc.Ping(ctx, e.admin, in.ID)
	if err != nil || !ping.OK || e.sandbox.Stats().Refreshes != 1 {
		t.Errorf("got %+v %v and %d refreshes; want a refresh and a successful retry", ping, err, e.sandbox.Stats().Refreshes)
	}
}

func TestAFailedRefreshNeedsReauthentication(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true, TokenTTL: time.Hour})
	in := e.install(t, instance.CreateInput{}, nil)
	// Someone else spends the refresh token: connhub's copy is now dead.
	c := slack.New(e.slack, nil)
	if _, err := c.Refresh(ctx, e.info.ClientID, secrets.Secret(e.info.ClientSecret), in.BotRefreshToken); err != nil {
		t.Fatal(err)
	}
	e.advance(2 * time.Hour)
	_, err := e.svc.Ping(ctx, e.admin, in.ID)
	wantProblem(t, err, http.StatusConflict, "needs_reauth")
	got, _ := e.store.GetInstance(ctx, e.admin.Org.ID, in.ID)
	if got.Status != store.StatusNeedsReauth || !strings.Contains(got.StatusReason, "invalid_refresh_token") || got.RefreshLeaseOwner != "" {
		t.Errorf("after a failed refresh: status %s reason %q lease %q", got.Status, got.StatusReason, got.RefreshLeaseOwner)
	}
	// Re-authenticating brings it back, with the same ID and instance token.
	r, err := e.svc.Reauthenticate(ctx, e.admin, in.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	loc := sandboxtest.Consent(t, r.AuthorizeURL, "allow", nil)
	res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
	if err != nil || !res.OK || res.Instance.ID != in.ID || string(res.Instance.InstanceTokenHash) != string(in.InstanceTokenHash) || res.Instance.Status != store.StatusActive {
		t.Errorf("re-authenticated: %+v %v", res, err)
	}
}

func TestARevokedTokenIsMarked(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	in := e.install(t, instance.CreateInput{}, nil)
	if err := slack.New(e.slack, nil).Revoke(ctx, in.BotToken); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Ping(ctx, e.admin, in.ID)
	wantProblem(t, err, http.StatusBadRequest, "slack_token_revoked")
	if got, _ := e.store.GetInstance(ctx, e.admin.Org.ID, in.ID); got.Status != store.StatusRevoked {
		t.Errorf("status %s, want revoked", got.Status)
	}
}

// TestConcurrentCallersRefreshOnce: 500 pings of an expired token cause one
// refresh at Slack.
func TestConcurrentCallersRefreshOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true, TokenTTL: time.Hour})
	in := e.install(t, instance.CreateInput{}, nil)
	e.advance(2 * time.Hour)
	pingMany(t, []*instance.Service{e.svc}, e.admin, in.ID, 500)
	if st := e.sandbox.Stats(); st.Refreshes != 1 {
		t.Errorf("500 concurrent pings after expiry caused %d refreshes, want 1", st.Refreshes)
	}
}

// TestReplicasRefreshOnce: two hubs on one PostgreSQL, 500 pings between
// them, one refresh at Slack.
func TestReplicasRefreshOnce(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDatabase(t)
	e := &env{}
	e.sandbox, e.slack = sandboxtest.Start(t, slacksim.Config{Users: 60, TokenRotation: true, TokenTTL: time.Hour})
	e.info = e.sandbox.Info(e.slack)
	keys := storetest.Keys(t, 1)
	var replicas []*instance.Service
	for i := range 2 {
		s, err := postgres.Open(ctx, dsn, keys)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.store = s
		}
		replicas = append(replicas, e.service(t, s))
	}
	e.svc = replicas[0]
	e.admin = e.principal(t, store.RoleAdmin)
	if _, err := e.svc.EnsureApp(ctx, e.admin.Org.ID, instance.AppInput{ClientID: e.info.ClientID, ClientSecret: secrets.Secret(e.info.ClientSecret)}); err != nil {
		t.Fatal(err)
	}
	in := e.install(t, instance.CreateInput{}, nil)
	e.advance(2 * time.Hour)
	pingMany(t, replicas, e.admin, in.ID, 500)
	if st := e.sandbox.Stats(); st.Refreshes != 1 {
		t.Errorf("500 pings on two replicas after expiry caused %d refreshes, want 1", st.Refreshes)
	}
}

func pingMany(t *testing.T, replicas []*instance.Service, p tenant.Principal, id string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		svc := replicas[i%len(replicas)]
		wg.Go(func() {
			if _, err := svc.Ping(ctx, p, id); err != nil {
				if failed.Add(1) == 1 {
					t.Errorf("ping: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Errorf("%d of %d pings failed", f, n)
	}
}

func TestDeleteRevokesAtSlack(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	in := e.install(t, instance.CreateInput{}, nil)
	if _, err := e.svc.Delete(ctx, e.admin, in.ID, instance.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := e.sandbox.Stats(); st.Revocations != 2 {
		t.Errorf("revocations at Slack: %d, want 2 (bot and user)", st.Revocations)
	}
	if _, err := slack.New(e.slack, nil).AuthTest(ctx, in.BotToken); !slack.IsTokenDead(err) {
		t.Errorf("the bot token after delete: %v, want it dead", err)
	}
	_, err := e.svc.Delete(ctx, e.admin, in.ID, instance.DeleteOptions{})
	wantProblem(t, err, http.StatusNotFound, "not_found")

	// Slack down: the instance stays, unless forced.
	in = e.install(t, instance.CreateInput{}, nil)
	resp, err := http.Post(e.slack+"/_sandbox/faults", "application/json", strings.NewReader(`{"method":"auth.revoke","status":503}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = e.svc.Delete(ctx, e.admin, in.ID, instance.DeleteOptions{})
	wantProblem(t, err, http.StatusBadGateway, "revoke_failed")
	if _, err := e.store.GetInstance(ctx, e.admin.Org.ID, in.ID); err != nil {
		t.Errorf("the instance is gone after a failed revoke: %v", err)
	}
	if _, err := e.svc.Delete(ctx, e.admin, in.ID, instance.DeleteOptions{Force: true}); err != nil {
		t.Errorf("forced delete: %v", err)
	}
}

func TestUpdateTokenAndCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	in := e.install(t, instance.CreateInput{Tags: []string{"a"}}, nil)
	name := "Renamed"
	tags := []string{"b", "c"}
	up, err := e.svc.Update(ctx, e.admin, in.ID, instance.Patch{Name: &name, Tags: &tags, Settings: map[string]any{"page_size": 200}})
	if err != nil || up.Name != name || len(up.Tags) != 2 || up.Settings["page_size"] == nil || up.BotToken != in.BotToken || up.TokenVersion != in.TokenVersion {
		t.Errorf("update: %+v %v; want new name, tags, settings and the same tokens", up, err)
	}
	empty := " "
	_, err = e.svc.Update(ctx, e.admin, in.ID, instance.Patch{Name: &empty})
	wantProblem(t, err, http.StatusBadRequest, "invalid_instance")

	old, err := e.svc.Token(ctx, e.admin, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := e.svc.RotateToken(ctx, e.admin, in.ID)
	if err != nil || fresh == old {
		t.Fatalf("rotate: %v", err)
	}
	auth := &tenant.Authenticator{Store: e.store}
	if _, err := auth.Authenticate(ctx, "Bearer "+old.Reveal()); err == nil {
		t.Error("the old instance token still authenticates after rotation")
	}
	if _, err := auth.Authenticate(ctx, "Bearer "+fresh.Reveal()); err != nil {
		t.Errorf("the new instance token: %v", err)
	}

	creds, err := e.svc.Credentials(ctx, e.admin, in.ID)
	if err != nil || creds.Bearer.Reveal() != "Bearer "+fresh.Reveal() {
		t.Fatalf("the instance's Authorization header: %v", err)
	}
	named, err := e.svc.CreateCredential(ctx, e.admin, "cpi-slack", in.ID, "", "for Cloud Integration")
	if err != nil {
		t.Fatal(err)
	}
	// The value holds the credential's own identity, never the admin's secret.
	admin, _ := e.store.GetUser(ctx, e.admin.Org.ID, e.admin.User.ID)
	if v := named.Value.Reveal(); admin.Secret.IsZero() || strings.Contains(v, admin.Secret.Reveal()) || !strings.HasPrefix(v, "User chus_") {
		t.Errorf("the named credential's value %q holds the admin's own secret, or is not of the Open Connectors form", named.Hint)
	}
	p, err := auth.Authenticate(ctx, named.Value.Reveal())
	if err != nil || p.Instance == nil || p.Instance.ID != in.ID || p.User.ID == e.admin.User.ID || p.User.Role != store.RoleService {
		t.Errorf("the named credential authenticates as %+v (%v); want its own service identity, bound to the instance", p.User, err)
	}
	got, err := e.svc.GetCredential(ctx, e.admin, "cpi-slack")
	if err != nil || got.ID != named.ID || got.Hint == "" || strings.Contains(got.Hint, named.Value.Reveal()) {
		t.Errorf("fetch by name: %+v %v", got.Hint, err)
	}
	shown, err := e.svc.RevealCredential(ctx, e.admin, "cpi-slack")
	if err != nil || shown.Value != named.Value {
		t.Errorf("reveal: %v", err)
	}
	rotated, err := e.svc.RotateCredential(ctx, e.admin, named.ID)
	if err != nil || rotated.Value == named.Value {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := auth.Authenticate(ctx, named.Value.Reveal()); err == nil {
		t.Error("the rotated credential's old value still authenticates")
	}
	if _, err := auth.Authenticate(ctx, rotated.Value.Reveal()); err != nil {
		t.Errorf("the rotated credential's new value: %v", err)
	}
	bearer, err := e.svc.CreateCredential(ctx, e.admin, "flow", in.ID, instance.CredentialBearer, "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := auth.Authenticate(ctx, bearer.Value.Reveal()); err != nil || p.Instance == nil || p.Instance.ID != in.ID || p.User.Role != store.RoleService {
		t.Errorf("the bearer credential authenticates as %+v (%v)", p.User, err)
	}
	if err := e.svc.DeleteCredential(ctx, e.admin, "flow"); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(ctx, bearer.Value.Reveal()); err == nil {
		t.Error("a deleted credential still authenticates")
	}
	member := e.principal(t, store.RoleMember)
	member.Org = e.admin.Org
	_, err = e.svc.Token(ctx, member, in.ID)
	wantProblem(t, err, http.StatusForbidden, "forbidden")
}

// TestDeleteLeavesSharedTokens: two instances installed into one workspace
// hold the same tokens (Slack gives one bot token per app and workspace, one
// user token per app and person). Deleting one leaves them valid at Slack,
// and the other keeps working; revoke_shared revokes them, and the other
// says why it stopped.
func TestDeleteLeavesSharedTokens(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	a := e.install(t, instance.CreateInput{Name: "a"}, nil)
	b := e.install(t, instance.CreateInput{Name: "b"}, nil)
	if a.BotToken != b.BotToken {
		t.Skip("the sandbox gave the two installs different bot tokens: nothing is shared")
	}
	shared, err := e.svc.SharedTokens(ctx, e.admin, b.ID)
	if err != nil || len(shared) == 0 || shared[0].Kind != "bot" || !slices.Equal(shared[0].SharedWith, []string{a.ID}) {
		t.Fatalf("SharedTokens: %+v %v; want the bot token, shared with %s", shared, err, a.ID)
	}
	d, err := e.svc.Delete(ctx, e.admin, b.ID, instance.DeleteOptions{})
	if err != nil || len(d.Revoked) != 0 || len(d.Kept) == 0 || len(d.Affected) != 0 {
		t.Fatalf("delete of a sharing instance: %+v %v; want nothing revoked, the shared tokens kept", d, err)
	}
	if st := e.sandbox.Stats(); st.Revocations != 0 {
		t.Errorf("revocations at Slack: %d, want none", st.Revocations)
	}
	if _, err := e.svc.Ping(ctx, e.admin, a.ID); err != nil {
		t.Fatalf("the other instance after the delete: %v; want it working", err)
	}

	c := e.install(t, instance.CreateInput{Name: "c"}, nil)
	d, err = e.svc.Delete(ctx, e.admin, c.ID, instance.DeleteOptions{RevokeShared: true})
	if err != nil || len(d.Revoked) == 0 || !slices.Equal(d.Affected, []string{a.ID}) {
		t.Fatalf("delete with revoke_shared: %+v %v; want the tokens revoked and %s affected", d, err, a.ID)
	}
	got, _ := e.store.GetInstance(ctx, e.admin.Org.ID, a.ID)
	if got.Status != store.StatusRevoked || !strings.Contains(got.StatusReason, c.ID) {
		t.Errorf("the affected instance: %s %q; want revoked, naming %s", got.Status, got.StatusReason, c.ID)
	}
}

func TestOtherOrganizationsSeeNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	in := e.install(t, instance.CreateInput{}, nil)
	other := e.principal(t, store.RoleAdmin)
	_, err := e.svc.Get(ctx, other, in.ID)
	wantProblem(t, err, http.StatusNotFound, "not_found")
	_, err = e.svc.Ping(ctx, other, in.ID)
	wantProblem(t, err, http.StatusNotFound, "not_found")
	_, err = e.svc.Delete(ctx, other, in.ID, instance.DeleteOptions{})
	wantProblem(t, err, http.StatusNotFound, "not_found")
	_, err = e.svc.Credentials(ctx, other, in.ID)
	wantProblem(t, err, http.StatusNotFound, "not_found")
	list, _, err := e.svc.List(ctx, other, store.InstanceFilter{}, store.Page{})
	if err != nil || len(list) != 0 {
		t.Errorf("another organization lists %d instances (%v)", len(list), err)
	}
	_, err = e.svc.Create(ctx, other, instance.CreateInput{Name: "x"})
	wantProblem(t, err, http.StatusConflict, "no_app")
}

// TestAnUnregisteredRedirectURL: when the app at Slack does not list
// connhub's callback among its Redirect URLs, Slack refuses the authorize
// request with its own error page and never redirects; the instance stays
// pending until someone fixes the app and re-authenticates.
func TestAnUnregisteredRedirectURL(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{RedirectURLs: []string{"https://hub.example/v1/oauth/slack/callback"}})
	c, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(c.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "bad_redirect_uri") {
		t.Errorf("authorize with an unregistered redirect: got %d %.200s, want Slack's bad_redirect_uri page", resp.StatusCode, page)
	}
	if in, _ := e.store.GetInstance(ctx, e.admin.Org.ID, c.Instance.ID); in.Status != store.StatusPending {
		t.Errorf("status %s, want pending", in.Status)
	}
}

func TestAFailedReauthenticationLeavesTheInstanceAndSaysWhy(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	in := e.install(t, instance.CreateInput{}, nil)
	r, err := e.svc.Reauthenticate(ctx, e.admin, in.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	loc := sandboxtest.Consent(t, r.AuthorizeURL, "cancel", nil)
	res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Error: loc.Query().Get("error")})
	if err != nil || res.OK || res.Instance.Status != store.StatusActive || !strings.HasPrefix(res.Instance.LastAuthError, "access_denied") {
		t.Fatalf("refused re-authentication: %+v %v; want the instance still active, saying access_denied", res.Instance, err)
	}
	if _, err := e.svc.Ping(ctx, e.admin, in.ID); err != nil {
		t.Errorf("the instance's old tokens stopped working: %v", err)
	}
	// A later success clears it.
	r, _ = e.svc.Reauthenticate(ctx, e.admin, in.ID, "")
	loc = sandboxtest.Consent(t, r.AuthorizeURL, "allow", nil)
	if res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")}); err != nil || !res.OK || res.Instance.LastAuthError != "" {
		t.Errorf("after a successful re-authentication: %+v %v", res.Instance, err)
	}
}
