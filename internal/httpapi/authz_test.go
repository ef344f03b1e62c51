package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/scim"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
	syncsvc "github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
	"github.com/connhub/connhub/internal/webhooks"
)

// TestAuthorizationMatrix calls every operation of the OpenAPI document as
// every kind of principal and checks the answer against the policy table
// (authz.Policy): allowed callers are never refused, the others are refused
// with 401, 403 or, for what they may not know exists, 404. An operation
// the matrix has no fixture for fails the test: a new route must say who
// may call it and how to call it here.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			m := startMatrix(t, backend == "postgres")
			doc := m.api.OpenAPI()
			var ops []matrixOp
			for path, item := range doc.Paths {
				for method, op := range map[string]*struct{ id, action string }{
					"GET": opOf(item.Get), "POST": opOf(item.Post), "PUT": opOf(item.Put), "PATCH": opOf(item.Patch), "DELETE": opOf(item.Delete),
				} {
					if op != nil {
						ops = append(ops, matrixOp{method: method, path: path, id: op.id, action: op.action})
					}
				}
			}
			sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
			if len(ops) < 30 {
				t.Fatalf("the document has %d operations; the matrix would prove little", len(ops))
			}
			for _, op := range ops {
				if op.action == "" {
					t.Errorf("%s %s (%s) declares no policy action", op.method, op.path, op.id)
					continue
				}
				fx, ok := matrixFixtures[op.id]
				if !ok {
					t.Errorf("%s %s (%s) has no fixture in the authorization matrix: add one to matrixFixtures", op.method, op.path, op.id)
					continue
				}
				for _, who := range m.principals {
					m.check(t, op, fx, who)
				}
			}
		})
	}
}

func opOf(op *huma.Operation) *struct{ id, action string } {
	if op == nil {
		return nil
	}
	action, _ := op.Extensions[httpapi.ActionExtension].(string)
	return &struct{ id, action string }{op.OperationID, action}
}

type matrixOp struct {
	method, path, id, action string
}

// matrixPrincipal is one kind of caller.
type matrixPrincipal struct {
	name string
	auth func(m *matrix, rule authz.Rule) string // the Authorization header for a call under rule
	// bound is the instance an instance principal acts for; other is set
	// for a principal of another organization.
	bound, other bool
	// operator: the principal's user is a hub operator.
	operator bool
	// user is the principal's user in org A, "" for others.
	user   func(m *matrix) string
	kind   authz.Kind
	scoped int // 0: no scopes; 1: with the operation's scope; -1: with another scope only
}

// matrixFixture makes what one call needs: its path parameters and body.
// fresh makes a new target for a call that changes or removes it, so that
// the calls of the matrix do not take each other's targets away.
type matrixFixture struct {
	fresh bool
	body  func(m *matrix, target string) any
	// names: the body names one of org A's resources.
	names bool
	// slackSigned: the body is signed as Slack signs an event delivery,
	// with the sandbox app's signing secret (the route's credential).
	slackSigned bool
	// query is the call's query string; onInstance says it names instance
	// 1, which an instance principal bound to another may not know of.
	query      func(m *matrix) string
	onInstance bool
	// stream: the answer streams until the caller goes; an allowed call is
	// read up to its headers.
	stream bool
}

