package connhub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/pkg/connhub"
)

// The SDK is tested against the real hub, run in-process by `connhub serve`
// against a Slack sandbox over HTTP.

var ctx = context.Background()

type hub struct {
	sandbox *slacksim.Server
	sbURL   string
	info    slacksim.Info
	url     string
	token   string // the admin's API token
	c       *connhub.Client
}

func setup(t *testing.T) *hub {
	t.Helper()
	sb, err := slacksim.New(slacksim.Config{Users: 30, TokenRotation: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	h := &hub{sandbox: sb, sbURL: ts.URL, info: sb.Info(ts.URL)}
	served := servetest.Start(t, []string{"--data-dir", t.TempDir(), "--slack-url", ts.URL}, map[string]string{
		"CONNHUB_SLACK_CLIENT_ID": h.info.ClientID, "CONNHUB_SLACK_CLIENT_SECRET": h.info.ClientSecret, "CONNHUB_SLACK_SIGNING_SECRET": h.info.SigningSecret,
	})
	h.url, h.token = served.URL, served.APIToken
	h.c = connhub.New(h.url, h.token)
	return h
}

// consent answers the sandbox's consent page as a browser would and follows
// the redirect to the hub's callback.
func consent(t *testing.T, authorizeURL, action string) string {
	t.Helper()
	resp, err := http.Get(sandboxtest.Consent(t, authorizeURL, action, nil).String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func (h *hub) fromToken(t *testing.T, name string, tags ...string) connhub.CreatedInstance {
	t.Helper()
	tok, err := h.sandbox.IssueToken(slacksim.TokenRequest{Scopes: []string{"users:read", "team:read"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: name, AuthMethod: connhub.AuthToken, Token: tok.AccessToken,
		RefreshToken: tok.RefreshToken, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantError(t *testing.T, err error, status int, code string) *connhub.Error {
	t.Helper()
	var e *connhub.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v; want a *connhub.Error %s", err, code)
	}
	if e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("got *connhub.Error %+v; want HTTP %d %s with a message", e, status, code)
	}
	return e
}

func TestAccountAndCatalog(t *testing.T) {
	t.Parallel()
	h := setup(t)
	me, err := h.c.Me(ctx)
	if err != nil || me.Via != "api_token" || me.User == nil || me.User.Role != "admin" || me.Organization.ID == "" {
		t.Fatalf("Me: %+v, %v; want the admin via api_token", me, err)
	}
	all, err := h.c.Connectors(ctx, "")
	if err != nil || len(all) != 1 || all[0].Key != "slack" || len(all[0].Editions) != 5 || len(all[0].AuthMethods) != 3 {
		t.Fatalf("Connectors: %+v, %v; want Slack with 5 editions and 3 auth methods", all, err)
	}
	if grid, err := h.c.Connectors(ctx, "enterprise grid"); err != nil || len(grid) != 1 {
		t.Errorf(`Connectors("enterprise grid"): %d, %v`, len(grid), err)
	}
	if none, err := h.c.Connectors(ctx, "salesforce"); err != nil || len(none) != 0 {
		t.Errorf(`Connectors("salesforce"): %+v, %v; want none`, none, err)
	}
}

func TestApps(t *testing.T) {
	t.Parallel()
	h := setup(t)
	app, err := h.c.CreateApp(ctx, connhub.CreateAppInput{Name: "Provisioner", ClientID: "1111.2222", ClientSecret: "0123456789abcdef", UserScopes: []string{"admin"}})
	if err != nil || app.ID == "" || !app.HasClientSecret || app.HasSigningSecret || app.RedirectURL != h.url+"/v1/oauth/slack/callback" {
		t.Fatalf("CreateApp: %+v, %v", app, err)
	}
	_, err = h.c.CreateApp(ctx, connhub.CreateAppInput{ClientID: "1111.2222", ClientSecret: "0123456789abcdef"})
	wantError(t, err, http.StatusConflict, "app_exists")

	page, err := h.c.ListApps(ctx, connhub.ListOptions{Limit: 1})
	if err != nil || len(page.Apps) != 1 || page.NextCursor == "" {
		t.Fatalf("ListApps(limit 1): %+v, %v; want one app and a cursor", page, err)
	}
	var ids []string
	for a, err := range h.c.AllApps(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if len(ids) != 2 {
		t.Errorf("AllApps: %v; want 2", ids)
	}
	if got, err := h.c.GetApp(ctx, app.ID); err != nil || got.Name != "Provisioner" {
		t.Errorf("GetApp: %+v, %v", got, err)
	}
	if err := h.c.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	_, err = h.c.GetApp(ctx, app.ID)
	wantError(t, err, http.StatusNotFound, "not_found")
	if !connhub.IsNotFound(err) {
		t.Error("IsNotFound is false for a 404")
	}
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	h := setup(t)
	a := h.fromToken(t, "A", "blue")
	b := h.fromToken(t, "B", "green")
	h.fromToken(t, "C", "blue")
	if a.Status != connhub.StatusActive || !strings.HasPrefix(a.InstanceToken, "chi_") || a.AuthorizeURL != "" || !a.HasBotToken {
		t.Fatalf("CreateInstance(token): %+v", a)
	}

	page, err := h.c.ListInstances(ctx, connhub.ListInstancesOptions{ListOptions: connhub.ListOptions{Limit: 2}})
	if err != nil || len(page.Instances) != 2 || page.NextCursor == "" {
		t.Fatalf("ListInstances(limit 2): %d, %q, %v", len(page.Instances), page.NextCursor, err)
	}
	count := func(opts connhub.ListInstancesOptions) int {
		n := 0
		for _, err := range h.c.AllInstances(ctx, opts) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	for _, tc := range []struct {
		opts connhub.ListInstancesOptions
		want int
	}{
		{connhub.ListInstancesOptions{ListOptions: connhub.ListOptions{Limit: 1}}, 3},
		{connhub.ListInstancesOptions{Tag: "blue", ListOptions: connhub.ListOptions{Limit: 1}}, 2},
		{connhub.ListInstancesOptions{Status: connhub.StatusActive, Connector: "slack"}, 3},
		{connhub.ListInstancesOptions{Status: connhub.StatusPending}, 0},
	} {
		if got := count(tc.opts); got != tc.want {
			t.Errorf("AllInstances(%+v): %d; want %d", tc.opts, got, tc.want)
		}
	}
	// Breaking out of the iterator stops it.
	for range h.c.AllInstances(ctx, connhub.ListInstancesOptions{ListOptions: connhub.ListOptions{Limit: 1}}) {
		break
	}

	upd, err := h.c.UpdateInstance(ctx, a.ID, connhub.InstanceUpdate{Name: connhub.Ptr("A2"), Tags: &[]string{"x", "y"}, Settings: map[string]any{"k": "v", "n": 2}})
	if err != nil || upd.Name != "A2" || len(upd.Tags) != 2 || upd.Settings["k"] != "v" || upd.Version <= a.Version {
		t.Fatalf("UpdateInstance: %+v, %v", upd, err)
	}
	upd, err = h.c.UpdateInstance(ctx, a.ID, connhub.InstanceUpdate{Settings: map[string]any{"k": nil}})
	if err != nil || upd.Name != "A2" || upd.Settings["k"] != nil || upd.Settings["n"] != float64(2) {
		t.Errorf("UpdateInstance(remove k): %+v, %v", upd, err)
	}
	_, err = h.c.UpdateInstance(ctx, a.ID, connhub.InstanceUpdate{Name: connhub.Ptr("")})
	wantError(t, err, http.StatusUnprocessableEntity, "invalid_request")

	if tok, err := h.c.InstanceToken(ctx, a.ID); err != nil || tok != a.InstanceToken {
		t.Errorf("InstanceToken: %q, %v; want the one CreateInstance gave", tok, err)
	}
	rotated, err := h.c.RotateInstanceToken(ctx, a.ID)
	if err != nil || rotated == a.InstanceToken {
		t.Fatalf("RotateInstanceToken: %q, %v", rotated, err)
	}
	me, err := connhub.New(h.url, rotated).Me(ctx)
	if err != nil || me.Via != "instance_token" || me.InstanceID != a.ID {
		t.Errorf("Me with the rotated instance token: %+v, %v", me, err)
	}
	_, err = connhub.New(h.url, a.InstanceToken).Me(ctx)
	wantError(t, err, http.StatusUnauthorized, "invalid_credentials")

	creds, err := h.c.InstanceCredentials(ctx, a.ID)
	if err != nil || creds.Bearer != "Bearer "+rotated {
		t.Fatalf("InstanceCredentials: %+v, %v", creds, err)
	}
	oc, err := h.c.CreateCredential(ctx, connhub.CreateCredentialInput{Name: "cpi", InstanceID: a.ID})
	if err != nil || !strings.HasPrefix(oc.Value, "User chus_") || oc.Hint == "" {
		t.Fatalf("CreateCredential (Open Connectors): %+v, %v", oc.Hint, err)
	}
	for _, c := range []*connhub.Client{connhub.New(h.url, "", connhub.WithOpenConnectors(oc.Value)), connhub.New(h.url, oc.Value)} {
		me, err := c.Me(ctx)
		if err != nil || me.Via != "open_connectors" || me.InstanceID != a.ID {
			t.Errorf("Me with the Open Connectors header: %+v, %v", me, err)
		}
	}
	if err := h.c.DeleteCredential(ctx, "cpi"); err != nil {
		t.Fatal(err)
	}

	named, err := h.c.CreateCredential(ctx, connhub.CreateCredentialInput{Name: "iflow", InstanceID: a.ID, Kind: connhub.KindBearer})
	if err != nil || !strings.HasPrefix(named.Value, "Bearer chub_") || named.Kind != connhub.KindBearer {
		t.Fatalf("CreateCredential: %+v, %v", named.Hint, err)
	}
	if got, err := h.c.GetCredential(ctx, "iflow"); err != nil || got.Value != "" || got.Hint == "" || got.ID != named.ID {
		t.Errorf("GetCredential(by name): %+v, %v; want the hint and no value", got, err)
	}
	if got, err := h.c.RevealCredential(ctx, "iflow"); err != nil || got.Value != named.Value {
		t.Errorf("RevealCredential: %v", err)
	}
	rotatedCred, err := h.c.RotateCredential(ctx, named.ID)
	if err != nil || rotatedCred.Value == named.Value || rotatedCred.Value == "" {
		t.Errorf("RotateCredential: %v", err)
	}
	_, err = connhub.New(h.url, strings.TrimPrefix(named.Value, "Bearer ")).Me(ctx)
	wantError(t, err, http.StatusUnauthorized, "invalid_credentials")
	events, err := h.c.ListAudit(ctx, connhub.AuditFilter{Action: "credential."}, connhub.ListOptions{})
	if err != nil || len(events.Events) < 4 || events.Events[0].Action != "credential.rotate" {
		t.Errorf("ListAudit(credential.): %+v, %v; want the credentials' events, newest first", events, err)
	}
	if v, err := h.c.VerifyAudit(ctx); err != nil || !v.OK || v.Events == 0 {
		t.Errorf("VerifyAudit: %+v, %v", v, err)
	}
	if list, err := h.c.ListCredentials(ctx, connhub.ListOptions{}); err != nil || len(list.Credentials) != 1 || list.Credentials[0].Value != "" {
		t.Errorf("ListCredentials: %+v, %v", list, err)
	}
	n := 0
	for _, err := range h.c.AllCredentials(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("AllCredentials: %d; want 1", n)
	}
	if err := h.c.DeleteCredential(ctx, named.ID); err != nil {
		t.Fatal(err)
	}

	p, err := h.c.Ping(ctx, b.ID)
	if err != nil || !p.OK || p.TeamID != h.info.TeamID || p.TokenKind != "bot" || p.TokenExpiresAt == nil {
		t.Errorf("Ping: %+v, %v", p, err)
	}
	if err := h.c.DeleteInstance(ctx, b.ID, false); err != nil {
		t.Fatal(err)
	}
	err = h.c.DeleteInstance(ctx, b.ID, false)
	wantError(t, err, http.StatusNotFound, "not_found")
	if st := h.sandbox.Stats(); st.Revocations < 1 {
		t.Errorf("the sandbox saw %d revocations; want the delete's", st.Revocations)
	}
}

func TestWaitForConsent(t *testing.T) {
	t.Parallel()
	h := setup(t)
	for _, tc := range []struct {
		action string
		status string
	}{{"allow", connhub.StatusActive}, {"cancel", connhub.StatusFailed}} {
		t.Run(tc.action, func(t *testing.T) {
			created, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "OAuth " + tc.action, Edition: "pro"})
			if err != nil || created.Status != connhub.StatusPending || created.AuthorizeURL == "" || created.AuthorizeURLExpiresAt == nil {
				t.Fatalf("CreateInstance(oauth2): %+v, %v", created, err)
			}
			type result struct {
				in  connhub.Instance
				err error
			}
			done := make(chan result, 1)
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			go func() {
				in, err := h.c.WaitActive(wctx, created.ID, 10*time.Millisecond)
				done <- result{in, err}
			}()
			consent(t, created.AuthorizeURL, tc.action)
			r := <-done
			var se *connhub.StatusError
			switch {
			case r.in.Status != tc.status:
				t.Errorf("WaitActive: %+v, %v; want status %s", r.in, r.err, tc.status)
			case tc.status == connhub.StatusActive && r.err != nil:
				t.Errorf("WaitActive on an active instance: %v", r.err)
			case tc.status != connhub.StatusActive && (!errors.As(r.err, &se) || !strings.Contains(se.Error(), "access_denied")):
				t.Errorf("WaitActive on a refused install: %v; want a *StatusError saying access_denied", r.err)
			}
		})
	}

	t.Run("reauthenticate", func(t *testing.T) {
		created, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "Reauth"})
		if err != nil {
			t.Fatal(err)
		}
		consent(t, created.AuthorizeURL, "allow")
		re, err := h.c.Reauthenticate(ctx, created.ID, "")
		if err != nil || re.AuthorizeURL == "" || re.Instance.ID != created.ID {
			t.Fatalf("Reauthenticate: %+v, %v", re, err)
		}
		if !strings.Contains(re.AuthorizeURL, "team="+h.info.TeamID) {
			t.Errorf("the authorize URL %s does not preselect the instance's workspace", re.AuthorizeURL)
		}
		done := make(chan error, 1)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		go func() {
			_, err := h.c.WaitUpdated(wctx, created.ID, re.Instance.Version, 10*time.Millisecond)
			done <- err
		}()
		consent(t, re.AuthorizeURL, "allow")
		if err := <-done; err != nil {
			t.Errorf("WaitUpdated: %v", err)
		}
		if tok, _ := h.c.InstanceToken(ctx, created.ID); tok != created.InstanceToken {
			t.Error("re-authentication changed the instance token")
		}
	})

	t.Run("gives up with the context", func(t *testing.T) {
		created, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "Never consented"})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		in, err := h.c.WaitActive(wctx, created.ID, 10*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) || in.Status != connhub.StatusPending {
			t.Errorf("WaitActive past its deadline: %s, %v; want pending and the deadline", in.Status, err)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	h := setup(t)
	const badToken = "chub_thisisnotarealtokenthisisnotarealtoken"
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/v1/me" {
			w.WriteHeader(http.StatusBadGateway)
		}
		io.WriteString(w, "<html><body>502 Bad Gateway "+r.Header.Get("Authorization")+"</body></html>")
	}))
	t.Cleanup(html.Close)

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"unknown instance", func() error { _, err := h.c.GetInstance(ctx, "ins_nosuchinstance"); return err }, 404, "not_found"},
		{"bad token", func() error { _, err := connhub.New(h.url, badToken).Me(ctx); return err }, 401, "invalid_credentials"},
		{"no token", func() error { _, err := connhub.New(h.url, "").Me(ctx); return err }, 401, "missing_credentials"},
		{"not a connhub token", func() error { _, err := connhub.New(h.url, "xoxb-1-2-3").Me(ctx); return err }, 401, "malformed_credentials"},
		{"no name", func() error { _, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{}); return err }, 422, "invalid_request"},
		{"unknown edition", func() error {
			_, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "x", Edition: "gold"})
			return err
		}, 422, "invalid_request"},
		{"Slack refuses the token", func() error {
			_, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "x", AuthMethod: connhub.AuthToken, Token: "xoxb-1-refused"})
			return err
		}, 400, "slack_invalid_auth"},
		{"a proxy's error page", func() error { _, err := connhub.New(html.URL, badToken).Me(ctx); return err }, 502, connhub.CodeUnexpectedResponse},
		{"another server's page", func() error { _, err := connhub.New(html.URL, badToken).GetInstance(ctx, "x"); return err }, 200, connhub.CodeUnexpectedResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			e := wantError(t, err, tc.status, tc.code)
			if strings.Contains(err.Error(), badToken) || strings.Contains(err.Error(), "xoxb-1-") {
				t.Errorf("the error shows a token: %v", err)
			}
			if tc.code != connhub.CodeUnexpectedResponse && e.RequestID == "" {
				t.Errorf("%v: no request ID", err)
			}
			if tc.code == connhub.CodeUnexpectedResponse && !strings.Contains(e.Message, "text/html") {
				t.Errorf("%v: want it to say what answered", err)
			}
		})
	}

	// A hub that cannot be reached is the transport's error, without the token.
	_, err := connhub.New("http://127.0.0.1:1", badToken).Me(ctx)
	var e *connhub.Error
	if err == nil || errors.As(err, &e) || strings.Contains(err.Error(), badToken) {
		t.Errorf("unreachable hub: %v; want a transport error without the token", err)
	}
	if _, err := h.c.GetInstance(ctx, ""); err == nil {
		t.Error("GetInstance(\"\") did not fail")
	}
	// Printing an input never shows its secrets.
	in := connhub.CreateInstanceInput{Name: "x", Token: "xoxb-secret", ClientSecret: "s3cret", RefreshToken: "xoxe-secret"}
	app := connhub.CreateAppInput{ClientID: "1.2", ClientSecret: "s3cret", SigningSecret: "s1gning"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{in, app, &in, &app} {
			s := fmt.Sprintf(verb, v)
			for _, secret := range []string{"xoxb-secret", "s3cret", "xoxe-secret", "s1gning"} {
				if strings.Contains(s, secret) {
					t.Errorf("Sprintf(%q) of a %T shows a secret: %s", verb, v, s)
				}
			}
		}
	}
}
