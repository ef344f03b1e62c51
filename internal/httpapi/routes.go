package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

func (a *API) routes() {
	a.meRoutes()
	a.connectorRoutes()
	a.appRoutes()
	a.instanceRoutes()
	a.credentialRoutes()
	a.callbackRoute()
	a.eventsRoutes()
	a.webhookRoutes()
	a.provisioningRoutes()
	a.instanceEventsRoute()
	a.eventStreamRoute()
	a.auditRoutes()
	a.accountRoutes()
	if a.o.Syncs != nil {
		a.syncRoutes()
		a.recordRoutes()
	}
}

// Page is the paging of a list: the cursor of the next page, "" at the end.
type Page struct {
	NextCursor string `json:"next_cursor" doc:"Pass as cursor to get the next page; empty at the end"`
}

type PageQuery struct {
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size (default 100)"`
}

func (p PageQuery) page() store.Page { return store.Page{After: p.Cursor, Limit: p.Limit} }

type IDPath struct {
	ID string `path:"id" maxLength:"100"`
}

// ---- who am I ----

type meOutput struct {
	Body struct {
		Organization struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organization"`
		User *struct {
			ID    string `json:"id"`
			Email string `json:"email"`
			Name  string `json:"name"`
			Role  string `json:"role"`
		} `json:"user,omitempty"`
		InstanceID string `json:"instance_id,omitempty" doc:"The instance an instance token or Element selected"`
		Via        string `json:"via" enum:"api_token,instance_token,open_connectors"`
	}
}

func (a *API) meRoutes() {
	huma.Register(a.huma, guarded(authz.ReadAccount, huma.Operation{OperationID: "me", Method: http.MethodGet, Path: "/v1/me", Summary: "Who the credentials belong to", Tags: []string{"Account"}}),
		func(ctx context.Context, _ *struct{}) (*meOutput, error) {
			p := principal(ctx)
			if err := authz.Allow(p, authz.ReadAccount, ""); err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &meOutput{}
			out.Body.Organization.ID, out.Body.Organization.Name = p.Org.ID, p.Org.Name
			if p.User.ID != "" {
				out.Body.User = &struct {
					ID    string `json:"id"`
					Email string `json:"email"`
					Name  string `json:"name"`
					Role  string `json:"role"`
				}{p.User.ID, p.User.Email, p.User.Name, p.User.Role}
			}
			if p.Instance != nil {
				out.Body.InstanceID = p.Instance.ID
			}
			out.Body.Via = p.Via
			return out, nil
		})
}

// ---- connectors ----

type connectorsOutput struct {
	Body struct {
		Connectors []Connector `json:"connectors"`
	}
}

func (a *API) connectorRoutes() {
	huma.Register(a.huma, guarded(authz.ReadAccount, huma.Operation{OperationID: "list-connectors", Method: http.MethodGet, Path: "/v1/connectors",
		Summary: "Search the connector catalog", Description: "The connectors connhub offers, with their editions, the scopes each needs and the ways to authenticate.", Tags: []string{"Connectors"}}),
		func(ctx context.Context, in *struct {
			Q string `query:"q" doc:"Search text: a name, an edition, a feature"`
		}) (*connectorsOutput, error) {
			if err := authz.Allow(principal(ctx), authz.ReadAccount, ""); err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &connectorsOutput{}
			out.Body.Connectors = []Connector{}
			for _, c := range connector.Search(in.Q) {
				out.Body.Connectors = append(out.Body.Connectors, connectorView(c))
			}
			return out, nil
		})
}

// ---- apps ----

type appBody struct {
	Name          string   `json:"name,omitempty" maxLength:"200"`
	ClientID      string   `json:"client_id" example:"1234567890123.1234567890123"`
	ClientSecret  string   `json:"client_secret" doc:"Stored encrypted; never shown again"`
	SigningSecret string   `json:"signing_secret,omitempty" doc:"Stored encrypted; never shown again"`
	BotScopes     []string `json:"bot_scopes,omitempty"`
	UserScopes    []string `json:"user_scopes,omitempty"`
}

type appOutput struct{ Body App }