var matrixFixtures = map[string]matrixFixture{
	"me": {}, "list-connectors": {}, "list-streams": {},
	"create-app": {body: func(m *matrix, _ string) any {
		return map[string]any{"client_id": m.clientID(), "client_secret": "s3cret-of-the-app"}
	}},
	"list-apps":                {},
	"get-app":                  {},
	"delete-app":               {fresh: true},
	"update-app":               {fresh: true, body: func(*matrix, string) any { return map[string]any{"name": "renamed by the matrix"} }},
	"create-instance":          {body: func(m *matrix, _ string) any { return map[string]any{"name": "made by the matrix"} }},
	"list-instances":           {},
	"get-instance":             {},
	"update-instance":          {fresh: true, body: func(*matrix, string) any { return map[string]any{"name": "renamed by the matrix"} }},
	"reauthenticate-instance":  {fresh: true},
	"get-instance-token":       {},
	"rotate-instance-token":    {fresh: true},
	"ping-instance":            {},
	"get-instance-credentials": {},
	"delete-instance":          {fresh: true},
	"create-credential": {names: true, body: func(m *matrix, _ string) any {
		return map[string]any{"name": "matrix " + m.clientID(), "instance_id": m.inst1.ID, "kind": "bearer"}
	}},
	"list-credentials":  {},
	"get-credential":    {},
	"reveal-credential": {},
	"rotate-credential": {fresh: true},
	"delete-credential": {fresh: true},
	"oauth-callback":    {},
	"slack-events": {slackSigned: true, body: func(*matrix, string) any {
		return map[string]any{"type": "url_verification", "challenge": "from the matrix", "token": "unused"}
	}},
	"start-sync":           {body: func(*matrix, string) any { return map[string]any{"streams": []string{"team"}} }},
	"list-syncs":           {},
	"get-sync":             {},
	"cancel-sync":          {fresh: true},
	"resume-sync":          {fresh: true},
	"get-sync-schedule":    {},
	"put-sync-schedule":    {body: func(*matrix, string) any { return map[string]any{"every": "24h", "enabled": false} }},
	"delete-sync-schedule": {fresh: true},
	"query-records":        {},
	"export-records":       {},
	"create-org": {body: func(m *matrix, _ string) any {
		return map[string]any{"name": "Made by the matrix", "admin_email": "admin" + m.clientID() + "@example.com"}
	}},
	"list-orgs":           {},
	"create-user":         {body: func(m *matrix, _ string) any { return map[string]any{"email": "user" + m.clientID() + "@acme.example"} }},
	"list-users":          {},
	"get-user":            {},
	"update-user":         {fresh: true, body: func(*matrix, string) any { return map[string]any{"name": "Renamed"} }},
	"delete-user":         {fresh: true},
	"create-token":        {body: func(*matrix, string) any { return map[string]any{"name": "matrix"} }},
	"list-tokens":         {},
	"revoke-token":        {fresh: true},
	"list-audit":          {},
	"verify-audit":        {},
	"slack-get":           {},
	"slack-post":          {body: func(*matrix, string) any { return map[string]any{} }},
	"instance-slack-get":  {},
	"instance-slack-post": {body: func(*matrix, string) any { return map[string]any{} }},
	"create-webhook": {body: func(*matrix, string) any {
		return map[string]any{"url": "https://hooks.example.com/connhub", "events": []string{"user_change"}}
	}},
	"list-webhooks":           {},
	"list-instance-events":    {},
	"stream-events":           {stream: true, names: true, onInstance: true, query: func(m *matrix) string { return "instance_id=" + m.inst1.ID }},
	"get-webhook":             {},
	"update-webhook":          {fresh: true, body: func(*matrix, string) any { return map[string]any{"events": []string{"*"}} }},
	"delete-webhook":          {fresh: true},
	"list-webhook-deliveries": {},
	"retry-webhook-delivery":  {},
	"replay-webhook":          {body: func(*matrix, string) any { return map[string]any{"since": "2026-01-01T00:00:00Z"} }},
}

func init() {
	// SCIM, on a group of the sandbox: made by the call (create), made
	// fresh for a call that changes or removes it, or the matrix's own.
	group := func(m *matrix, _ string) any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "matrix " + m.clientID()}
	}
	patch := func(m *matrix, _ string) any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []map[string]any{{"op": "replace", "path": "displayName", "value": "matrix " + m.clientID()}}}
	}
	// Provisioning: a plan of a one-person file; a fresh plan to apply; a
	// stopped run to start again.
	matrixFixtures["create-provisioning-plan"] = matrixFixture{body: func(m *matrix, _ string) any {
		return map[string]any{"file": "userName,email\nmatrix" + m.clientID() + ",matrix" + m.clientID() + "@acme.example\n"}
	}}
	matrixFixtures["list-provisioning-plans"] = matrixFixture{}
	matrixFixtures["get-provisioning-plan"] = matrixFixture{}
	// By its ID alone, the plan names instance 1 and org A.
	matrixFixtures["get-provisioning-plan-by-id"] = matrixFixture{names: true, onInstance: true}
	matrixFixtures["apply-provisioning-plan"] = matrixFixture{fresh: true}
	matrixFixtures["list-provisioning-runs"] = matrixFixture{}
	matrixFixtures["get-provisioning-run"] = matrixFixture{}
	matrixFixtures["resume-provisioning-run"] = matrixFixture{fresh: true}
	for _, family := range []string{"scim-", "instance-scim-"} {
		matrixFixtures[family+"list"] = matrixFixture{}
		matrixFixtures[family+"get"] = matrixFixture{}
		matrixFixtures[family+"create"] = matrixFixture{body: group}
		matrixFixtures[family+"replace"] = matrixFixture{fresh: true, body: group}
		matrixFixtures[family+"patch"] = matrixFixture{fresh: true, body: patch}
		matrixFixtures[family+"delete"] = matrixFixture{fresh: true}
	}
}

