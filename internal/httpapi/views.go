package httpapi

import (
	"time"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/store"
)

// The shapes the API answers with. They are views of the store's entities
// that never carry a Slack token or a secret: those come only from the
// endpoints made to reveal them.

// Instance is a connector instance as the API shows it.
type Instance struct {
	ID                 string         `json:"id" example:"ins_01m81c93bh0makq299gnxzempn"`
	Connector          string         `json:"connector" example:"slack"`
	Name               string         `json:"name"`
	Tags               []string       `json:"tags"`
	Status             string         `json:"status" enum:"pending,active,needs_reauth,needs_workspaces,revoked,failed,expired"`
	StatusReason       string         `json:"status_reason,omitempty"`
	LastAuthError      string         `json:"last_auth_error,omitempty" doc:"Why the last install or re-authentication failed; empty after one succeeds"`
	Edition            string         `json:"edition"`
	AuthMethod         string         `json:"auth_method" enum:"oauth2,token,refresh_token"`
	AppID              string         `json:"app_id,omitempty"`
	TeamID             string         `json:"team_id,omitempty"`
	TeamName           string         `json:"team_name,omitempty"`
	EnterpriseID       string         `json:"enterprise_id,omitempty"`
	OrgWide            bool           `json:"org_wide"`
	Teams              []string       `json:"teams,omitempty" doc:"An org-wide install's workspaces (auth.teams.list)"`
	BotUserID          string         `json:"bot_user_id,omitempty"`
	AuthedUserID       string         `json:"authed_user_id,omitempty"`
	BotScopes          []string       `json:"bot_scopes"`
	UserScopes         []string       `json:"user_scopes"`
	HasBotToken        bool           `json:"has_bot_token"`
	HasUserToken       bool           `json:"has_user_token"`
	BotTokenExpiresAt  *time.Time     `json:"bot_token_expires_at,omitempty"`
	UserTokenExpiresAt *time.Time     `json:"user_token_expires_at,omitempty"`
	InstanceTokenHint  string         `json:"instance_token_hint" doc:"The instance token's first characters"`
	Settings           map[string]any `json:"settings"`
	LastPingAt         *time.Time     `json:"last_ping_at,omitempty"`
	LastPingOK         bool           `json:"last_ping_ok"`
	AllowUserToken     bool           `json:"allow_user_token" doc:"Whether proxied calls may use the installing user's token (X-Connhub-Token: user)"`
	CreatedAt          time.Time      `json:"created_at"`
	UpdatedAt          time.Time      `json:"updated_at"`
	Version            int64          `json:"version"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func instanceView(in store.Instance) Instance {
	settings := in.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	return Instance{
		ID: in.ID, Connector: in.Connector, Name: in.Name, Tags: orEmpty(in.Tags), Status: in.Status, StatusReason: in.StatusReason, LastAuthError: in.LastAuthError,
		Edition: in.Edition, AuthMethod: in.AuthMethod, AppID: in.AppID, TeamID: in.TeamID, TeamName: in.TeamName, EnterpriseID: in.EnterpriseID,
		OrgWide: in.OrgWide, Teams: in.Teams, BotUserID: in.BotUserID, AuthedUserID: in.AuthedUserID,
		BotScopes: orEmpty(in.BotScopes), UserScopes: orEmpty(in.UserScopes), HasBotToken: !in.BotToken.IsZero(), HasUserToken: !in.UserToken.IsZero(),
		BotTokenExpiresAt: timePtr(in.BotTokenExpiresAt), UserTokenExpiresAt: timePtr(in.UserTokenExpiresAt), InstanceTokenHint: in.InstanceTokenHint,
		Settings: settings, LastPingAt: timePtr(in.LastPingAt), LastPingOK: in.LastPingOK, AllowUserToken: in.AllowUserToken, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt, Version: in.Version,
	}
}

// App is a registered Slack app, without its secrets.
type App struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	ClientID         string    `json:"client_id"`
	HasClientSecret  bool      `json:"has_client_secret"`
	HasSigningSecret bool      `json:"has_signing_secret"`
	BotScopes        []string  `json:"bot_scopes"`
	UserScopes       []string  `json:"user_scopes"`
	RedirectURL      string    `json:"redirect_url" doc:"Add this URL to the app's Redirect URLs at api.slack.com/apps"`
	CreatedAt        time.Time `json:"created_at"`
}

func appView(a store.App) App {
	return App{ID: a.ID, Name: a.Name, ClientID: a.ClientID, HasClientSecret: !a.ClientSecret.IsZero(), HasSigningSecret: !a.SigningSecret.IsZero(),
		BotScopes: orEmpty(a.BotScopes), UserScopes: orEmpty(a.UserScopes), RedirectURL: a.RedirectURL, CreatedAt: a.CreatedAt}
}

// Credential is a named credential, without its value.
type Credential struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind" enum:"open_connectors,bearer"`
	InstanceID  string `json:"instance_id,omitempty"`
	Description string `json:"description,omitempty"`
	Hint        string `json:"hint" doc:"What may be shown of the value: the first characters of each secret in it"`
	// Outdated: made before credentials had identities of their own.
	Outdated  bool      `json:"outdated,omitempty" doc:"Made before credentials had identities of their own: its value holds its maker's secret and is not shown; rotate it"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func credentialView(c store.Credential) Credential {
	return Credential{ID: c.ID, Name: c.Name, Kind: c.Kind, InstanceID: c.InstanceID, Description: c.Description, Hint: c.Hint,
		Outdated: c.UserID == "", CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Connector is a catalog entry.
type Connector struct {
	Key         string       `json:"key" example:"slack"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Editions    []Edition    `json:"editions"`
	AuthMethods []AuthMethod `json:"auth_methods"`
	Features    []Feature    `json:"features"`
}

