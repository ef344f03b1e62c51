package instance_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
)

// TestAClientSecretIsProvenBeforeItIsStored: a wrong new secret changes
// nothing; the secret Slack regenerated is proven by a refresh and stored
// with the refreshed tokens; an app no instance can prove it for needs the
// caller to say so.
func TestAClientSecretIsProvenBeforeItIsStored(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{TokenRotation: true}})
	app, err := h.Store.GetApp(ctx, h.Admin.Org.ID, h.Instance.AppID)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := h.Store.GetInstance(ctx, h.Admin.Org.ID, h.Instance.ID)

	_, err = h.Services.UpdateApp(ctx, h.Admin, app.ID, instance.AppPatch{ClientSecret: "00000000000000000000000000000000"})
	wantProblem(t, err, http.StatusBadRequest, "client_secret_rejected")
	if got, _ := h.Store.GetApp(ctx, h.Admin.Org.ID, app.ID); got.ClientSecret != app.ClientSecret || got.Version != app.Version {
		t.Errorf("a refused secret changed the app")
	}
	if got, _ := h.Store.GetInstance(ctx, h.Admin.Org.ID, h.Instance.ID); got.BotRefreshToken != before.BotRefreshToken || got.Status != store.StatusActive {
		t.Errorf("a refused secret spent the instance's refresh token or changed its status (%s)", got.Status)
	}

	resp, err := http.Post(h.SlackURL+"/_sandbox/app/client-secret", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	var regenerated struct {
		ClientSecret string `json:"client_secret"`
	}
	json.NewDecoder(resp.Body).Decode(&regenerated)
	resp.Body.Close()
	u, err := h.Services.UpdateApp(ctx, h.Admin, app.ID, instance.AppPatch{ClientSecret: secrets.Secret(regenerated.ClientSecret)})
	if err != nil || u.Verified == "" || u.App.ClientSecret.Reveal() != regenerated.ClientSecret {
		t.Fatalf("the regenerated secret: %+v %v; want it proven and stored", u.Verified, err)
	}
	after, _ := h.Store.GetInstance(ctx, h.Admin.Org.ID, h.Instance.ID)
	if after.BotRefreshToken == before.BotRefreshToken {
		t.Errorf("the proof's refreshed tokens were not stored")
	}
	// The app keeps refreshing with the new secret.
	if _, _, err := h.Services.SlackToken(ctx, after, "bot", true); err != nil {
		t.Errorf("a refresh after the rotation: %v", err)
	}
	events, _, _ := h.Store.ListAudit(ctx, h.Admin.Org.ID, store.AuditFilter{Action: "app.update"}, store.Page{})
	if len(events) != 1 || events[0].Details["client_secret_verified"] == "" {
		t.Errorf("app.update events: %+v", events)
	}
}

func TestAClientSecretNoInstanceCanProve(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{NoInstall: true})
	apps, _, _ := h.Store.ListApps(ctx, h.Admin.Org.ID, store.Page{})
	_, err := h.Services.UpdateApp(ctx, h.Admin, apps[0].ID, instance.AppPatch{ClientSecret: "11111111111111111111111111111111"})
	wantProblem(t, err, http.StatusConflict, "cannot_verify")
	u, err := h.Services.UpdateApp(ctx, h.Admin, apps[0].ID, instance.AppPatch{ClientSecret: "11111111111111111111111111111111", AllowUnverified: true})
	if err != nil || u.Verified != "not verified" || u.App.ClientSecret != "11111111111111111111111111111111" {
		t.Errorf("allow_unverified: %+v %v", u.Verified, err)
	}
}

// TestAPastedRotatingTokenIsLinkedToItsApp: a token pasted with its refresh
// token is refreshed at once with its app's credentials, so that it can be
// refreshed later; without an app to prove it with, it is refused.
func TestAPastedRotatingTokenIsLinkedToItsApp(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{TokenRotation: true}, NoInstall: true})
	issue := func() (access, refresh string) {
		resp, err := http.Post(h.SlackURL+"/_sandbox/tokens", "application/json", bytes.NewReader([]byte(`{"scopes":["users:read","team:read"],"rotation":true}`)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		if tok.RefreshToken == "" {
			t.Fatal("the sandbox issued no refresh token")
		}
		return tok.AccessToken, tok.RefreshToken
	}
	access, refresh := issue()
	c, err := h.Services.CreateFromToken(ctx, h.Admin, instance.TokenInput{Name: "pasted", Token: secrets.Secret(access), Refresh: secrets.Secret(refresh)})
	if err != nil || c.Instance.AppID == "" || c.Instance.BotRefreshToken.Reveal() == refresh {
		t.Fatalf("a pasted rotating token: %+v %v; want it linked to the app and refreshed", c.Instance.AppID, err)
	}
	if _, _, err := h.Services.SlackToken(ctx, c.Instance, "bot", true); err != nil {
		t.Errorf("a later refresh: %v", err)
	}

	_, err = h.Services.CreateFromToken(ctx, h.Admin, instance.TokenInput{Name: "bad", Token: secrets.Secret(access), Refresh: "xoxe-1-not-a-refresh-token"})
	wantProblem(t, err, http.StatusBadRequest, "slack_invalid_refresh_token")

	if _, err := h.Services.CreateApp(ctx, h.Admin, instance.AppInput{ClientID: "123.456", ClientSecret: "another app's secret"}); err != nil {
		t.Fatal(err)
	}
	access, refresh = issue()
	_, err = h.Services.CreateFromToken(ctx, h.Admin, instance.TokenInput{Name: "which app?", Token: secrets.Secret(access), Refresh: secrets.Secret(refresh)})
	wantProblem(t, err, http.StatusBadRequest, "app_required")
}

// TestAnOrgInstallWithNoWorkspace: an Enterprise Grid org-wide install that
// no workspace is granted to (Slack's default) is needs_workspaces, saying
// how to grant one, until a ping sees a workspace an org admin added.
func TestAnOrgInstallWithNoWorkspace(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Workspaces: 2}, NoInstall: true})
	in := h.InstallWith(t, instance.CreateInput{Edition: "enterprise_grid", Team: h.Info.EnterpriseID}, url.Values{"install_into": {h.Info.EnterpriseID}})
	if in.Status != store.StatusNeedsWorkspaces || !strings.Contains(in.StatusReason, "Add to more workspaces") || len(in.Teams) != 0 {
		t.Fatalf("an org install with no workspace: %s %q %v; want needs_workspaces saying how to grant one", in.Status, in.StatusReason, in.Teams)
	}
	if _, err := h.Services.Ping(ctx, h.Admin, in.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Store.GetInstance(ctx, h.Admin.Org.ID, in.ID); got.Status != store.StatusNeedsWorkspaces {
		t.Errorf("after a ping with still no workspace: %s", got.Status)
	}
	team := h.Sandbox.Summary().Teams[1].ID
	resp, err := http.Post(h.SlackURL+"/_sandbox/org-install/teams", "application/json", strings.NewReader(`{"team_id":"`+team+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := h.Services.Ping(ctx, h.Admin, in.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Store.GetInstance(ctx, h.Admin.Org.ID, in.ID); got.Status != store.StatusActive || !slices.Equal(got.Teams, []string{team}) {
		t.Errorf("after a workspace was granted and a ping: %s %v; want active with %s", got.Status, got.Teams, team)
	}
}