// matrix is a hub with two organizations and what the calls act on.
type matrix struct {
	*hubtest.Hub
	api        *httpapi.API
	url        string
	inst1      store.Instance // org A's, the target of instance-bound calls
	inst2      store.Instance // org A's too: its token must not reach inst1
	token1     string
	token2     string
	admin      string // org A admin's API token
	member     string
	memberID   string
	otherAdmin string // org B admin's API token
	scoped     map[string]string
	appID      string
	credID     string
	runID      string
	groupID    string // a SCIM group of the sandbox
	planID     string // a provisioning plan of instance 1's
	provRunID  string // a stopped provisioning run of instance 1's
	webhookID  string // instance 1's
	deliveryID string // of webhookID
	principals []matrixPrincipal
	n          int
}

func startMatrix(t *testing.T, postgres bool) *matrix {
	h := hubtest.Start(t, hubtest.Options{Postgres: postgres})
	caller, err := slackcall.New(slackcall.Options{SlackURL: h.SlackURL, Tokens: h.Services, Log: h.Log})
	if err != nil {
		t.Fatal(err)
	}
	syncs, err := syncsvc.New(syncsvc.Config{Store: h.Store, Caller: caller, Log: h.Log})
	if err != nil {
		t.Fatal(err)
	}
	auth := &tenant.Authenticator{Store: h.Store}
	px, err := proxy.New(proxy.Options{SlackURL: h.SlackURL, Instances: h.Services, Auth: auth, Log: h.Log})
	if err != nil {
		t.Fatal(err)
	}
	m := &matrix{Hub: h, inst1: h.Instance, scoped: map[string]string{}}
	relay, err := scim.New(scim.Options{SlackURL: h.SlackURL, Instances: h.Services, Auth: auth, Log: h.Log})
	if err != nil {
		t.Fatal(err)
	}
	m.api = httpapi.New(httpapi.Options{Store: h.Store, Instances: h.Services, Auth: auth, Log: h.Log, Syncs: syncs, Proxy: px, SCIM: relay, Events: h.Hub.Events,
		Provisioning: h.Hub.Provisioning,
		Webhooks:     h.Hub.Webhooks})
	ts := httptest.NewServer(m.api.Handler())
	t.Cleanup(ts.Close)
	m.url = ts.URL

	m.inst2 = h.Install(t, instance.CreateInput{Name: "Second"})
	m.token1, m.token2 = m.instanceToken(t, m.inst1.ID), m.instanceToken(t, m.inst2.ID)
	m.admin = m.apiToken(t, h.Admin.Org.ID, h.Admin.User.ID, nil)
	member, err := h.Store.CreateUser(ctx, store.User{OrgID: h.Admin.Org.ID, Email: "member@acme.example", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	m.member, m.memberID = m.apiToken(t, h.Admin.Org.ID, member.ID, nil), member.ID
	if _, err := h.Store.UpdateUser(ctx, h.Admin.Org.ID, h.Admin.User.ID, func(u *store.User) error { u.Operator = true; return nil }); err != nil {
		t.Fatal(err)
	}
	other := hubtest.Organization(t, h.Store, "other")
	m.otherAdmin = m.apiToken(t, other.Org.ID, other.User.ID, nil)
	apps, _, err := h.Store.ListApps(ctx, h.Admin.Org.ID, store.Page{})
	if err != nil || len(apps) == 0 {
		t.Fatal("the hub has no app", err)
	}
	m.appID = apps[0].ID
	c, err := h.Services.CreateCredential(ctx, h.Admin, "matrix", m.inst1.ID, instance.CredentialBearer, "")
	if err != nil {
		t.Fatal(err)
	}
	m.credID = c.ID
	m.runID = m.run(t, m.inst1.ID)
	if _, err := syncs.SetSchedule(ctx, h.Admin, m.inst1.ID, syncsvc.ScheduleInput{Every: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}

	m.groupID = m.scimGroup(t)
	m.planID, m.provRunID = m.provisioning(t)
	m.webhookID = m.webhook(t, m.inst1.ID)
	m.deliveryID = "whd_matrix"
	if _, err := h.Store.AddWebhookDeliveries(ctx, []store.WebhookDelivery{{ID: m.deliveryID, OrgID: h.Admin.Org.ID, WebhookID: m.webhookID,
		EventID: "evt_matrix", EventType: "user_change", ReceivedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}

	m.principals = []matrixPrincipal{
		{name: "no credentials", auth: func(*matrix, authz.Rule) string { return "" }},
		{name: "org A admin", kind: authz.Admin, operator: true, user: adminUser, auth: func(m *matrix, _ authz.Rule) string { return "Bearer " + m.admin }},
		{name: "org A member", kind: authz.Member, user: func(m *matrix) string { return m.memberID }, auth: func(m *matrix, _ authz.Rule) string { return "Bearer " + m.member }},
		{name: "org A admin's token with the scope", kind: authz.Admin, scoped: 1, operator: true, user: adminUser, auth: func(m *matrix, r authz.Rule) string {
			scope := r.Scope
			if scope == "" {
				scope = authz.ScopeAuditRead
			}
			return "Bearer " + m.scopedToken(t, scope)
		}},
		{name: "org A admin's token without the scope", kind: authz.Admin, scoped: -1, operator: true, user: adminUser, auth: func(m *matrix, r authz.Rule) string {
			scope := authz.ScopeAuditRead
			if r.Scope == scope {
				scope = authz.ScopeProxy
			}
			return "Bearer " + m.scopedToken(t, scope)
		}},
		{name: "instance 1's token", kind: authz.Instance, auth: func(m *matrix, _ authz.Rule) string { return "Bearer " + m.token1 }},
		{name: "instance 2's token", kind: authz.Instance, bound: true, auth: func(m *matrix, _ authz.Rule) string { return "Bearer " + m.token2 }},
		{name: "org B admin", kind: authz.Admin, other: true, auth: func(m *matrix, _ authz.Rule) string { return "Bearer " + m.otherAdmin }},
	}
	return m
}

func adminUser(m *matrix) string { return m.Admin.User.ID }

// webhook makes a subscription to the events of instance id.
func (m *matrix) webhook(t *testing.T, id string) string {
	t.Helper()
	c, err := m.Hub.Hub.Webhooks.Create(ctx, m.Admin, webhooks.Input{URL: ptr("https://hooks.example.com/matrix"), Events: []string{"*"}, InstanceID: &id})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func ptr[T any](v T) *T { return &v }

// provisioning makes an empty plan of instance 1's to apply, and a stopped
// run of another, to start again.
func (m *matrix) provisioning(t *testing.T) (planID, runID string) {
	t.Helper()
	plan := func() store.ProvisioningPlan {
		p, err := m.Store.CreateProvisioningPlan(ctx, store.ProvisioningPlan{OrgID: m.Admin.Org.ID, InstanceID: m.inst1.ID, CreatedBy: m.Admin.User.ID,
			Body: []byte(`{"options":{"match_key":"email","membership":"merge","brake_share":0.1},"changes":[],"counts":{}}`)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stopped := plan()
	r, err := m.Store.StartProvisioningRun(ctx, store.ProvisioningRun{OrgID: m.Admin.Org.ID, InstanceID: m.inst1.ID, PlanID: stopped.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Store.UpdateProvisioningRun(ctx, m.Admin.Org.ID, r.ID, func(r *store.ProvisioningRun) error {
		r.Status, r.Reason = store.ProvisioningStopped, "stopped by the matrix"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return plan().ID, r.ID
}

// scimGroup makes a user group at Slack through connhub's SCIM, as org A's
// admin, and returns its ID.
func (m *matrix) scimGroup(t *testing.T) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "matrix " + m.clientID()})
	req, _ := http.NewRequest(http.MethodPost, m.url+"/v1/instances/"+m.inst1.ID+"/scim/v2/Groups", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+m.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct{ ID string }
	if json.NewDecoder(resp.Body).Decode(&g); resp.StatusCode != http.StatusCreated || g.ID == "" {
		t.Fatalf("the matrix's SCIM group: HTTP %d", resp.StatusCode)
	}
	return g.ID
}

func (m *matrix) instanceToken(t *testing.T, id string) string {
	t.Helper()
	tok, err := m.Services.Token(ctx, m.Admin, id)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

func (m *matrix) apiToken(t *testing.T, orgID, userID string, scopes []string) string {
	t.Helper()
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Store.CreateAPICredential(ctx, store.APICredential{OrgID: orgID, UserID: userID, Name: "matrix", TokenHash: secrets.HashToken(token),
		Hint: tenant.Hint(token), Scopes: scopes}); err != nil {
		t.Fatal(err)
	}
	return token
}

func (m *matrix) scopedToken(t *testing.T, scope string) string {
	if m.scoped[scope] == "" {
		m.scoped[scope] = m.apiToken(t, m.Admin.Org.ID, m.Admin.User.ID, []string{scope})
	}
	return m.scoped[scope]
}

func (m *matrix) clientID() string {
	m.n++
	return fmt.Sprintf("%d.%d", 1000+m.n, time.Now().UnixNano()%1e9)
}

// tokenOf makes an API token of an org A user, returning its ID.
func (m *matrix) tokenOf(t *testing.T, userID string) string {
	t.Helper()
	c, err := m.Store.CreateAPICredential(ctx, store.APICredential{OrgID: m.Admin.Org.ID, UserID: userID, Name: "to revoke",
		TokenHash: secrets.HashToken(m.clientID() + "-token"), Hint: "chub_x…"})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// run makes a queued sync run of an instance, as Start would.
func (m *matrix) run(t *testing.T, instanceID string) string {
	t.Helper()
	r, err := m.Store.CreateSyncRun(ctx, store.SyncRun{OrgID: m.Admin.Org.ID, InstanceID: instanceID, Status: store.RunFailed, Trigger: "manual", Streams: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// target fills the operation's path: org A's resources, made afresh where
// the call changes or removes them (except for instance principals, which
// act on their own instance or none).
func (m *matrix) target(t *testing.T, op matrixOp, fx matrixFixture, who matrixPrincipal) (path string, target string) {
	t.Helper()
	inst, app, cred, run, user, token := m.inst1.ID, m.appID, m.credID, m.runID, m.memberID, ""
	// A token to revoke: the caller's own; for another organization's
	// caller or an instance, org A's admin's.
	owner := m.Admin.User.ID
	if who.user != nil {
		owner = who.user(m)
	}
	token = m.tokenOf(t, owner)
	if fx.fresh && who.kind != authz.Instance {
		c, err := m.Services.Create(ctx, m.Admin, instance.CreateInput{Name: "fresh"})
		if err != nil {
			t.Fatal(err)
		}
		inst = c.Instance.ID
		a, err := m.Services.CreateApp(ctx, m.Admin, instance.AppInput{ClientID: m.clientID(), ClientSecret: "s3cret-of-the-app"})
		if err != nil {
			t.Fatal(err)
		}
		app = a.ID
		cr, err := m.Services.CreateCredential(ctx, m.Admin, "fresh "+m.clientID(), m.inst1.ID, instance.CredentialBearer, "")
		if err != nil {
			t.Fatal(err)
		}
		cred = cr.ID
		run = m.run(t, inst)
		u, err := m.Store.CreateUser(ctx, store.User{OrgID: m.Admin.Org.ID, Email: "fresh" + m.clientID() + "@acme.example", Role: store.RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		user = u.ID
		if _, err := m.Store.PutSyncSchedule(ctx, store.SyncSchedule{OrgID: m.Admin.Org.ID, InstanceID: inst, Interval: time.Hour, NextRunAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	id := inst
	switch {
	case strings.HasPrefix(op.path, "/v1/apps/"):
		id = app
	case strings.HasPrefix(op.path, "/v1/credentials/"):
		id = cred
	case strings.HasPrefix(op.path, "/v1/users/"):
		id = user
	case strings.HasPrefix(op.path, "/v1/tokens/"):
		id = token
	case strings.HasPrefix(op.path, "/v1/webhooks/"):
		id = m.webhookID
		if fx.fresh {
			id = m.webhook(t, inst)
		}
	}
	group, plan, prun := m.groupID, m.planID, m.provRunID
	if fx.fresh && strings.Contains(op.path, "/scim/") {
		group = m.scimGroup(t)
	}
	if fx.fresh && strings.Contains(op.path, "/provisioning/") {
		plan, prun = m.provisioning(t)
	}
	r := strings.NewReplacer("{id}", id, "{delivery_id}", m.deliveryID, "{sync}", run, "{stream}", "users", "{method}", "auth.test",
		"{resource}", "Groups", "{resource_id}", group, "{plan_id}", plan, "{run_id}", prun)
	return r.Replace(op.path), id
}

// expect is what the policy says a call must get: 0 for "allowed" (any
// answer but a refusal), else the refusal's status.
func expect(op matrixOp, fx matrixFixture, who matrixPrincipal) int {
	if op.action == httpapi.Public {
		return 0
	}
	if who.kind == "" {
		return http.StatusUnauthorized
	}
	rule := authz.Policy[authz.Action(op.action)]
	// Instance 1's webhooks are its instance's too.
	onInstance := strings.Contains(op.path, "{id}") && (strings.HasPrefix(op.path, "/v1/instances/") || strings.HasPrefix(op.path, "/v1/webhooks/")) || fx.onInstance
	onResource := strings.Contains(op.path, "{id}") || fx.names
	switch who.kind {
	case authz.Instance:
		switch {
		case !rule.Instance:
			return http.StatusForbidden
		case who.bound && onInstance:
			return http.StatusNotFound
		}
		return 0
	case authz.Member:
		if !rule.Member {
			return http.StatusForbidden
		}
	case authz.Admin:
		if rule.Operator && !who.operator || !rule.Operator && !rule.Admin {
			return http.StatusForbidden
		}
		if who.scoped == -1 && rule.Scope != "" {
			return http.StatusForbidden
		}
	}
	if who.other && onResource {
		return http.StatusNotFound
	}
	return 0
}

func (m *matrix) check(t *testing.T, op matrixOp, fx matrixFixture, who matrixPrincipal) {
	t.Helper()
	path, target := m.target(t, op, fx, who)
	var body io.Reader
	if fx.body != nil {
		b, _ := json.Marshal(fx.body(m, target))
		body = bytes.NewReader(b)
	}
	if fx.query != nil {
		path += "?" + fx.query(m)
	}
	req, _ := http.NewRequest(op.method, m.url+path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if fx.slackSigned {
		b, _ := json.Marshal(fx.body(m, target))
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		signSlack(req.Header, m.Info.SigningSecret, b, time.Now())
	}
	rule := authz.Policy[authz.Action(op.action)]
	if auth := who.auth(m, rule); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if fx.stream && resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("%s %s as %s: a stream answered with %q", op.method, op.path, who.name, ct)
		}
	} else {
		raw, _ = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	if fx.slackSigned && resp.StatusCode != http.StatusOK {
		t.Errorf("%s %s as %s: a delivery signed as Slack signs got %d %.200s, want 200", op.method, op.path, who.name, resp.StatusCode, raw)
	}
	want := expect(op, fx, who)
	refused := slices.Contains([]int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, resp.StatusCode)
	switch {
	case want == 0 && refused:
		t.Errorf("%s %s (%s) as %s: got %d %.200s; the policy allows it", op.method, op.path, op.action, who.name, resp.StatusCode, raw)
	case want != 0 && resp.StatusCode != want:
		t.Errorf("%s %s (%s) as %s: got %d %.200s; want %d", op.method, op.path, op.action, who.name, resp.StatusCode, raw, want)
	case want != 0:
		var e struct{ Code, Message string }
		if json.Unmarshal(raw, &e) != nil || e.Code == "" || e.Message == "" {
			t.Errorf("%s %s as %s: the refusal %q is not JSON with a code and a message", op.method, op.path, who.name, raw)
		}
	}
}