// Edition is a plan of the connector's service and the scopes an install on
// it asks for.
type Edition struct {
	Key        string   `json:"key" example:"business_plus"`
	Name       string   `json:"name"`
	Plan       string   `json:"plan" doc:"What team.billing.info reports for it"`
	OrgInstall bool     `json:"org_install" doc:"Installs org-wide (Enterprise Grid)"`
	BotScopes  []string `json:"bot_scopes"`
	UserScopes []string `json:"user_scopes"`
}

// AuthMethod is a way to make an instance.
type AuthMethod struct {
	Key         string `json:"key" enum:"oauth2,token,refresh_token"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Feature is something connhub does with the connector, and the scopes it needs.
type Feature struct {
	Key        string   `json:"key"`
	Name       string   `json:"name"`
	BotScopes  []string `json:"bot_scopes"`
	UserScopes []string `json:"user_scopes"`
	Editions   []string `json:"editions"`
	Requires   string   `json:"requires,omitempty" doc:"What else the feature needs: who must install, and how"`
}

func connectorView(c connector.Connector) Connector {
	v := Connector{Key: c.Key, Name: c.Name, Description: c.Description, Editions: []Edition{}, AuthMethods: []AuthMethod{}, Features: []Feature{}}
	for _, e := range c.Editions {
		v.Editions = append(v.Editions, Edition{Key: e.Key, Name: e.Name, Plan: e.Plan, OrgInstall: e.OrgInstall, BotScopes: orEmpty(e.BotScopes), UserScopes: orEmpty(e.UserScopes)})
	}
	for _, m := range c.AuthMethods {
		v.AuthMethods = append(v.AuthMethods, AuthMethod{Key: m.Key, Name: m.Name, Description: m.Description})
	}
	for _, f := range c.Features {
		v.Features = append(v.Features, Feature{Key: f.Key, Name: f.Name, BotScopes: orEmpty(f.BotScopes), UserScopes: orEmpty(f.UserScopes), Editions: orEmpty(f.Editions), Requires: f.Requires})
	}
	return v
}