type appUpdateOutput struct {
	Body struct {
		App
		ClientSecretVerified string `json:"client_secret_verified,omitempty" doc:"How a new client secret was proven at Slack: refreshed the bot token of ins_…, or not verified"`
	}
}

type appsOutput struct {
	Body struct {
		Apps []App `json:"apps"`
		Page
	}
}

func (a *API) appRoutes() {
	tags := []string{"Apps"}
	huma.Register(a.huma, guarded(authz.WriteApps, huma.Operation{OperationID: "create-app", Method: http.MethodPost, Path: "/v1/apps", DefaultStatus: http.StatusCreated,
		Summary: "Register a Slack app", Description: "Registers the app created at api.slack.com/apps: its client ID and secrets. Add the answer's redirect_url to the app's Redirect URLs.", Tags: tags}),
		func(ctx context.Context, in *struct{ Body appBody }) (*appOutput, error) {
			app, err := a.o.Instances.CreateApp(ctx, principal(ctx), instance.AppInput{Name: in.Body.Name, ClientID: in.Body.ClientID,
				ClientSecret: secrets.Secret(in.Body.ClientSecret), SigningSecret: secrets.Secret(in.Body.SigningSecret), BotScopes: in.Body.BotScopes, UserScopes: in.Body.UserScopes})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &appOutput{Body: appView(app)}, nil
		})
	huma.Register(a.huma, guarded(authz.ReadApps, huma.Operation{OperationID: "list-apps", Method: http.MethodGet, Path: "/v1/apps", Summary: "List registered Slack apps", Tags: tags}),
		func(ctx context.Context, in *PageQuery) (*appsOutput, error) {
			apps, next, err := a.o.Instances.ListApps(ctx, principal(ctx), in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &appsOutput{}
			out.Body.Apps, out.Body.NextCursor = []App{}, next
			for _, app := range apps {
				out.Body.Apps = append(out.Body.Apps, appView(app))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadApps, huma.Operation{OperationID: "get-app", Method: http.MethodGet, Path: "/v1/apps/{id}", Summary: "Get a registered Slack app", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*appOutput, error) {
			app, err := a.o.Instances.GetApp(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &appOutput{Body: appView(app)}, nil
		})
	huma.Register(a.huma, guarded(authz.WriteApps, huma.Operation{OperationID: "update-app", Method: http.MethodPatch, Path: "/v1/apps/{id}",
		Summary: "Change a registered Slack app, or rotate its secrets",
		Description: "A new client_secret is proven at Slack before it is stored: connhub refreshes a rotating token of one of the app's active instances with it, " +
			"and stores the secret with the refreshed tokens; Slack's refusal is 400 client_secret_rejected and changes nothing. When no instance can prove it, " +
			"409 cannot_verify, unless allow_unverified is true. A signing secret cannot be proven before Slack signs a request with it: it is stored as given. Recorded in the audit log.",
		Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Name            *string   `json:"name,omitempty" maxLength:"200"`
				ClientSecret    string    `json:"client_secret,omitempty" doc:"A new client secret (after Regenerate at api.slack.com/apps); stored encrypted, never shown again"`
				SigningSecret   string    `json:"signing_secret,omitempty" doc:"A new signing secret; stored encrypted, never shown again"`
				BotScopes       *[]string `json:"bot_scopes,omitempty"`
				UserScopes      *[]string `json:"user_scopes,omitempty"`
				AllowUnverified bool      `json:"allow_unverified,omitempty" doc:"Store a client secret that no instance can prove now"`
			}
		}) (*appUpdateOutput, error) {
			b := in.Body
			u, err := a.o.Instances.UpdateApp(ctx, principal(ctx), in.ID, instance.AppPatch{Name: b.Name, ClientSecret: secrets.Secret(b.ClientSecret),
				SigningSecret: secrets.Secret(b.SigningSecret), BotScopes: b.BotScopes, UserScopes: b.UserScopes, AllowUnverified: b.AllowUnverified})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &appUpdateOutput{}
			out.Body.App, out.Body.ClientSecretVerified = appView(u.App), u.Verified
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.WriteApps, huma.Operation{OperationID: "delete-app", Method: http.MethodDelete, Path: "/v1/apps/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a Slack app no instance uses", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if err := a.o.Instances.DeleteApp(ctx, principal(ctx), in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			return nil, nil
		})
}

// ---- instances ----

type createInstanceBody struct {
	Connector    string         `json:"connector,omitempty" default:"slack" example:"slack"`
	Name         string         `json:"name" minLength:"1" maxLength:"200" example:"Acme Slack"`
	AuthMethod   string         `json:"auth_method,omitempty" enum:"oauth2,token,refresh_token" default:"oauth2" doc:"oauth2: install through Slack's consent page; token: an existing token; refresh_token: an app's client ID, secret and a refresh token"`
	Edition      string         `json:"edition,omitempty" enum:"free,pro,business_plus,enterprise_grid,compliance" doc:"The workspace's plan: decides the scopes asked for (default business_plus)"`
	BotScopes    []string       `json:"bot_scopes,omitempty" doc:"Bot scopes to ask for instead of the edition's"`
	UserScopes   []string       `json:"user_scopes,omitempty" doc:"User scopes to ask for instead of the edition's"`
	Team         string         `json:"team,omitempty" doc:"A workspace (T…) or Enterprise Grid org (E…) to preselect at Slack"`
	AppID        string         `json:"app_id,omitempty" doc:"The registered app to install (default: the organization's app)"`
	Tags         []string       `json:"tags,omitempty"`
	Settings     map[string]any `json:"settings,omitempty"`
	Token        string         `json:"token,omitempty" doc:"auth_method token: a bot (xoxb) or user (xoxp) token"`
	RefreshToken string         `json:"refresh_token,omitempty" doc:"auth_method refresh_token (or a rotating token's refresh token)"`
	ClientID     string         `json:"client_id,omitempty" doc:"auth_method refresh_token: the app's client ID"`
	ClientSecret string         `json:"client_secret,omitempty" doc:"auth_method refresh_token: the app's client secret"`
}

type createdInstance struct {
	Instance
	InstanceToken         string     `json:"instance_token" doc:"Authenticates requests for this instance (Authorization: Bearer …). Shown here once; GET /v1/instances/{id}/token shows it to admins."`
	AuthorizeURL          string     `json:"authorize_url,omitempty" doc:"Open in a browser to consent at Slack"`
	AuthorizeURLExpiresAt *time.Time `json:"authorize_url_expires_at,omitempty"`
}

type createdOutput struct {
	Location string `header:"Location"`
	Body     createdInstance
}

type instanceOutput struct{ Body Instance }

type instancesOutput struct {
	Body struct {
		Instances []Instance `json:"instances"`
		Page
	}
}

type reauthOutput struct {
	Body struct {
		Instance     Instance  `json:"instance"`
		AuthorizeURL string    `json:"authorize_url"`
		ExpiresAt    time.Time `json:"authorize_url_expires_at"`
	}
}

type tokenOutput struct {
	Body struct {
		InstanceToken string `json:"instance_token"`
	}
}

// SharedToken is a Slack token other instances hold too.
type SharedToken struct {
	Token      string   `json:"token" enum:"bot,user"`
	SharedWith []string `json:"shared_with" doc:"The instances that hold it"`
}

type deletionOutput struct {
	Body struct {
		ID       string        `json:"id" doc:"The deleted instance"`
		Revoked  []string      `json:"revoked" doc:"The kinds of Slack token revoked at Slack: bot, user"`
		Kept     []SharedToken `json:"kept" doc:"Tokens left valid at Slack because other instances hold them"`
		Affected []string      `json:"affected" doc:"With revoke_shared: the instances that lost their tokens (marked revoked or needs_reauth)"`
	}
}

type pingOutput struct {
	Body struct {
		OK                bool       `json:"ok"`
		Team              string     `json:"team"`
		TeamID            string     `json:"team_id"`
		EnterpriseID      string     `json:"enterprise_id,omitempty"`
		User              string     `json:"user"`
		UserID            string     `json:"user_id"`
		BotID             string     `json:"bot_id,omitempty"`
		URL               string     `json:"url"`
		TokenKind         string     `json:"token_kind" enum:"bot,user"`
		Scopes            []string   `json:"scopes"`
		TokenExpiresAt    *time.Time `json:"token_expires_at,omitempty"`
		MissingBotScopes  []string   `json:"missing_bot_scopes" doc:"Scopes the edition needs for connhub's features that were not granted"`
		MissingUserScopes []string   `json:"missing_user_scopes"`
		SCIM              SCIMStatus `json:"scim" doc:"Whether the instance can provision over SCIM, and if not why and how to fix it"`
		LatencyMS         int64      `json:"latency_ms"`
	}
}

// SCIMStatus says whether an instance can provision over SCIM.
type SCIMStatus struct {
	Ready   bool   `json:"ready"`
	Code    string `json:"code,omitempty" doc:"Why not: scim_plan_required, scim_scope_missing, scim_org_install_required, instance_not_active"`
	Message string `json:"message,omitempty" doc:"Why not, and how to fix it"`
}

func scimStatus(p *apierror.Problem) SCIMStatus {
	if p == nil {
		return SCIMStatus{Ready: true}
	}
	return SCIMStatus{Code: p.Code, Message: p.Message}
}

type credentialsOutput struct {
	Body struct {
		Bearer string `json:"bearer" doc:"The Authorization header value with the instance token"`
		SCIM   struct {
			SCIMStatus
			Path  string `json:"path" doc:"The SCIM base URL's path on this hub, for an identity provider's provisioning connection"`
			Token string `json:"token" doc:"The bearer token an identity provider's SCIM connection takes: the instance token, which does not expire"`
		} `json:"scim"`
	}
}

func (a *API) instanceRoutes() {
	tags := []string{"Instances"}
	huma.Register(a.huma, guarded(authz.CreateInstance, huma.Operation{OperationID: "create-instance", Method: http.MethodPost, Path: "/v1/instances", DefaultStatus: http.StatusCreated,
		Summary: "Create a connector instance",
		Description: "With auth_method oauth2 (the default) the instance is pending and the answer carries the authorize_url where a person consents at Slack; " +
			"with token or refresh_token it is checked at Slack and active at once. The answer shows the instance token once.", Tags: tags}),
		func(ctx context.Context, in *struct{ Body createInstanceBody }) (*createdOutput, error) {
			b, p := in.Body, principal(ctx)
			var c instance.Created
			var err error
			switch b.AuthMethod {
			case "", store.AuthOAuth:
				c, err = a.o.Instances.Create(ctx, p, instance.CreateInput{Connector: b.Connector, Name: b.Name, Edition: b.Edition, BotScopes: b.BotScopes,
					UserScopes: b.UserScopes, Team: b.Team, AppID: b.AppID, Tags: b.Tags, Settings: b.Settings})
			case store.AuthToken:
				c, err = a.o.Instances.CreateFromToken(ctx, p, instance.TokenInput{Name: b.Name, Token: secrets.Secret(b.Token), Refresh: secrets.Secret(b.RefreshToken),
					Edition: b.Edition, AppID: b.AppID, Tags: b.Tags, Settings: b.Settings})
			case store.AuthRefreshToken:
				c, err = a.o.Instances.ImportRefreshToken(ctx, p, instance.ImportInput{Name: b.Name, ClientID: b.ClientID, ClientSecret: secrets.Secret(b.ClientSecret),
					RefreshToken: secrets.Secret(b.RefreshToken), Edition: b.Edition, Tags: b.Tags, Settings: b.Settings})
			}
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &createdOutput{Location: "/v1/instances/" + c.Instance.ID}
			out.Body = createdInstance{Instance: instanceView(c.Instance), InstanceToken: c.InstanceToken.Reveal(), AuthorizeURL: c.AuthorizeURL}
			if !c.ExpiresAt.IsZero() {
				out.Body.AuthorizeURLExpiresAt = &c.ExpiresAt
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ListInstances, huma.Operation{OperationID: "list-instances", Method: http.MethodGet, Path: "/v1/instances", Summary: "List connector instances", Tags: tags}),
		func(ctx context.Context, in *struct {
			Connector string `query:"connector"`
			Status    string `query:"status" enum:"pending,active,needs_reauth,needs_workspaces,revoked,failed,expired,"`
			Tag       string `query:"tag"`
			PageQuery
		}) (*instancesOutput, error) {
			list, next, err := a.o.Instances.List(ctx, principal(ctx), store.InstanceFilter{Connector: in.Connector, Status: in.Status, Tag: in.Tag}, in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &instancesOutput{}
			out.Body.Instances, out.Body.NextCursor = []Instance{}, next
			for _, i := range list {
				out.Body.Instances = append(out.Body.Instances, instanceView(i))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadInstance, huma.Operation{OperationID: "get-instance", Method: http.MethodGet, Path: "/v1/instances/{id}",
		Summary: "Get a connector instance", Description: "Never returns a Slack token.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*instanceOutput, error) {
			i, err := a.o.Instances.Get(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &instanceOutput{Body: instanceView(i)}, nil
		})
	huma.Register(a.huma, guarded(authz.UpdateInstance, huma.Operation{OperationID: "update-instance", Method: http.MethodPatch, Path: "/v1/instances/{id}",
		Summary: "Update a connector instance", Description: "Changes its name, tags and settings without re-authenticating; its tokens are untouched.", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Name           *string        `json:"name,omitempty" minLength:"1" maxLength:"200"`
				Tags           *[]string      `json:"tags,omitempty"`
				Settings       map[string]any `json:"settings,omitempty" doc:"Merged into the settings; null removes a key"`
				AllowUserToken *bool          `json:"allow_user_token,omitempty" doc:"Let proxied calls use the installing user's token (X-Connhub-Token: user); every such call is audited"`
			}
		}) (*instanceOutput, error) {
			i, err := a.o.Instances.Update(ctx, principal(ctx), in.ID, instance.Patch{Name: in.Body.Name, Tags: in.Body.Tags, Settings: in.Body.Settings,
				AllowUserToken: in.Body.AllowUserToken})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &instanceOutput{Body: instanceView(i)}, nil
		})
	huma.Register(a.huma, guarded(authz.ReauthInstance, huma.Operation{OperationID: "reauthenticate-instance", Method: http.MethodPost, Path: "/v1/instances/{id}/reauthenticate",
		Summary: "Re-authenticate a connector instance", Description: "A new authorize URL; on success the instance keeps its ID and instance token and gets new Slack tokens.", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Team string `query:"team" doc:"A workspace or org to preselect at Slack"`
		}) (*reauthOutput, error) {
			c, err := a.o.Instances.Reauthenticate(ctx, principal(ctx), in.ID, in.Team)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &reauthOutput{}
			out.Body.Instance, out.Body.AuthorizeURL, out.Body.ExpiresAt = instanceView(c.Instance), c.AuthorizeURL, c.ExpiresAt
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.RevealInstanceToken, huma.Operation{OperationID: "get-instance-token", Method: http.MethodGet, Path: "/v1/instances/{id}/token",
		Summary: "View the instance token", Description: "Admins only; recorded in the audit log.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*tokenOutput, error) {
			tok, err := a.o.Instances.Token(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &tokenOutput{}
			out.Body.InstanceToken = tok.Reveal()
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.RotateInstanceToken, huma.Operation{OperationID: "rotate-instance-token", Method: http.MethodPost, Path: "/v1/instances/{id}/token/rotate",
		Summary: "Rotate the instance token", Description: "The old instance token stops working at once.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*tokenOutput, error) {
			tok, err := a.o.Instances.RotateToken(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &tokenOutput{}
			out.Body.InstanceToken = tok.Reveal()
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.PingInstance, huma.Operation{OperationID: "ping-instance", Method: http.MethodGet, Path: "/v1/instances/{id}/ping",
		Summary: "Test a connector instance", Description: "Calls Slack's auth.test with the instance's token: the workspace, the user, the granted scopes, the token's expiry, and the scopes the edition needs that are missing. Slack's errors answer 502 with Slack's code.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*pingOutput, error) {
			r, err := a.o.Instances.Ping(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &pingOutput{}
			b := &out.Body
			b.OK, b.Team, b.TeamID, b.EnterpriseID, b.User, b.UserID, b.BotID, b.URL = r.OK, r.Team, r.TeamID, r.EnterpriseID, r.User, r.UserID, r.BotID, r.URL
			b.TokenKind, b.Scopes, b.TokenExpiresAt = r.TokenKind, orEmpty(r.Scopes), timePtr(r.ExpiresAt)
			b.MissingBotScopes, b.MissingUserScopes, b.LatencyMS = orEmpty(r.MissingBotScopes), orEmpty(r.MissingUserScopes), r.Latency.Milliseconds()
			b.SCIM = scimStatus(r.SCIM)
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.RevealIntegrationKey, huma.Operation{OperationID: "get-instance-credentials", Method: http.MethodGet, Path: "/v1/instances/{id}/credentials",
		Summary: "The instance's ready Authorization header",
		Description: "The Authorization header value with the instance token, to paste into an integration tool. Recorded in the audit log before it is shown. " +
			"For the Open Connectors form (User …, Organization …, Element …) make a named credential (POST /v1/credentials): it gets an identity of its own.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*credentialsOutput, error) {
			c, err := a.o.Instances.Credentials(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &credentialsOutput{}
			out.Body.Bearer = c.Bearer.Reveal()
			out.Body.SCIM.SCIMStatus, out.Body.SCIM.Path, out.Body.SCIM.Token = scimStatus(c.SCIM), "/scim/v2", c.SCIMToken.Reveal()
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.DeleteInstance, huma.Operation{OperationID: "delete-instance", Method: http.MethodDelete, Path: "/v1/instances/{id}",
		Summary: "Delete a connector instance for good",
		Description: "Revokes its tokens at Slack (auth.revoke), then deletes it and everything it holds. If Slack cannot be reached the instance is kept, unless force is set. " +
			"Slack gives one bot token per app and workspace and one user token per app and user, so instances installed into the same workspace share them: " +
			"a token another instance holds is left valid (the answer's kept names them), unless revoke_shared is set, which revokes it and marks those instances (affected).",
		Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Force        bool `query:"force" doc:"Delete even if Slack cannot be reached to revoke the tokens"`
			RevokeShared bool `query:"revoke_shared" doc:"Revoke at Slack the tokens other instances hold too: they lose their access"`
		}) (*deletionOutput, error) {
			d, err := a.o.Instances.Delete(ctx, principal(ctx), in.ID, instance.DeleteOptions{Force: in.Force, RevokeShared: in.RevokeShared})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &deletionOutput{}
			out.Body.ID, out.Body.Revoked, out.Body.Affected = in.ID, orEmpty(d.Revoked), orEmpty(d.Affected)
			out.Body.Kept = []SharedToken{}
			for _, k := range d.Kept {
				out.Body.Kept = append(out.Body.Kept, SharedToken{Token: k.Kind, SharedWith: k.SharedWith})
			}
			return out, nil
		})
}

// ---- named credentials ----

type credentialOutput struct{ Body Credential }

type credentialValueOutput struct {
	Body struct {
		Credential
		Value string `json:"value" doc:"The credential's value: the whole Authorization header an integration tool sends"`
	}
}

type credentialsListOutput struct {
	Body struct {
		Credentials []Credential `json:"credentials"`
		Page
	}
}

type credentialPath struct {
	ID string `path:"id" maxLength:"100" doc:"The credential's ID or name"`
}

func (a *API) credentialRoutes() {
	tags := []string{"Credentials"}
	withValue := func(c store.Credential) *credentialValueOutput {
		out := &credentialValueOutput{}
		out.Body.Credential, out.Body.Value = credentialView(c), c.Value.Reveal()
		return out
	}
	huma.Register(a.huma, guarded(authz.WriteCredentials, huma.Operation{OperationID: "create-credential", Method: http.MethodPost, Path: "/v1/credentials", DefaultStatus: http.StatusCreated,
		Summary: "Make a named credential for an integration tool",
		Description: "The credential gets an identity of its own, bound to the instance: it can do what the instance token can, and revoking it revokes nothing else. " +
			"Its value (kind open_connectors: User …, Organization …, Element …; kind bearer: Bearer chub_…) is in this answer once; after that only POST /v1/credentials/{id}/reveal shows it, to admins, audited.", Tags: tags}),
		func(ctx context.Context, in *struct {
			Body struct {
				Name        string `json:"name" minLength:"1" maxLength:"100"`
				InstanceID  string `json:"instance_id"`
				Kind        string `json:"kind,omitempty" enum:"open_connectors,bearer" default:"open_connectors"`
				Description string `json:"description,omitempty" maxLength:"500"`
			}
		}) (*credentialValueOutput, error) {
			c, err := a.o.Instances.CreateCredential(ctx, principal(ctx), in.Body.Name, in.Body.InstanceID, in.Body.Kind, in.Body.Description)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return withValue(c), nil
		})
	huma.Register(a.huma, guarded(authz.ReadCredentials, huma.Operation{OperationID: "list-credentials", Method: http.MethodGet, Path: "/v1/credentials",
		Summary: "List named credentials", Description: "Names and hints; never values.", Tags: tags}),
		func(ctx context.Context, in *PageQuery) (*credentialsListOutput, error) {
			list, next, err := a.o.Instances.ListCredentials(ctx, principal(ctx), in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &credentialsListOutput{}
			out.Body.Credentials, out.Body.NextCursor = []Credential{}, next
			for _, c := range list {
				out.Body.Credentials = append(out.Body.Credentials, credentialView(c))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadCredentials, huma.Operation{OperationID: "get-credential", Method: http.MethodGet, Path: "/v1/credentials/{id}",
		Summary: "Get a named credential", Description: "By ID or by name: its hint, never its value.", Tags: tags}),
		func(ctx context.Context, in *credentialPath) (*credentialOutput, error) {
			c, err := a.o.Instances.GetCredential(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &credentialOutput{Body: credentialView(c)}, nil
		})
	huma.Register(a.huma, guarded(authz.RevealCredential, huma.Operation{OperationID: "reveal-credential", Method: http.MethodPost, Path: "/v1/credentials/{id}/reveal",
		Summary:     "Show a named credential's value",
		Description: "Admins only. Written to the audit log before the value is shown. A credential made before credentials had identities of their own answers 409 credential_outdated: rotate it.", Tags: tags}),
		func(ctx context.Context, in *credentialPath) (*credentialValueOutput, error) {
			c, err := a.o.Instances.RevealCredential(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return withValue(c), nil
		})
	huma.Register(a.huma, guarded(authz.WriteCredentials, huma.Operation{OperationID: "rotate-credential", Method: http.MethodPost, Path: "/v1/credentials/{id}/rotate",
		Summary: "Rotate a named credential", Description: "A new identity and value, shown once in the answer; the old value stops working at once.", Tags: tags}),
		func(ctx context.Context, in *credentialPath) (*credentialValueOutput, error) {
			c, err := a.o.Instances.RotateCredential(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return withValue(c), nil
		})
	huma.Register(a.huma, guarded(authz.WriteCredentials, huma.Operation{OperationID: "delete-credential", Method: http.MethodDelete, Path: "/v1/credentials/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a named credential", Description: "Its value stops working at once.", Tags: tags}),
		func(ctx context.Context, in *credentialPath) (*struct{}, error) {
			if err := a.o.Instances.DeleteCredential(ctx, principal(ctx), in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			return nil, nil
		})
}

// ---- the OAuth callback ----

type callbackOutput struct {
	Status       int
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	CSP          string `header:"Content-Security-Policy"`
	FrameOptions string `header:"X-Frame-Options"`
	Body         []byte
}

// CallbackResult is the callback's answer to API clients (Accept: application/json).
type CallbackResult struct {
	OK         bool      `json:"ok"`
	Code       string    `json:"code,omitempty"`
	Message    string    `json:"message,omitempty"`
	Instance   *Instance `json:"instance,omitempty"`
	APIDocsURL string    `json:"api_docs_url,omitempty"`
}

func (a *API) callbackRoute() {
	huma.Register(a.huma, unguarded(huma.Operation{OperationID: "oauth-callback", Method: http.MethodGet, Path: "/v1/oauth/slack/callback",
		Summary: "Slack's OAuth redirect", Description: "Where Slack sends the browser after consent. Answers a page for people and JSON for API clients (Accept: application/json).",
		Tags: []string{"OAuth"}, Security: []map[string][]string{}}),
		func(ctx context.Context, in *struct {
			Code   string `query:"code"`
			State  string `query:"state"`
			Error  string `query:"error"`
			Accept string `header:"Accept"`
		}) (*callbackOutput, error) {
			res, err := a.o.Instances.Callback(ctx, instance.CallbackInput{State: in.State, Code: in.Code, Error: in.Error})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			body := CallbackResult{OK: res.OK, Code: res.Code, Message: res.Message, APIDocsURL: "/docs"}
			if res.Instance.ID != "" {
				v := instanceView(res.Instance)
				body.Instance = &v
				body.APIDocsURL = "/docs?instance=" + url.QueryEscape(v.ID)
			}
			status := http.StatusOK
			if !res.OK {
				status = http.StatusBadRequest
			}
			out := &callbackOutput{Status: status, CacheControl: "no-store", CSP: callbackCSP, FrameOptions: "DENY"}
			if strings.Contains(in.Accept, "application/json") && !strings.Contains(in.Accept, "text/html") {
				out.ContentType, out.Body = "application/json", mustJSON(body)
				return out, nil
			}
			var buf bytes.Buffer
			callbackPage.Execute(&buf, callbackView{CallbackResult: body, Console: a.o.Console != nil})
			out.ContentType, out.Body = "text/html; charset=utf-8", buf.Bytes()
			return out, nil
		})
}

// callbackView is what the callback's page shows: the result, and links
// into the console when there is one.
type callbackView struct {
	CallbackResult
	Console bool
}

// callbackCSP is the callback page's Content-Security-Policy: nothing
// loads but its own inline style (by its hash), no page may frame it (the
// page shows the outcome of an install; framed, it could be dressed up to
// mislead), and it posts no forms.
var callbackCSP = "default-src 'none'; style-src '" + styleHash(callbackHTML) + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// styleHash is the CSP hash source ("sha256-…") of the one <style> element
// in page.
func styleHash(page string) string {
	_, rest, _ := strings.Cut(page, "<style>")
	style, _, _ := strings.Cut(rest, "</style>")
	sum := sha256.Sum256([]byte(style))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

var callbackPage = template.Must(template.New("callback").Parse(callbackHTML))

const callbackHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .OK}}Connected{{else}}Not connected{{end}} · connhub</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1c1d}code{background:#f4ede4;padding:.1rem .3rem;border-radius:3px}
a.button{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.4rem .9rem;border:1px solid #bbb;border-radius:6px;text-decoration:none;color:#1d1c1d}a.primary{background:#4a154b;border-color:#4a154b;color:#fff}</style></head>
<body>{{if .OK}}
<h1 id="result">The connector instance {{.Instance.Name}} is connected.</h1>
<p>Instance <strong id="instance-name">{{.Instance.Name}}</strong> (<code id="instance-id">{{.Instance.ID}}</code>){{if .Instance.TeamName}} is authenticated to <strong id="instance-team">{{.Instance.TeamName}}</strong>{{end}}.</p>
<p><a id="api-docs" class="button primary" href="{{.APIDocsURL}}">Test in the API docs</a>
{{if .Console}}<a id="console-instance" class="button" href="/instances/{{.Instance.ID}}">Open the instance in the console</a>{{end}}</p>
{{else}}
<h1 id="result">The connector instance was not connected.</h1>
<p>Reason: <code id="error-code">{{.Code}}</code>: <span id="error-message">{{.Message}}</span></p>
{{if .Instance}}<p>Instance <strong id="instance-name">{{.Instance.Name}}</strong> (<code id="instance-id">{{.Instance.ID}}</code>) is <strong id="instance-status">{{.Instance.Status}}</strong>. Re-authenticate it to try again.</p>
{{if .Console}}<p><a id="retry" class="button primary" href="/instances/{{.Instance.ID}}/edit">Re-Authenticate</a>
<a id="console-instance" class="button" href="/instances/{{.Instance.ID}}">Open the instance in the console</a></p>{{end}}
{{else if .Console}}<p><a id="retry" class="button primary" href="/">Start again from the connectors</a></p>{{end}}
{{end}}</body></html>
`
